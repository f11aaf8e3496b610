"""Churn and escalation models over the warehouse's feature tables (no Dagster here).

model (task spec, trained model) and tasks (the two support specs) -> datasets (features +
labels in DuckDB, time and random splits, group folds) -> training (candidates tuned on
folds, the best calibrated) -> evaluation (metrics, baselines, planted ceiling, signals,
thresholds) -> registry (versions, champion/challenger) -> scoring, reasons, outreach (batch
outputs), drift (Evidently) and monitoring (retrain or not, and why). store keeps the `ml`
tables and writes files atomically; pipeline chains these into the steps a scheduler runs.
"""
