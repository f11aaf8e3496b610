"""A windowed build equals a full build, and reuses dbt's parse of the previous build.

The tiny world is built in two runs into a new warehouse: every day but the last (the first,
full build), then the last day alone (a windowed build: the window reaches the models through
`meta.dbt_build_window`, not `--vars`). Every model must then hold what the session's
one-run full build of the same days holds, and the windowed build must not have parsed the
dbt project again.
"""

from __future__ import annotations

import json
from collections import Counter

import duckdb
import pytest

from orchestration.defs.warehouse import dbt_project
from tests.conftest import Pipeline, landed_days, run_pipeline, runs_pipeline

MODEL_SCHEMAS = ("staging", "intermediate", "marts", "features")
# When a row was loaded or last derived: a windowed build leaves the rows outside its window
# as they were, so these differ by design. Everything derived from them is compared (the SLA
# minutes of open tickets, which run to `data_as_of`, included).
DERIVATION_TIMES = {"loaded_at", "data_as_of"}


@pytest.fixture(scope="module")
@runs_pipeline
def windowed(tiny_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("windowed_build")
    days = landed_days(tiny_pipeline.landing)
    warehouse, serving = root / "warehouse.duckdb", root / "serving.duckdb"
    runs = [
        run_pipeline(tiny_pipeline.landing, warehouse, serving, first, last)
        for first, last in ((days[0], days[-2]), (days[-1], days[-1]))
    ]
    assert all(run.success for run in runs)
    return {"warehouse": warehouse, "runs": runs}


def _model_relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        f"{schema}.{name}"
        for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'one_run' "
            f"AND schema_name IN {MODEL_SCHEMAS} "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            f"WHERE database_name = 'one_run' AND schema_name IN {MODEL_SCHEMAS} ORDER BY ALL"
        ).fetchall()
    ]


def _rows(con: duckdb.DuckDBPyConnection, database: str, relation: str) -> str:
    """The relation's rows, doubles rounded to 9 significant digits (a window sums floats in
    another order than a full build)."""
    columns = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
        "AND schema_name || '.' || table_name = ? ORDER BY column_index",
        [database, relation],
    ).fetchall()
    listed = ", ".join(
        f"round({name}, 9 - ceil(log10(abs({name}) + 1e-300))::int)"
        if kind in ("DOUBLE", "FLOAT")
        else name
        for name, kind in columns
        if name not in DERIVATION_TIMES
    )
    return f"SELECT {listed} FROM {database}.{relation}"


def test_a_windowed_build_equals_a_full_build(tiny_pipeline: Pipeline, windowed: dict) -> None:
    con = duckdb.connect()
    con.execute(f"ATTACH '{tiny_pipeline.warehouse}' AS one_run (READ_ONLY)")
    con.execute(f"ATTACH '{windowed['warehouse']}' AS windowed_run (READ_ONLY)")
    built = con.execute(
        "SELECT full_build, first_day, last_day FROM windowed_run.meta.dbt_builds ORDER BY started_at"
    ).fetchall()
    days = landed_days(tiny_pipeline.landing)
    assert [(b[0], str(b[2])) for b in built] == [(True, days[-2]), (False, days[-1])]

    relations = _model_relations(con)
    assert {"marts.fct_tickets", "features.feat_account_daily", "marts.dim_accounts"} <= set(
        relations
    )
    differing = {}
    for relation in relations:
        full, window = _rows(con, "one_run", relation), _rows(con, "windowed_run", relation)
        only_full, only_window = con.execute(
            f"SELECT (SELECT count(*) FROM ({full} EXCEPT ALL {window})), "
            f"(SELECT count(*) FROM ({window} EXCEPT ALL {full}))"
        ).fetchone()
        if only_full or only_window:
            differing[relation] = (only_full, only_window)
    assert differing == {}
    # Not vacuous: the full build has rows on the window's day.
    assert (
        con.execute(
            "SELECT count(*) FROM one_run.marts.fct_tickets WHERE created_at::date = ?", [days[-1]]
        ).fetchone()[0]
        > 0
    )


def test_the_window_is_gone_after_the_build(windowed: dict) -> None:
    with duckdb.connect(str(windowed["warehouse"]), read_only=True) as con:
        left = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' "
            "AND table_name = 'dbt_build_window'"
        ).fetchone()[0]
    assert left == 0


def _dbt_events(run_id: str) -> list[dict]:
    """The log events of the dbt build a run made (its target folder is named after the run)."""
    (target,) = (dbt_project.project_dir / "target").glob(f"warehouse_models-{run_id[:7]}-*")
    return [json.loads(line) for line in (target / "dbt.log").read_text().splitlines()]


def _dbt_log(run_id: str) -> list[str]:
    """The messages of the dbt build a run made."""
    return [event["info"]["msg"] for event in _dbt_events(run_id)]


def test_the_windowed_build_reuses_the_parse(windowed: dict) -> None:
    window = _dbt_log(windowed["runs"][1].run_id)
    assert not any("Unable to do partial parsing" in m for m in window), [
        m for m in window if "partial pars" in m
    ]
    assert any("Found " in m and " models" in m for m in window)


def test_a_new_folders_first_build_reuses_the_parse_of_another(windowed: dict) -> None:
    """`tiny_pipeline` built a warehouse of the same file name in another folder first: dbt
    runs in the warehouse's folder and its profile names the file alone, so that parse
    serves this folder's first (full) build too."""
    first = _dbt_log(windowed["runs"][0].run_id)
    assert not any("Unable to do partial parsing" in m for m in first), [
        m for m in first if "partial pars" in m
    ]
    assert any("Found " in m and " models" in m for m in first)


def test_the_window_is_read_once_per_node(windowed: dict) -> None:
    """macros/incremental_window.sql caches the window per node: every model and test that
    filters on it reads the table once (it was ~4 reads a node, ~120 a build)."""
    reads = Counter(
        event["data"]["node_info"]["unique_id"]
        for event in _dbt_events(windowed["runs"][1].run_id)
        if event["info"]["name"] == "SQLQuery"
        and '"meta"."dbt_build_window"' in event["data"]["sql"]
    )
    # Not vacuous: the staging models that filter on the window, and windowed tests, read it.
    assert "model.supportops.stg_helpdesk__tickets" in reads
    assert "model.supportops.fct_tickets" in reads
    assert any(node.startswith("test.") for node in reads)
    assert {node: n for node, n in reads.items() if n > 1} == {}
