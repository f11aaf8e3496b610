"""Churn and escalation models over the warehouse's feature tables (no Dagster here).

datasets (features + labels in DuckDB, time split) -> training (pipelines, calibration,
model card; the fitted shape in model) -> evaluation (metrics, baselines, planted ceiling)
-> registry (versions, champion/challenger) -> scoring, reasons, outreach (batch outputs),
drift (Evidently) and monitoring (retrain or not, and why). store keeps the `ml` tables and
writes files atomically; pipeline chains these into the steps a scheduler runs.
"""
