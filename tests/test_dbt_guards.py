"""Checks dbt makes cheaply, and that they still catch what they must.

- `not_null` as enforced contract constraints: on a model with an enforced contract, DuckDB
  refuses a null in a `not_null`-constrained column when the model is written, so those
  columns carry the constraint instead of a `not_null` data test (a scan of the table per
  column on every build). Each column guarded before still is, exactly once, and a null
  really fails the build, on the windowed (delete+insert) path and on a full rebuild alike.
- Unique tests of day-keyed incremental models over the window: a windowed build checks the
  days it rewrote, and the ticket tables' tests the tickets it re-derives; a full build
  everything. A duplicate planted in the window fails the windowed test; one outside it
  passes the windowed test and fails the full build's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from extracts.ledger import set_build_window
from tests.conftest import DBT_PROJECT, Pipeline, landed_days, run_dbt

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
        # Staging refuses the null too (its own contract): lift that, to reach fct_tickets.
        con.execute("ALTER TABLE staging.stg_helpdesk__tickets ALTER channel DROP NOT NULL")
        con.execute(
            "UPDATE staging.stg_helpdesk__tickets SET channel = NULL WHERE ticket_id = ?", [ticket]
        )
        set_build_window(con, (last_day, last_day))
    assert before[0] == before[1] > 0

    warehouse = {"SUPPORTOPS_WAREHOUSE": str(warehouse_copy)}
    windowed = run_dbt("run", "--select", "fct_tickets", work=tmp_path / "windowed", **warehouse)
    with duckdb.connect(str(warehouse_copy)) as con:
        set_build_window(con, None)
    full = run_dbt(
        "run", "--select", "fct_tickets", "--full-refresh", work=tmp_path / "full", **warehouse
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


# Unique tests of day-keyed incremental models check only the days a windowed build rewrote
# (macros/get_where_subquery.sql): the staging events by landing day, the account-day
# features by as-of day (the look-back and the day after the window included). The ticket
# tables' tests check the tickets the build re-derives (macro ticket_scope): their rows are
# chosen by the ticket's landing day.
WINDOWED_UNIQUE = {
    "unique_stg_telemetry__events_message_id": ("staging.stg_telemetry__events", "landing_date"),
    "unique_combination_feat_account_daily_account_id__as_of_date": (
        "features.feat_account_daily",
        "as_of_date",
    ),
    "unique_int_tickets__schedule_ticket_id": ("intermediate.int_tickets__schedule", "ticket"),
}

# A ticket of a landing day (`?`) that a windowed build of `$last` re-derives or not.
_TICKET_OF_DAY = "SELECT ticket_id FROM staging.stg_helpdesk__tickets WHERE landing_date = ?"
# Not re-derived: closed, and its requester has no ticket landing and no ticket with events
# landing that day (stricter than the scope's condition, which matches requester and category).
_TICKET_OUT_OF_SCOPE = (
    _TICKET_OF_DAY
    + """
    AND ticket_id IN (SELECT ticket_id FROM marts.fct_tickets WHERE NOT is_open)
    AND requester_id NOT IN (
        SELECT requester_id FROM staging.stg_helpdesk__tickets
        WHERE landing_date = $last OR ticket_id IN (
            SELECT ticket_id FROM staging.stg_helpdesk__ticket_events WHERE landing_date = $last
        )
    )"""
)


def _plant_duplicates(warehouse: Path, days: dict[str, dt.date], last_day: dt.date) -> None:
    """A second copy of one row of each relation, taken from the row's day in `days` (for a
    ticket table, a ticket landed that day and, before `last_day`, one a windowed build of
    `last_day` does not re-derive)."""
    with duckdb.connect(str(warehouse)) as con:
        for relation, day_column in WINDOWED_UNIQUE.values():
            where = f"{day_column} = ?"
            if day_column == "ticket":
                chosen = _TICKET_OF_DAY if days[relation] == last_day else _TICKET_OUT_OF_SCOPE
                chosen = chosen.replace("$last", f"DATE '{last_day}'")
                where = f"ticket_id = ({chosen} ORDER BY ticket_id LIMIT 1)"
            copied = con.execute(
                f"INSERT INTO {relation} SELECT * FROM {relation} WHERE {where} LIMIT 1",
                [days[relation]],
            ).fetchone()[0]
            assert copied == 1, relation


def _unique_tests(warehouse: Path, work: Path, window: tuple[dt.date, dt.date] | None) -> dict:
    """The windowed unique tests run alone on `warehouse` with `window` set: test -> failures."""
    with duckdb.connect(str(warehouse)) as con:
        set_build_window(con, window)
    run_dbt("test", "--select", *WINDOWED_UNIQUE, work=work, SUPPORTOPS_WAREHOUSE=str(warehouse))
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".")[2]: r["failures"]
        for r in results
        if r["unique_id"].startswith("test.")
    }


def test_a_duplicate_inside_the_window_fails_the_windowed_test(
    warehouse_copy: Path, tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    """Duplicates on the window's landing day (an event, a ticket) and on the last as-of day
    a windowed build of that day rewrites (the day after it): its tests fail, one duplicate
    key each."""
    last_day = dt.date.fromisoformat(landed_days(tiny_pipeline.landing)[-1])
    _plant_duplicates(
        warehouse_copy,
        {
            "staging.stg_telemetry__events": last_day,
            "features.feat_account_daily": last_day + dt.timedelta(days=1),
            "intermediate.int_tickets__schedule": last_day,
        },
        last_day,
    )
    failures = _unique_tests(warehouse_copy, tmp_path, (last_day, last_day))
    assert failures == dict.fromkeys(WINDOWED_UNIQUE, 1)


def test_a_duplicate_outside_the_window_is_caught_by_the_next_full_build(
    warehouse_copy: Path, tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    """Duplicates on the first landing day (an event, a ticket out of the last day's scope)
    and the first as-of day, before the last day's window and its look-back: the windowed
    tests pass them by (the documented trade-off), the tests of a full build (no window)
    catch them all."""
    days = [dt.date.fromisoformat(d) for d in landed_days(tiny_pipeline.landing)]
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        (first_as_of,) = con.execute(
            "SELECT min(as_of_date) FROM features.feat_account_daily"
        ).fetchone()
    # Outside the window's rewritten as-of days [last - lookback_days + 1, last + 1].
    assert first_as_of < days[-1] - dt.timedelta(days=7)
    _plant_duplicates(
        warehouse_copy,
        {
            "staging.stg_telemetry__events": days[0],
            "features.feat_account_daily": first_as_of,
            "intermediate.int_tickets__schedule": days[0],
        },
        days[-1],
    )
    windowed = _unique_tests(warehouse_copy, tmp_path / "windowed", (days[-1], days[-1]))
    assert windowed == dict.fromkeys(WINDOWED_UNIQUE, 0)
    full = _unique_tests(warehouse_copy, tmp_path / "full", None)
    assert full == dict.fromkeys(WINDOWED_UNIQUE, 1)
