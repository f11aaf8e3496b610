"""The actions store as a source: one step copies it into schema `actions` on each refresh.

Only wiring: `extracts.actions.load_into_warehouse` does the work. Reviewers and CSMs write
the store (SQLite) from the dashboards and the CLI at any time; the warehouse sees their
decisions after the next refresh, like any other source's rows.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from extracts.actions import RAW_COLUMNS, ActionError, load_into_warehouse
from orchestration.resources import WAREHOUSE_POOL, ActionsResource

_TEXT = {
    "review_decisions": "reviewers' accept or override of flagged tickets",
    "outreach_records": "CSMs' contacts with outcomes, and each period's holdout",
}


@dg.multi_asset(
    name="actions_store",
    specs=[
        dg.AssetSpec(
            ["actions", table],
            group_name="raw",
            kinds={"duckdb", "sqlite"},
            owners=["team:data-engineering"],
            tags={"source": "actions"},
            description=f"The actions store's `{table}` ({_TEXT[table]}), copied whole into "
            f"`actions.{table}` on each refresh.",
        )
        for table in RAW_COLUMNS
    ],
    pool=WAREHOUSE_POOL,
)
def actions_store(warehouse: DuckDBResource, actions: ActionsResource):
    with warehouse.get_connection() as con:
        try:
            counts = load_into_warehouse(con, actions.path)
        except ActionError as exc:
            raise dg.Failure(description=str(exc)) from None
    for table, rows in counts.items():
        yield dg.MaterializeResult(
            asset_key=["actions", table],
            metadata={"dagster/row_count": rows, "dagster/table_name": f"actions.{table}"},
        )
