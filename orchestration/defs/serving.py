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
def serving_database(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, serving: ServingResource
) -> dg.MaterializeResult:
    unchecked = _blocking_checks_without_result(context)
    if unchecked:
        raise dg.Failure(
            description=(
                f"Not published: {len(unchecked)} blocking checks of assets this run "
                f"materialised gave no result in it: {', '.join(unchecked[:10])}"
                + (" ..." if len(unchecked) > 10 else "")
            ),
            metadata={"unchecked": unchecked},
        )
    with warehouse.get_connection() as con:
        result = publish_serving(con, Path(serving.path), SERVING_SCHEMAS)
    return dg.MaterializeResult(
        metadata={
            "path": str(result.path),
            "tables": result.tables,
            "rows_written": result.written,
            "new_file": result.rewritten_whole,
            "data_as_of": str(result.data_as_of),
            "published_at": str(result.published_at),
        }
    )


def _blocking_checks_without_result(context: dg.AssetExecutionContext) -> list[str]:
    """Blocking checks of the assets this run materialised that gave no result in it.

    Dagster lets a step go on past a blocking check that emitted nothing (a dbt test left out
    of the build, say) with only a log line; the publish must not.
    """
    events = context.instance.all_logs(
        context.run.run_id,
        of_type={
            dg.DagsterEventType.ASSET_MATERIALIZATION,
            dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        },
    )
    materialised, evaluated = set(), set()
    for entry in events:
        event = entry.dagster_event
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialised.add(event.asset_key)
        else:
            evaluated.add(event.asset_check_evaluation_data.asset_check_key)
    graph = context.op_execution_context.job_def.asset_layer.asset_graph
    expected = {
        key
        for key in graph.get_check_keys_for_assets(materialised)
        if graph.get_check_spec(key).blocking
    }
    return sorted(key.to_user_string() for key in expected - evaluated)
