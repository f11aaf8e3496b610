"""Churn and escalation models over the warehouse's feature tables (no Dagster here).

datasets (features + labels in DuckDB, time split) -> training (pipelines, calibration,
model card) -> evaluation (metrics, baselines, planted ceiling) -> registry (versions,
champion/challenger) -> scoring, reasons, outreach (batch outputs) and drift (Evidently).
"""
