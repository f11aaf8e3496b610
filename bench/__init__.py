"""The benchmark harness: the pipeline against the floor (one DuckDB script)."""
