"""The same generated world, natively and through every connector shape at once.

The tiny world is written as Zendesk (Fivetran), Salesforce (Fivetran) and Segment would land
it, named in a `sources.yml`, loaded with `supportops sources load` and run through the whole
pipeline. Its ticket facts, KPI mart, account dimension and features must equal the native
run's (the shared `tiny_pipeline`), row for row. The one deliberate difference is the CSAT
score: Zendesk rates good/bad, so a native 4-5 becomes 5 and a 1-3 becomes 1; the columns
built from the score (not from "satisfied or not") are left out and checked for that mapping.
Each adapter's own tests cover its mapping on hand-built exports.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from config.settings import use_settings
from extracts.sources import KINDS
from orchestration.cli import app
from tests.conftest import Pipeline, landed_days, run_pipeline

# Columns computed from the 1-5 CSAT score, which Zendesk's good/bad cannot carry.
CSAT_SCORE_COLUMNS = {
    "csat_score",
    "csat_score_sum",
    "csat_avg_30d",
    "csat_avg_prior_30d",
    "csat_trend_30d",
    "account_csat_avg_30d",
}
COMPARED = [
    ("marts.fct_tickets", "ticket_id"),
    ("marts.fct_support_kpis_daily", "kpi_date, channel, category"),
    ("marts.dim_accounts", "account_id"),
    ("features.feat_account_daily", "account_id, as_of_date"),
    ("features.feat_ticket_at_creation", "ticket_id"),
]


@pytest.fixture(scope="module")
def connector_run(tiny_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("tiny_connectors")
    for kind in KINDS:
        generator = importlib.import_module(f"extracts.generator.{kind}")
        generator.write(tiny_pipeline.landing, root / "exports" / kind)
    (root / "sources.yml").write_text(
        "sources:\n" + "".join(f"  - kind: {k}\n    path: exports/{k}\n" for k in KINDS)
    )
    with use_settings(
        sources_file=root / "sources.yml", landing_dir=root / "landing", data_dir=root
    ):
        loaded = CliRunner().invoke(app, ["sources", "load"], terminal_width=200)
        assert loaded.exit_code == 0, loaded.output
        days = landed_days(tiny_pipeline.landing)
        assert landed_days(root / "landing") == days
        run = run_pipeline(
            root / "landing", root / "warehouse.duckdb", root / "serving.duckdb", days[0], days[-1]
        )
        assert run.success
        listing = CliRunner().invoke(app, ["sources", "--json"])
    return {
        "warehouse": root / "warehouse.duckdb",
        "load_output": " ".join(loaded.output.split()),
        "listing": json.loads(listing.output),
    }


def _attach(native: Path, connectors: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"ATTACH '{native}' AS n (READ_ONLY)")
    con.execute(f"ATTACH '{connectors}' AS c (READ_ONLY)")
    return con


@pytest.mark.parametrize(("table", "key"), COMPARED)
def test_native_and_connector_runs_agree(
    tiny_pipeline: Pipeline, connector_run: dict, table: str, key: str
) -> None:
    con = _attach(tiny_pipeline.warehouse, connector_run["warehouse"])
    schema, name = table.split(".")
    columns = [
        f'"{column}"'
        for (column,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'n' "
            "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
        if column not in CSAT_SCORE_COLUMNS
    ]
    cols = ", ".join(columns)
    rows = con.execute(f"SELECT count(*) FROM n.{table}").fetchone()[0]
    diff = con.execute(
        f"""SELECT 'native only' AS side, {cols} FROM
                (SELECT {cols} FROM n.{table} EXCEPT ALL SELECT {cols} FROM c.{table})
            UNION ALL
            SELECT 'connectors only', {cols} FROM
                (SELECT {cols} FROM c.{table} EXCEPT ALL SELECT {cols} FROM n.{table})
            ORDER BY {key}, side LIMIT 6"""
    ).fetchall()
    assert rows > 100
    assert diff == []


def test_connector_run_has_sentiment_and_language(
    tiny_pipeline: Pipeline, connector_run: dict
) -> None:
    """The Zendesk-shaped run's text features are not flat, and match the native run's."""
    con = _attach(tiny_pipeline.warehouse, connector_run["warehouse"])
    stats = con.execute(
        """SELECT count(*), stddev(description_sentiment),
                  count(*) FILTER (WHERE description_sentiment <= -0.05),
                  count(*) FILTER (WHERE description_sentiment >= 0.05),
                  count(DISTINCT description_language),
                  max(share) FILTER (WHERE description_language = 'und')
           FROM (SELECT *, count(*) OVER (PARTITION BY description_language)
                           / count(*) OVER () AS share
                 FROM c.raw.helpdesk_tickets)"""
    ).fetchone()
    rows, spread, negative, positive, languages, undetermined = stats
    assert rows > 100 and spread > 0.2
    assert negative > 0.1 * rows and positive > 0.1 * rows
    assert languages >= 4 and (undetermined or 0) < 0.01
    differing = con.execute(
        """SELECT count(*) FROM n.raw.helpdesk_tickets n JOIN c.raw.helpdesk_tickets c
               USING (ticket_id)
           WHERE n.description_sentiment <> c.description_sentiment
              OR n.description_language <> c.description_language"""
    ).fetchone()[0]
    assert differing == 0


def test_csat_keeps_satisfied_and_maps_the_score(
    tiny_pipeline: Pipeline, connector_run: dict
) -> None:
    con = _attach(tiny_pipeline.warehouse, connector_run["warehouse"])
    pairs = con.execute(
        """SELECT DISTINCT n.csat_score >= 4, c.csat_score
           FROM n.marts.fct_tickets n JOIN c.marts.fct_tickets c USING (ticket_id)
           WHERE n.csat_score IS NOT NULL ORDER BY 1"""
    ).fetchall()
    assert pairs == [(False, 1), (True, 5)]


def test_load_reports_every_source_and_the_listing_names_them(connector_run: dict) -> None:
    out = connector_run["load_output"]
    for kind in KINDS:
        assert f"{kind}: " in out
    assert "warning" not in out  # a clean world maps no value to a fallback
    kinds = {s["landing_source"]: s["kind"] for s in connector_run["listing"]["sources"]}
    assert kinds == {
        "helpdesk": "zendesk_fivetran",
        "crm": "salesforce_fivetran",
        "telemetry": "segment",
    }
    assert all(s["synced_through"] for s in connector_run["listing"]["sources"])


def test_connector_run_follows_the_exported_schedules(connector_run: dict) -> None:
    """The Zendesk shape carries the tier clock as two UTC `schedule`s: every ticket's
    business minutes come from its source schedule, not the tier fallback, so the agreement
    above proves the schedule path equals the tier path."""
    with duckdb.connect(str(connector_run["warehouse"]), read_only=True) as con:
        by_kind = con.execute(
            """SELECT s.is_source_schedule, count(*) FROM intermediate.int_tickets__schedule s
               JOIN marts.fct_tickets t USING (ticket_id) GROUP BY 1"""
        ).fetchall()
        schedules = con.execute(
            "SELECT DISTINCT schedule_id, time_zone FROM staging.stg_helpdesk__schedules ORDER BY 1"
        ).fetchall()
        quarantined = con.execute("SELECT count(*) FROM quarantine.helpdesk_schedules").fetchone()
    assert len(by_kind) == 1 and by_kind[0][0] is True and by_kind[0][1] > 50
    assert schedules == [("380000000001", "UTC"), ("380000000002", "UTC")]
    assert quarantined == (0,)
