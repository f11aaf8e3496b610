"""dbt models as Dagster assets: one partitioned, single-run step that builds the warehouse.

The partition window becomes the dbt vars `start_date` / `end_date`, so incremental models
touch only the new days (plus their look-back) and a 180-day backfill is one `dbt build`.
"""

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_duckdb import DuckDBResource

from orchestration.partitions import daily_partitions, window_days
from orchestration.resources import WAREHOUSE_POOL
from orchestration.settings import PROJECT_ROOT, WAREHOUSE_ENV

dbt_project = DbtProject(project_dir=PROJECT_ROOT / "dbt_project")

_GROUPS = {
    "staging": "staging",
    "intermediate": "intermediate",
    "marts": "marts",
    "features": "features",
}


class SupportopsTranslator(DagsterDbtTranslator):
    """Groups by dbt folder, owners from meta, and eager automation so marts follow raw loads."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        return _GROUPS.get(fqn[1] if len(fqn) > 2 else "", "warehouse")

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:analytics-engineering"]

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        return dg.AutomationCondition.eager()


translator = SupportopsTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBResource
):
    first_day, last_day = window_days(context)
    dbt_vars = {"start_date": first_day.isoformat(), "end_date": last_day.isoformat()}
    # dbt's profile reads the warehouse path from the environment: point it at the very file
    # the DuckDB resource writes, whatever the resource was configured with.
    os.environ[WAREHOUSE_ENV] = str(Path(warehouse.database).resolve())
    yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()
