"""The supportops code location: every asset, check, job, sensor and resource."""

import datetime as dt

import dagster as dg

from config.settings import get_settings
from orchestration.defs.actions import actions_store
from orchestration.defs.alerts import daily_alerts
from orchestration.defs.ingestion import ingestion_assets, landing_sensor
from orchestration.defs.ml import (
    ml_assets,
    ml_checks,
    retrain_on_drift,
    train_models_job,
    weekly_training,
)
from orchestration.defs.quality import mart_quality, raw_quality_checks
from orchestration.defs.serving import serving_database
from orchestration.defs.warehouse import dbt_project, warehouse_models
from orchestration.resources import build_resources

# Extracts land daily: raw tables and marts not refreshed for 26 hours are late (warn),
# for 36 hours stale (fail). Shown in the UI; the data-time freshness of each partition is
# a blocking quality gate instead (orchestration/defs/quality.py).
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=dt.timedelta(hours=36), warn_window=dt.timedelta(hours=26)
)

# One run from landing file to serving copy: raw partitions over a window, their gates,
# dbt, the mart gates and the publish; a failed critical gate stops what follows it.
refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Ingest a window of landing days, gate it, build the warehouse and publish.",
)

defs = dg.Definitions(
    assets=[
        *ingestion_assets,
        actions_store,
        warehouse_models,
        *ml_assets,
        serving_database,
        daily_alerts,
    ],
    asset_checks=[*raw_quality_checks, mart_quality, *ml_checks],
    jobs=[refresh_job, train_models_job],
    schedules=[weekly_training],
    sensors=[landing_sensor, retrain_on_drift],
    # Resources take the settings in force when Dagster loads the code location (once a
    # process); in-process runs (orchestration/runs.py) pass their own paths instead.
    resources=build_resources(get_settings(), dbt_project),
    executor=dg.in_process_executor,
).map_resolved_asset_specs(
    func=lambda spec: dg.apply_freshness_policy(spec, DAILY_FRESHNESS),
    selection=dg.AssetSelection.groups("raw", "marts", "features"),
)
