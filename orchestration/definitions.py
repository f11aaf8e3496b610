"""The supportops code location: every asset, check, sensor and resource."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.ingestion import ingestion_assets, landing_sensor
from orchestration.resources import build_resources
from orchestration.settings import settings

defs = dg.Definitions(
    assets=[*ingestion_assets],
    sensors=[landing_sensor],
    resources=build_resources(settings),
    executor=dg.in_process_executor,
)
