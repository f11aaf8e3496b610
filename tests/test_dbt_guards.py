"""Checks dbt makes cheaply, and that they still catch what they must.

- `not_null` as enforced contract constraints: on a model with an enforced contract, DuckDB
  refuses a null in a `not_null`-constrained column when the model is written, so those
  columns carry the constraint instead of a `not_null` data test (a scan of the table per
  column on every build). Each column guarded before still is, exactly once, and a null
  really fails the build, on the windowed (delete+insert) path and on a full rebuild alike.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from extracts.ledger import set_build_window
from tests.conftest import Pipeline, isolated_env, landed_days

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
MANIFEST = DBT_PROJECT / "target" / "manifest.json"

# The contract models' columns that had a `not_null` data test before the tests became
# constraints (84 of the project's 204 not_null tests): each must keep one guard or the other.
GUARDED_BEFORE = {
    "dim_accounts": {"account_id", "account_version_key", "is_current", "valid_from"},
    "dim_business_hours": {
        "business_minutes",
        "calendar_date",
        "closes_at",
        "opens_at",
        "schedule_id",
    },
    "fct_account_alerts": {"account_id", "alert_type", "as_of_date", "is_new", "reason"},
    "fct_outreach_outcomes": {
        "account_id",
        "arm",
        "is_churned",
        "is_mature",
        "listed_on",
        "outreach_period",
        "period_end",
    },
    "fct_review_decisions": {
        "decided_date",
        "decision",
        "decision_id",
        "decision_reason",
        "is_latest_for_ticket",
        "is_outcome_mature",
        "is_override",
        "ticket_id",
    },
    "fct_support_kpis_daily": {
        "category",
        "channel",
        "handling_path",
        "kpi_date",
        "segment",
        "tier",
    },
    "fct_ticket_events": {
        "event_at",
        "event_date",
        "event_id",
        "event_sequence",
        "event_type",
        "open_state_change",
        "ticket_id",
    },
    "fct_tickets": {
        "account_id",
        "assignee_stations",
        "category",
        "channel",
        "created_at",
        "created_date",
        "handling_path",
        "has_agent_touch",
        "has_csat_response",
        "is_bot_handled",
        "is_contained",
        "is_escalated",
        "is_escalated_to_tier3",
        "is_fcr",
        "is_fcr_eligible",
        "is_negative_sentiment",
        "is_one_touch_resolution",
        "is_open",
        "is_recontacted",
        "is_reopened",
        "is_resolved",
        "is_sla_first_response_applicable",
        "is_sla_resolution_applicable",
        "is_two_touch_resolution",
        "requester_id",
        "ticket_id",
        "tier",
        "unique_assignees",
    },
    "feat_account_daily": {"account_id", "as_of_date", "snapshot_date"},
    "feat_ticket_at_creation": {"created_at", "created_date", "ticket_id"},
    "health_score_daily": {"account_id", "as_of_date", "health_band", "health_score"},
    "int_account_alert_signals": {"account_id", "as_of_date", "is_ticket_burst", "is_usage_drop"},
}


def _not_null_guards(manifest: dict) -> tuple[set, set, set]:
    """(model, column) pairs with a `not_null` data test, with a `not_null` constraint, and
    with a constraint DuckDB enforces (on a contract-enforced table or incremental model)."""
    nodes = manifest["nodes"]
    tested = {
        (nodes[test["attached_node"]]["name"], test["column_name"])
        for test in nodes.values()
        if test["resource_type"] == "test"
        and test.get("test_metadata", {}).get("name") == "not_null"
        and test.get("attached_node")
    }
    constrained, enforced = set(), set()
    for node in nodes.values():
        if node["resource_type"] != "model":
            continue
        enforces = node["config"]["contract"]["enforced"] and node["config"]["materialized"] in (
            "table",
            "incremental",
        )
        for column in node["columns"].values():
            if any(c["type"] == "not_null" for c in column.get("constraints", [])):
                constrained.add((node["name"], column["name"]))
                if enforces:
                    enforced.add((node["name"], column["name"]))
    return tested, constrained, enforced


def test_every_guarded_column_has_one_not_null_guard() -> None:
    tested, constrained, enforced = _not_null_guards(json.loads(MANIFEST.read_text()))
    before = {(model, column) for model, columns in GUARDED_BEFORE.items() for column in columns}
    assert len(before) == 84
    # A constraint DuckDB would not enforce (a view, no contract) guards nothing.
    assert constrained - enforced == set()
    # Twins: a test that scans for what the write already refused.
    assert tested & constrained == set()
    # Neither: a column that lost its test without gaining the constraint.
    assert before - tested - constrained == set()
    assert before <= constrained


def _dbt(warehouse: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` on `warehouse`, its artifacts under `work` (never dbt_project/target)."""
    command = [str(Path(sys.executable).with_name("dbt")), *args, "--profiles-dir", ".",
               "--target-path", str(work / "target"), "--log-path", str(work / "logs")]  # fmt: skip
    return subprocess.run(
        command,
        cwd=DBT_PROJECT,
        env=isolated_env(SUPPORTOPS_WAREHOUSE=str(warehouse)),
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture
def warehouse_copy(tiny_pipeline: Pipeline, tmp_path: Path) -> Path:
    """A private copy of the clean tiny warehouse."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_pipeline.warehouse, warehouse)
    return warehouse


def test_a_null_in_a_constrained_column_fails_the_build(
    warehouse_copy: Path, tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    """A ticket of the last landing day loses its channel in staging: the windowed build of
    fct_tickets (delete+insert into the existing table) and a full rebuild both fail naming
    the column, and the table keeps the rows it had."""
    last_day = dt.date.fromisoformat(landed_days(tiny_pipeline.landing)[-1])
    with duckdb.connect(str(warehouse_copy)) as con:
        before = con.execute("SELECT count(*), count(channel) FROM marts.fct_tickets").fetchone()
        (ticket,) = con.execute(
            "SELECT min(ticket_id) FROM staging.stg_helpdesk__tickets WHERE landing_date = ?",
            [last_day],
        ).fetchone()
        assert ticket is not None
        con.execute(
            "UPDATE staging.stg_helpdesk__tickets SET channel = NULL WHERE ticket_id = ?", [ticket]
        )
        set_build_window(con, (last_day, last_day))
    assert before[0] == before[1] > 0

    windowed = _dbt(warehouse_copy, tmp_path / "windowed", "run", "--select", "fct_tickets")
    with duckdb.connect(str(warehouse_copy)) as con:
        set_build_window(con, None)
    full = _dbt(
        warehouse_copy, tmp_path / "full", "run", "--select", "fct_tickets", "--full-refresh"
    )
    for done in (windowed, full):
        assert done.returncode != 0
        failed = re.search(r'NOT NULL constraint failed: fct_tickets\w*\."?channel\b', done.stdout)
        assert failed, done.stdout[-3000:]
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        after = con.execute("SELECT count(*), count(channel) FROM marts.fct_tickets").fetchone()
        assert con.execute(
            "SELECT count(*) FROM marts.fct_tickets WHERE ticket_id = ?", [ticket]
        ).fetchone() == (1,)
    assert after == before
