"""The actions store as a source: one asset copies it into `raw.actions_*` on each refresh.

Only wiring: `extracts.actions.load_into_warehouse` does the work. Reviewers and CSMs write
the store (SQLite) from the dashboards and the CLI at any time; the warehouse sees their
decisions after the next refresh, like any other source's rows.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from extracts.actions import ActionError, load_into_warehouse
from orchestration.resources import WAREHOUSE_POOL, ActionsResource


@dg.asset(
    key=["raw", "actions_store"],
    group_name="raw",
    kinds={"duckdb", "sqlite"},
    pool=WAREHOUSE_POOL,
    owners=["team:data-engineering"],
    description="The actions store (SQLite: ticket review decisions, outreach records) copied "
    "whole into `raw.actions_review_decisions` and `raw.actions_outreach_records`.",
    tags={"source": "actions"},
)
def actions_store(warehouse: DuckDBResource, actions: ActionsResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        try:
            counts = load_into_warehouse(con, actions.path)
        except ActionError as exc:
            raise dg.Failure(description=str(exc)) from None
    return dg.MaterializeResult(
        metadata={
            "review_decisions": counts["review_decisions"],
            "outreach_records": counts["outreach_records"],
            "dagster/row_count": sum(counts.values()),
        }
    )
