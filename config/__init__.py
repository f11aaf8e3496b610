"""Configuration every layer reads (settings.py), free of Dagster so the CLI, dashboards,
benchmark and domain code can import it without loading the orchestration."""
