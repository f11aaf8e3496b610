"""Corrections land: a re-delivered old day with a ticket removed, and a ticket re-sent on a
later day with new content, reach every mart and feature of the published copy.

Each test starts from a private copy of the clean tiny world (landing, warehouse, serving),
changes the landing files as a source would, and runs the pipeline as a user or the sensor
does. Expected values come from the uninterrupted copy and the edit, not from the models.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import Pipeline, run_cli, run_pipeline

pytestmark = pytest.mark.e2e


def _query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _tables_with(db: Path, column: str) -> list[str]:
    """Every published marts/features/ml table that has `column`."""
    return [
        f"{schema}.{table}"
        for schema, table in _query(
            db,
            """SELECT table_schema, table_name FROM information_schema.columns
               WHERE column_name = ? AND table_schema IN ('marts', 'features', 'ml')""",
            [column],
        )
    ]


def _rewrite_jsonl(path: Path, keep) -> int:
    """Keep the lines whose record `keep` accepts; returns how many were dropped."""
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if keep(json.loads(line))]
    path.write_text("".join(kept))
    return len(lines) - len(kept)


@pytest.fixture
def world(tiny_pipeline: Pipeline, tmp_path: Path) -> tuple[Path, Path, Path]:
    """Private copies of the tiny world's landing folder, warehouse and serving file."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copytree(tiny_pipeline.landing, tmp_path / "landing")
    shutil.copy(tiny_pipeline.warehouse, data / "warehouse.duckdb")
    shutil.copy(tiny_pipeline.serving, data / "serving.duckdb")
    return tmp_path / "landing", data / "warehouse.duckdb", data / "serving.duckdb"


def _ticket_on_an_old_day(serving: Path) -> tuple[int, str, str]:
    """A resolved ticket landed on the world's third day: (id, landing day, created day)."""
    return _query(
        serving,
        """SELECT ticket_id, landing_date::VARCHAR, created_date::VARCHAR FROM marts.fct_tickets
           WHERE landing_date = (SELECT min(landing_date) + 2 FROM marts.fct_tickets)
             AND is_resolved ORDER BY ticket_id LIMIT 1""",
    )[0]


def test_a_redelivered_day_without_a_ticket_removes_it_everywhere_via_the_cli(
    world, tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    landing, warehouse, serving = world
    ticket, day, created = _ticket_on_an_old_day(serving)
    before = _query(serving, "SELECT sum(tickets) FROM marts.fct_support_kpis_daily")[0][0]
    with_ticket = _tables_with(serving, "ticket_id")
    assert {"marts.fct_tickets", "marts.fct_ticket_events"} <= set(with_ticket)
    assert all(
        _query(serving, f"SELECT count(*) FROM {t} WHERE ticket_id = ?", [ticket])[0][0]
        for t in ("marts.fct_tickets", "marts.fct_ticket_events")
    )
    # The source re-delivers the ticket's day without it, and every day's events without
    # its events (a deleted ticket takes its audit trail along).
    dropped = _rewrite_jsonl(
        landing / "helpdesk" / day / "tickets.jsonl", lambda r: r["ticket_id"] != ticket
    )
    assert dropped == 1
    for events in (landing / "helpdesk").glob("*/ticket_events.jsonl"):
        _rewrite_jsonl(events, lambda r: r["ticket_id"] != ticket)

    run = run_cli(tmp_path, "materialize", landing=landing)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    for table in with_ticket:
        left = _query(serving, f"SELECT count(*) FROM {table} WHERE ticket_id = ?", [ticket])
        assert left[0][0] == 0, table
    after = _query(serving, "SELECT sum(tickets) FROM marts.fct_support_kpis_daily")[0][0]
    assert after == before - 1
    # Nothing else moved: every other ticket's facts equal the uninterrupted build's, but for
    # the line numbers of the tickets after it in its file and a re-contact that pointed at it.
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{serving}' AS corrected (READ_ONLY)")
        con.execute(f"ATTACH '{tiny_pipeline.serving}' AS original (READ_ONLY)")
        changed = con.execute(
            """SELECT count(*) FROM (
                   SELECT * EXCLUDE (data_as_of, source_line) FROM original.marts.fct_tickets
                   WHERE ticket_id <> $1 AND next_same_topic_ticket_id IS DISTINCT FROM $1
                   EXCEPT
                   SELECT * EXCLUDE (data_as_of, source_line) FROM corrected.marts.fct_tickets)""",
            [ticket],
        ).fetchone()[0]
    assert changed == 0
    # The build was a full one, and said why.
    full = _query(warehouse, "SELECT full_build FROM meta.dbt_builds ORDER BY started_at")
    assert full[-1] == (True,)
    assert created <= day


def test_a_ticket_resent_on_a_later_day_with_new_content_wins(world) -> None:
    landing, warehouse, serving = world
    ticket, day, created = _ticket_on_an_old_day(serving)
    (original,) = [
        json.loads(line)
        for line in (landing / "helpdesk" / day / "tickets.jsonl").read_text().splitlines()
        if json.loads(line)["ticket_id"] == ticket
    ]
    category = "billing" if original["category"] != "billing" else "technical"
    days = sorted(p.name for p in (landing / "helpdesk").iterdir())
    later = days[-2]
    with (landing / "helpdesk" / later / "tickets.jsonl").open("a") as file:
        file.write(json.dumps(original | {"category": category, "priority": "urgent"}) + "\n")
    by_category = """SELECT category, sum(tickets) FROM marts.fct_support_kpis_daily
                     WHERE kpi_date = ? GROUP BY ALL"""
    before = dict(_query(serving, by_category, [created]))

    # As the sensor asks: only the later day is loaded again.
    result = run_pipeline(landing, warehouse, serving, later, later)
    assert result.success
    resent = [
        e.materialization.metadata["rows_resent"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[-1] == "raw_helpdesk_tickets"
    ]
    assert resent == [1]
    rows = _query(
        serving,
        "SELECT category, priority, landing_date::VARCHAR FROM marts.fct_tickets WHERE ticket_id = ?",
        [ticket],
    )
    assert rows == [(category, "urgent", later)]
    feature = _query(
        serving,
        "SELECT count(*) FROM features.feat_ticket_at_creation WHERE ticket_id = ?",
        [ticket],
    )
    assert feature == [(1,)]
    after = dict(_query(serving, by_category, [created]))
    expected = before | {
        original["category"]: before[original["category"]] - 1,
        category: before.get(category, 0) + 1,
    }
    assert {k: v for k, v in after.items() if v} == {k: v for k, v in expected.items() if v}
    # Loaded, not quarantined: the newer version is data, not a fault.
    assert _query(
        warehouse,
        "SELECT count(*) FROM quarantine.helpdesk_tickets WHERE _landing_date = ?",
        [later],
    ) == [(0,)]
