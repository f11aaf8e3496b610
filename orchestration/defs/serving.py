"""Publish the read-only serving database once the warehouse build has succeeded."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.ml import ml_assets
from orchestration.defs.warehouse import FOLLOW_RAW_LOADS, warehouse_models
from orchestration.resources import WAREHOUSE_POOL, ServingResource
from serving.publish import publish_serving

SERVING_SCHEMAS = ("marts", "features", "seeds", "quarantine", "quality", "ml")


@dg.asset(
    group_name="serving",
    kinds={"duckdb"},
    deps=[warehouse_models, *ml_assets],
    pool=WAREHOUSE_POOL,
    automation_condition=FOLLOW_RAW_LOADS,
    owners=["team:data-engineering"],
    description=(
        "data/serving.duckdb: a copy of the marts, features, quarantine, quality and ml schemas "
        "written to a new file and swapped in atomically; dashboards and the CLI read only "
        "this file."
    ),
)
def serving_database(warehouse: DuckDBResource, serving: ServingResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        result = publish_serving(con, Path(serving.path), SERVING_SCHEMAS)
    return dg.MaterializeResult(
        metadata={
            "path": str(result.path),
            "tables": result.tables,
            "data_as_of": str(result.data_as_of),
            "published_at": str(result.published_at),
        }
    )
