"""The dbt project on Spark (issue 19): the tiny world's raw tables, exported as Parquet per
landing day, built by the `spark` target on a local Spark session, give the same marts and
feature tables as the DuckDB build of `tiny_pipeline`, and every dbt data and unit test
passes there. One `dbt build` (models, seeds, data tests and unit tests) in its own process.

Spark's tables are Parquet files under its warehouse folder, so DuckDB reads them for the
comparison: no second Spark session.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from extracts.engine_compare import table_differences
from extracts.raw_export import export_raw_from
from tests.conftest import Pipeline, landed_days, run_dbt

COMPARED = {
    "marts": ["dim_accounts", "fct_tickets", "fct_ticket_events", "fct_support_kpis_daily"],
    "features": ["feat_account_daily", "feat_ticket_at_creation", "health_score_daily"],
}


@pytest.fixture(scope="module")
def spark_build(tiny_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny world built by the spark target: where its tables are, and dbt's results."""
    root = tmp_path_factory.mktemp("spark")
    exported = export_raw_from(tiny_pipeline.warehouse, root / "raw_parquet")
    assert exported["helpdesk_tickets"] > 0
    target = _spark_dbt(root, "build")
    return {
        "root": root,
        "tables": root / "spark" / "warehouse",
        "manifest": json.loads((target / "manifest.json").read_text()),
        "results": json.loads((target / "run_results.json").read_text())["results"],
    }


def _spark_dbt(root: Path, *args: str) -> Path:
    """`dbt <args>` on the spark target over `root`'s raw export; returns its target folder."""
    done = _spark_dbt_run(root, *args)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    return root / f"dbt_{args[0]}" / "target"


def _spark_dbt_run(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` on the spark target, its artifacts in `root`/dbt_<command>/target."""
    return run_dbt(
        *args,
        work=root / f"dbt_{args[0]}",
        timeout=3600,
        SUPPORTOPS_DBT_TARGET="spark",
        SUPPORTOPS_RAW_PARQUET=str(root / "raw_parquet"),
        SUPPORTOPS_SPARK_DIR=str(root / "spark"),
    )


@pytest.mark.e2e
def test_every_model_data_test_and_unit_test_passes_on_spark(spark_build):
    manifest, results = spark_build["manifest"], spark_build["results"]
    status = {r["unique_id"]: r["status"] for r in results}
    models = [n for n in manifest["nodes"] if n.startswith("model.")]
    data_tests = [n for n in manifest["nodes"] if n.startswith("test.")]
    assert len(models) > 30 and len(data_tests) > 180 and len(manifest["unit_tests"]) > 20
    assert {status.get(n) for n in models} == {"success"}
    assert {status.get(n) for n in data_tests} == {"pass"}
    assert {status.get(n) for n in manifest["unit_tests"]} == {"pass"}


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("schema", "table"), [(s, t) for s, tables in COMPARED.items() for t in tables]
)
def test_spark_tables_equal_duckdb_tables(spark_build, tiny_pipeline: Pipeline, schema, table):
    assert_same_table(spark_build["tables"], tiny_pipeline.warehouse, schema, table)


@pytest.mark.e2e
def test_a_windowed_build_on_spark_keeps_the_same_rows(spark_build, tiny_pipeline: Pipeline):
    """The pipeline's windowed build (the last three landing days) on Spark: plain Parquet has
    no delete by key, so the incremental models rebuild whole (macros/incremental_window.sql)
    and fct_tickets still equals DuckDB's."""
    days = landed_days(tiny_pipeline.landing)
    window = json.dumps({"start_date": days[-3], "end_date": days[-1]})
    selected = ["stg_helpdesk__tickets", "stg_helpdesk__ticket_events", "fct_tickets"]
    target = _spark_dbt(spark_build["root"], "run", "--select", *selected, "--vars", window)
    compiled = (target / "run" / "supportops" / "models" / "marts" / "fct_tickets.sql").read_text()
    assert "create table marts.fct_tickets" in compiled  # rebuilt, not appended to
    assert_same_table(spark_build["tables"], tiny_pipeline.warehouse, "marts", "fct_tickets")


@pytest.mark.e2e
def test_a_null_in_a_constrained_column_fails_the_spark_build(spark_build):
    """dbt-spark skips a contract's `not_null` constraints on Parquet; the project checks
    them after the write (macros/spark_constraints.sql): a null event type planted in
    staging fails fct_ticket_events, naming the column. Both tables are put back after."""
    root, tables = spark_build["root"], spark_build["tables"]
    staged = tables / "staging.db" / "stg_helpdesk__ticket_events"
    built = tables / "marts.db" / "fct_ticket_events"
    for folder in (staged, built):
        shutil.copytree(folder, root / "saved" / folder.name)
    try:
        with duckdb.connect() as con:
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{staged}/*.parquet')")
            con.execute(
                "UPDATE t SET event_type = NULL WHERE event_id = (SELECT min(event_id) FROM t)"
            )
            for part in staged.glob("*.parquet"):
                part.unlink()
            con.execute(f"COPY t TO '{staged / 'part-00000.parquet'}' (FORMAT parquet)")
        done = _spark_dbt_run(root, "run", "--select", "fct_ticket_events")
    finally:
        for folder in (staged, built):
            shutil.rmtree(folder)
            shutil.copytree(root / "saved" / folder.name, folder)
    assert done.returncode != 0
    assert "NOT NULL constraint failed: marts.fct_ticket_events: null in event_type (1 rows)" in (
        done.stdout
    ), done.stdout[-3000:]


def assert_same_table(spark_tables: Path, warehouse: Path, schema: str, table: str) -> None:
    """Same rows on both engines (extracts/engine_compare.py says what that means)."""
    assert table_differences(spark_tables, warehouse, schema, table) == []
