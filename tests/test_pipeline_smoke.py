"""The whole asset graph on a tiny clean dataset: ingestion, dbt build, serving publish."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from extracts.contracts import LOADED_ENTITIES
from tests.conftest import isolated_env

PROJECT = Path(__file__).resolve().parent.parent


def test_every_asset_materialises_and_serving_is_published(tiny_pipeline):
    assert tiny_pipeline.result.success
    with duckdb.connect(str(tiny_pipeline.serving), read_only=True) as con:
        tickets = con.execute("SELECT count(*) FROM marts.fct_tickets").fetchone()[0]
        kpi_tickets = con.execute(
            "SELECT sum(tickets) FROM marts.fct_support_kpis_daily"
        ).fetchone()[0]
        info = con.execute("SELECT data_as_of FROM serving_info").fetchone()[0]
    assert tickets == tiny_pipeline.generated.rows["helpdesk_tickets"]
    assert kpi_tickets == tickets
    assert info.isoformat() == max(p.name for p in (tiny_pipeline.landing / "helpdesk").iterdir())


def test_built_tables_report_their_row_counts_and_views_none(tiny_pipeline):
    counts = {
        event.asset_key.path[-1]: event.materialization.metadata.get("dagster/row_count")
        for event in tiny_pipeline.result.get_asset_materialization_events()
    }
    assert counts["fct_tickets"].value == tiny_pipeline.generated.rows["helpdesk_tickets"]
    assert counts["stg_helpdesk__schedules"] is None  # a view: counting would run its query


def _cli(pipeline, *args: str) -> list[dict]:
    env = isolated_env(SUPPORTOPS_DATA_DIR=str(pipeline.serving.parent))
    out = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_cli_reads_the_published_copy(tiny_pipeline):
    summary = {row["table_name"]: row for row in _cli(tiny_pipeline, "summary")}
    generated = tiny_pipeline.generated.rows
    assert summary["helpdesk_tickets"]["loaded"] == generated["helpdesk_tickets"]
    assert summary["crm_accounts"]["loaded"] == generated["crm_accounts"]
    assert all(row["quarantined"] == 0 for row in summary.values())
    (overall,) = _cli(tiny_pipeline, "kpis")
    assert overall["tickets"] == generated["helpdesk_tickets"]
    by_tier = _cli(tiny_pipeline, "kpis", "--by", "tier")
    assert {row["group"] for row in by_tier} == {"vip", "standard"}
    assert sum(row["tickets"] for row in by_tier) == overall["tickets"]


def test_cli_quality_lists_every_gate_outcome(tiny_pipeline):
    rows = _cli(tiny_pipeline, "quality")
    suites = {
        "raw.helpdesk_tickets", "raw.helpdesk_ticket_events", "raw.crm_accounts",
        "raw.crm_contacts", "raw.crm_subscriptions", "raw.telemetry_events",
        "marts.fct_tickets", "marts.fct_support_kpis_daily", "features.feat_account_daily",
    }  # fmt: skip
    loads = {f"ingestion.{e.table}" for e in LOADED_ENTITIES}
    assert {r["suite"] for r in rows} == suites | loads | {"dbt"}
    assert all(r["success"] for r in rows)
    # Every dbt data test of the build, and every load with the rows it read.
    manifest = json.loads((PROJECT / "dbt_project" / "target" / "manifest.json").read_text())
    data_tests = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    assert {r["expectation"] for r in rows if r["suite"] == "dbt"} == data_tests
    read = {r["suite"]: r["element_count"] for r in rows if r["suite"] in loads}
    assert read["ingestion.helpdesk_tickets"] == tiny_pipeline.generated.rows["helpdesk_tickets"]
    assert read["ingestion.helpdesk_schedules"] == 0
    gates = {(r["suite"], r["check_name"]) for r in rows if r["suite"] in suites}
    assert ("raw.helpdesk_tickets", "quarantine") in gates
    assert ("marts.fct_tickets", "distribution") in gates
    assert len(gates) == 43
