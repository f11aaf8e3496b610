"""A warehouse build that fails says so once and plainly, and never publishes past a gate.

- A DuckDB FATAL error inside dbt (a real one: tests/dbt_with_fatal_checkpoint.py) ends the
  run with one message naming the failed node, the state of the warehouse file and the
  command to run next; the serving file stays as it was.
- A windowed build runs every blocking dbt test, those of views included, so a violation
  planted in a view's column over the window stops the run before serving.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import sys
from functools import partial
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from extracts.ledger import record_load
from orchestration.cli import fatal_failure
from orchestration.fatal import dbt_fatal_error, first_fatal, inspect_warehouse
from orchestration.resources import DbtCli
from orchestration.runs import run_refresh
from tests.conftest import check_evaluations, file_digest, landed_days, materialised

TESTS = Path(__file__).resolve().parent


def _failed_checks(result) -> set[str]:
    return {e.asset_check_key.name for e in check_evaluations(result) if not e.passed}


def _evaluated_checks(result) -> set[str]:
    return {e.asset_check_key.name for e in check_evaluations(result)}


BUILD_AND_PUBLISH = dg.AssetSelection.all() - dg.AssetSelection.groups("raw")


def _mark_reloaded(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """The ledger entries a reload of `day` writes: the next build is windowed on that day."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for table in ("crm_subscriptions", "helpdesk_ticket_events"):
        record_load(con, table, day, day, now)


def _fatal_dbt(tmp_path: Path) -> DbtCli:
    """A dbt executable whose DuckDB fails at its first checkpoint."""
    shim = tmp_path / "dbt"
    shim.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{TESTS / "dbt_with_fatal_checkpoint.py"}" "$@"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return DbtCli(project_dir=str(TESTS.parent / "dbt_project"), dbt_executable=str(shim))


def test_fatal_error_in_dbt_ends_the_run_with_one_clear_message(
    tiny_pipeline, published_copy: tuple[Path, Path], tmp_path: Path
) -> None:
    warehouse, serving = published_copy
    before = file_digest(serving)
    last = landed_days(tiny_pipeline.landing)[-1]
    with duckdb.connect(str(warehouse)) as con:
        _mark_reloaded(con, dt.date.fromisoformat(last))

    result = run_refresh(
        tiny_pipeline.landing, warehouse, serving, last, last,
        selection=BUILD_AND_PUBLISH, raise_on_error=False,
        resources={"dbt": _fatal_dbt(tmp_path)},
    )  # fmt: skip

    assert not result.success
    message = fatal_failure(result, warehouse)
    assert message is not None
    lines = message.splitlines()
    # What failed (DuckDB's own words), that the file survived, and what to run next.
    assert lines[0].startswith("DuckDB raised a FATAL error in the dbt build (")
    assert "Checkpoint aborted before header write" in lines[0]
    assert "other nodes that failed did so only because of that" in lines[1]
    assert "dbt.log" in lines[-1]
    assert "The warehouse file is intact" in message
    assert "make materialize" in message
    assert "database has been invalidated" not in message
    assert file_digest(serving) == before
    assert "serving_database" not in materialised(result)
    # The file opens, and the watermark did not move: the next run rebuilds the same day.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        pending = con.execute("SELECT count(*) FROM meta.raw_loads").fetchone()[0]
        assert (
            con.execute("SELECT max(started_at) FROM meta.dbt_builds").fetchone()[0]
            < (con.execute("SELECT max(loaded_at) FROM meta.raw_loads").fetchone()[0])
        )
    assert pending > 0


def test_windowed_build_gates_views_and_stops_a_planted_violation(
    tiny_pipeline, published_copy: tuple[Path, Path]
) -> None:
    from orchestration.defs.warehouse import warehouse_models

    warehouse, serving = published_copy
    last = landed_days(tiny_pipeline.landing)[-1]
    day = dt.date.fromisoformat(last)
    refresh = partial(
        run_refresh, tiny_pipeline.landing, warehouse, serving, last, last,
        selection=BUILD_AND_PUBLISH, raise_on_error=False,
    )  # fmt: skip

    # A clean windowed build: every blocking dbt test gives a result (the tests of views
    # gave none before, a windowed build left them out), and the publish goes ahead.
    with duckdb.connect(str(warehouse)) as con:
        _mark_reloaded(con, day)
    clean = refresh()
    assert clean.success
    blocking = {spec.name for spec in warehouse_models.check_specs if spec.blocking}
    assert len(blocking) > 100
    assert blocking <= _evaluated_checks(clean), sorted(blocking - _evaluated_checks(clean))
    assert "serving_database" in materialised(clean)
    before = file_digest(serving)

    with duckdb.connect(str(warehouse)) as con:
        # A CRM row without its account, and an escalation to a tier that does not exist,
        # both landed on the window's day: violations only the views' tests see (the raw
        # gates would too, but this run re-checks no raw partition).
        # (CRM snapshots are stored as versions: raw.crm_subscriptions is a view over them.)
        con.execute(
            "UPDATE raw_versions.crm_subscriptions SET account_id = NULL "
            "WHERE ? BETWEEN _landing_date AND _valid_to "
            "AND subscription_id = (SELECT min(subscription_id) FROM raw.crm_subscriptions "
            "WHERE _landing_date = ?)",
            [day, day],
        )
        planted = con.execute(
            "UPDATE raw.helpdesk_ticket_events SET to_tier = 4 WHERE event_id = ("
            "SELECT min(event_id) FROM raw.helpdesk_ticket_events "
            "WHERE event_type = 'escalated' AND _landing_date = ?)",
            [day],
        ).fetchone()[0]
        assert planted == 1
        _mark_reloaded(con, day)
    stopped = refresh()

    assert not stopped.success
    failed = _failed_checks(stopped)
    assert "not_null_stg_crm__subscriptions_account_id" in failed
    assert "accepted_range_int_tickets__escalations_max_support_tier__3__1" in failed
    assert "serving_database" not in materialised(stopped)
    assert file_digest(serving) == before


def test_first_fatal_finds_the_original_error_behind_invalidation_reports() -> None:
    invalidated = (
        "FATAL Error: Failed: database has been invalidated because of a previous fatal "
        'error.\nOriginal error: "dict-surviving cache: column 4 changed identity"'
    )
    assert first_fatal([None, "Runtime Error: no such table", invalidated]) == (
        "dict-surviving cache: column 4 changed identity"
    )
    original = "Runtime Error in model m\n  INTERNAL Error: dict-surviving cache"
    assert first_fatal([invalidated, original]) == "INTERNAL Error: dict-surviving cache"
    assert first_fatal(["Runtime Error: Binder Error", None]) is None


def _log_event(msg: str, node: str | None = None, status: str = "executing") -> dict:
    node_info = {"unique_id": node, "node_status": status} if node else {}
    return {"info": {"msg": msg}, "data": {"node_info": node_info}}


def test_dbt_fatal_error_finds_the_node_and_counts_the_nodes_taken_down() -> None:
    invalidated = 'FATAL Error: Failed: database has been invalidated. Original error: "x"'
    log = [
        _log_event("Running with dbt=1.11"),
        _log_event("1 of 5 OK created view model a", "model.a", "success"),
        _log_event("Got 3 results", "test.b", "fail"),
        _log_event("DuckDB adapter: duckdb error: FATAL Error: checkpoint", "model.c"),
        _log_event("3 of 5 ERROR creating model c", "model.c", "error"),
        _log_event(invalidated, "model.d"),
        _log_event("4 of 5 ERROR creating model d", "model.d", "error"),
        _log_event("5 of 5 ERROR test e", "test.e", "error"),
        _log_event(f"Traceback ... {invalidated}"),
    ]
    assert dbt_fatal_error(log) == ("model.c", "FATAL Error: checkpoint", 2)
    assert dbt_fatal_error(log[:3]) is None


def test_inspect_warehouse_after_a_real_fatal_error(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
    con.execute("SET debug_checkpoint_abort = 'before_header'")
    con.execute("INSERT INTO t SELECT range FROM range(10)")
    with pytest.raises(duckdb.FatalException):
        con.execute("CHECKPOINT")
    with pytest.raises(duckdb.FatalException, match="invalidated"):
        con.execute("SELECT 1")
    con.close()
    state = inspect_warehouse(path)
    assert state.intact and "1 tables" in state.detail
    with duckdb.connect(str(path), read_only=True) as fresh:
        assert fresh.execute("SELECT count(*) FROM t").fetchone()[0] == 1010  # WAL replayed

    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(os.urandom(8192))
    assert not inspect_warehouse(garbage).intact
    assert not inspect_warehouse(tmp_path / "missing.duckdb").intact


def test_a_changed_definition_makes_the_next_build_full(
    tiny_pipeline, published_copy: tuple[Path, Path]
) -> None:
    """A warehouse built by other incremental models (an upgrade that adds a column, say)
    is rebuilt in full, not windowed: rows built by the old definition would stay."""
    from orchestration.defs.warehouse import dbt_project, incremental_definition

    warehouse, serving = published_copy
    last = landed_days(tiny_pipeline.landing)[-1]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE meta.dbt_builds SET definition = 'built by an older release'")
        _mark_reloaded(con, dt.date.fromisoformat(last))

    result = run_refresh(
        tiny_pipeline.landing, warehouse, serving, last, last, selection=BUILD_AND_PUBLISH
    )

    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        full_build, definition = con.execute(
            "SELECT full_build, definition FROM meta.dbt_builds ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert full_build
    assert definition == incremental_definition(dbt_project.manifest_path)


def _manifest(tmp_path: Path, **changes: str) -> Path:
    nodes = {
        "model.supportops.fct_tickets": {
            "unique_id": "model.supportops.fct_tickets",
            "resource_type": "model",
            "config": {"materialized": "incremental"},
            "checksum": {"checksum": changes.get("fct_sql", "a1")},
            "columns": {
                "ticket_id": {},
                **({changes["column"]: {}} if "column" in changes else {}),
            },
        },
        "model.supportops.int_tickets__sla": {
            "unique_id": "model.supportops.int_tickets__sla",
            "resource_type": "model",
            "config": {"materialized": "view"},
            "checksum": {"checksum": changes.get("view_sql", "b1")},
            "columns": {},
        },
    }
    macros = {
        "macro.supportops.in_window": {
            "unique_id": "macro.supportops.in_window",
            "package_name": "supportops",
            "macro_sql": changes.get("macro", "{% macro in_window() %}{% endmacro %}"),
        }
    }
    path = tmp_path / f"manifest{len(list(tmp_path.glob('manifest*')))}.json"
    path.write_text(
        json.dumps({"metadata": {"project_name": "supportops"}, "nodes": nodes, "macros": macros})
    )
    return path


def test_incremental_definition_follows_incremental_models_and_macros(tmp_path: Path) -> None:
    from orchestration.defs.warehouse import incremental_definition

    base = incremental_definition(_manifest(tmp_path))
    assert incremental_definition(_manifest(tmp_path)) == base
    assert incremental_definition(_manifest(tmp_path, view_sql="b2")) == base  # views rebuild
    for change in ({"fct_sql": "a2"}, {"column": "is_open"}, {"macro": "{% macro x() %}"}):
        assert incremental_definition(_manifest(tmp_path, **change)) != base, change
