"""The supportops code location: every asset, check, sensor and resource."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.ingestion import ingestion_assets, landing_sensor
from orchestration.defs.serving import serving_database
from orchestration.defs.warehouse import dbt_project, warehouse_models
from orchestration.resources import build_resources
from orchestration.settings import settings

defs = dg.Definitions(
    assets=[*ingestion_assets, warehouse_models, serving_database],
    sensors=[landing_sensor],
    resources=build_resources(settings, dbt_project),
    executor=dg.in_process_executor,
)
