"""Resources shared by the asset definitions."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import Settings

# Every asset that writes the warehouse runs in this pool; dagster.yaml limits it to one slot
# because DuckDB allows a single writer process.
WAREHOUSE_POOL = "duckdb_warehouse"


class LandingResource(dg.ConfigurableResource):
    """Where extract files land. The PII key stays in settings so the UI never shows it."""

    landing_dir: str


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    return {
        "warehouse": DuckDBResource(database=str(settings.warehouse)),
        "landing": LandingResource(landing_dir=str(settings.landing_dir)),
    }
