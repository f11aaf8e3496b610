"""The benchmark's Spark stage without Spark: dbt's node timings split into startup, seeds
and models, the Spark/DuckDB ratios and their report, on fixture numbers worked by hand; and
the engine comparison on hand-made tables (a Spark table is Parquet files under
`<schema>.db/<table>/`). The Spark run itself: tests/test_spark_target.py and `supportops
bench --spark`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from bench.lineage import LineageRun, node_phases, spark_summary
from bench.report import markdown, spark_table
from extracts.engine_compare import table_differences

T0 = dt.datetime(2026, 12, 1, 10, 0, 0, tzinfo=dt.UTC)


def _node(unique_id: str, start: float, compiled: float, end: float) -> dict:
    """A run_results.json result whose compile starts `start` s after T0 and execute ends
    at `end` s."""

    def at(seconds: float) -> str:
        return (T0 + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    return {
        "unique_id": unique_id,
        "timing": [
            {"name": "compile", "started_at": at(start), "completed_at": at(compiled)},
            {"name": "execute", "started_at": at(compiled), "completed_at": at(end)},
        ],
    }


def test_node_phases_split_startup_seeds_and_models():
    results = [
        # The on-run-start hook (Spark's session start) is startup, not a phase of its own.
        _node("operation.supportops.supportops-on-run-start-0", 5.0, 5.0, 30.0),
        _node("seed.supportops.cost_model", 31.0, 31.5, 33.0),
        _node("seed.supportops.sla_policies", 31.0, 31.2, 34.5),
        _node("model.supportops.stg_a", 35.0, 35.1, 40.0),
        _node("model.supportops.stg_b", 35.5, 35.6, 38.0),  # side by side with stg_a
        _node("model.supportops.fct", 40.0, 40.5, 52.25),
        {"unique_id": "model.supportops.skipped", "timing": []},  # no timing: not counted
    ]
    phases = node_phases(results, started=T0.timestamp() + 1.0)
    # First seed starts at 31 s; the process began at 1 s.
    assert phases["startup_seconds"] == pytest.approx(30.0)
    assert phases["seed_seconds"] == pytest.approx(34.5 - 31.0)
    assert phases["model_seconds"] == pytest.approx(52.25 - 35.0)
    assert phases["models"] == 3


def test_node_phases_of_a_run_without_seeds():
    phases = node_phases([_node("model.p.m", 4.0, 4.0, 6.0)], started=T0.timestamp())
    assert phases == {
        "startup_seconds": pytest.approx(4.0),
        "seed_seconds": 0.0,
        "model_seconds": pytest.approx(2.0),
        "models": 1,
    }


DUCK = LineageRun(
    seconds=12.0, startup_seconds=4.0, seed_seconds=0.0, model_seconds=8.0, models=23,
    peak_rss_mb=400, load_average_1m=(2.04, 2.46),
)  # fmt: skip
SPARK = LineageRun(
    seconds=150.0, startup_seconds=30.0, seed_seconds=6.0, model_seconds=110.0, models=23,
    peak_rss_mb=2_600, load_average_1m=(2.5, 3.0),
)  # fmt: skip


def _summary(differences: list[str] | None = None) -> dict:
    return spark_summary(
        DUCK,
        SPARK,
        export_seconds=3.0,
        raw_parquet_mb=120.44,
        warehouse_mb=900.0,
        driver_memory="4g",
        differences=differences or [],
    )


def test_spark_summary_ratios():
    summary = _summary()
    # 110/8 = 13.75, 150/12 = 12.5, (150+3)/12 = 12.75, 2600/400 = 6.5; one decimal.
    assert summary["ratio"] == {"models": 13.8, "wall": 12.5, "with_export": 12.8, "peak_rss": 6.5}
    assert summary["equal_to_duckdb"] is True
    assert summary["raw_parquet_mb"] == 120.4
    assert summary["duckdb"]["load_average_1m"] == [2.0, 2.5]
    assert summary["spark"]["model_seconds"] == 110.0
    assert (
        _summary(["marts.fct_support_kpis_daily: 3 rows on DuckDB, 2 on Spark"])["equal_to_duckdb"]
        is False
    )


def test_spark_summary_has_no_ratio_over_zero():
    no_models = LineageRun(1.0, 1.0, 0.0, 0.0, 0, 100, (0.0, 0.0))
    summary = spark_summary(no_models, SPARK, export_seconds=0.0, raw_parquet_mb=0.0,
                            warehouse_mb=0.0, driver_memory="1g", differences=[])  # fmt: skip
    assert summary["ratio"]["models"] is None
    assert summary["ratio"]["wall"] == 150.0


def test_spark_report_tables():
    summary = _summary(["marts.fct_support_kpis_daily row [x]: Spark has [y]"])
    table = "\n".join(spark_table(summary))
    assert "| models s | 8.0 | 110.0 | 13.8x |" in table
    assert "| dbt wall + export s | 12.0 | 153.0 | 12.8x |" in table
    assert "| peak RSS MB (dbt + engine) | 400 | 2,600 | 6.5x |" in table
    assert "equal to DuckDB's: NO" in table and "- difference: marts.fct" in table
    assert "2.0 -> 2.5 / 2.5 -> 3.0" in table

    scale = {"scale": "30k", "tickets": 32_849, "accounts": 1_000, "days": 270,
             "landing_rows": 3_431_897, "pipeline_seconds": 83.0, "peak_rss_mb": 1_551,
             "startup_seconds": 2.0, "full_run_seconds": 79.0,
             "stages": [{"stage": "dbt build", "seconds": 23.2, "peak_rss_mb": 1_551,
                         "rows": 1, "rows_per_second": 1}],
             "floor": {"seconds": 1.67, "rows": 9, "equal_to_pipeline": True, "differences": [],
                       "dbt_kpi_lineage_seconds": 12.0, "ratio_dbt_kpi_lineage": 7.2,
                       "ratio_dbt_build": 13.9, "ratio_ingest_and_dbt_build": 22.6},
             "one_day_refresh": {"day": "2026-10-30", "run_seconds": 30.0, "dbt_seconds": 9.0,
                                 "share_of_full_run": 0.377, "dbt_share_of_full_dbt": 0.3,
                                 "stages": {"publish": 1.5, "dbt build": 9.0}},
             "dashboards": {"queries": [1], "repeats": 2, "p50_ms": 10.0, "p95_ms": 35.0,
                            "slowest": "q"},
             "spark": _summary()}  # fmt: skip
    machine = {"cpus": 2, "memory_gib": 23.5, "python": "3.11", "duckdb": "2.0.1",
               "quality_engine": "sql", "duckdb_memory_limit": "40%", "pyspark": "4.0.0",
               "dbt_spark": "1.9.0", "java": "openjdk 17"}  # fmt: skip
    report = markdown({"date": "2026-12-01", "machine": machine, "scales": [scale]})
    assert "| 30k | 32,849 | 120 | 12.0 | 150.0 | 13.8x | 12.5x | 2,600 | yes |" in report
    assert "pyspark 4.0.0" in report
    # Generating the extracts is no part of landing to serving; the run's costliest first.
    assert (
        "| 30k | 32,849 | 3,431,897 | 83 | 81 | 23.2 | 1.67 | 13.9x | 22.6x | 37.7% (30 s) |"
        in report
    )
    assert (
        "Where the time goes now (30k, landing to serving 81 s): dbt build 23 s (29%); "
        "Dagster's start 2.0 s. The one-day refresh (30 s): dbt build 9.0 s, publish 1.5 s."
    ) in report
    # A peak lost to a sampler failure is set to null by hand, with a note: "-", not a crash.
    scale["spark"]["spark"]["peak_rss_mb"] = None
    lost = {"date": "2026-12-01", "machine": machine, "scales": [scale], "notes": ["lost"]}
    report = markdown(lost)
    assert "| 12.5x | - | yes |" in report and "\nNote: lost\n" in report
    # Without a Spark stage the report has no Spark lines.
    del scale["spark"]
    assert "Spark" not in markdown({"date": "2026-12-01", "machine": machine, "scales": [scale]})


@pytest.fixture
def two_engines(tmp_path: Path) -> tuple[Path, Path]:
    """A DuckDB warehouse with marts.kpis and a 'Spark' copy as Parquet files."""
    warehouse, spark = tmp_path / "w.duckdb", tmp_path / "spark"
    (spark / "marts.db" / "kpis").mkdir(parents=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.kpis AS SELECT * FROM (VALUES "
            "(DATE '2026-05-01', 'email', 10, 0.1), (DATE '2026-05-01', 'chat', 4, 1.0 / 3), "
            "(DATE '2026-05-02', 'email', 7, NULL)) t(day, channel, tickets, rate)"
        )
    return warehouse, spark


def _write_spark(spark: Path, rows: str) -> None:
    """Two part files, rows in another order and columns in another order, as Spark may."""
    with duckdb.connect() as con:
        for i, part in enumerate(rows.split(";")):
            con.execute(
                f"COPY (SELECT channel, day, tickets, rate FROM (VALUES {part}) "
                f"t(day, channel, tickets, rate)) TO '{spark}/marts.db/kpis/part-{i}.parquet'"
            )


def test_same_rows_within_float_tolerance_are_equal(two_engines):
    warehouse, spark = two_engines
    _write_spark(
        spark,
        "(DATE '2026-05-02', 'email', 7, NULL::DOUBLE), (DATE '2026-05-01', 'email', 10, 0.1);"
        "(DATE '2026-05-01', 'chat', 4, 0.33333333333333337)",  # 1/3 summed another way
    )
    assert table_differences(spark, warehouse, "marts", "kpis") == []


def test_a_different_value_or_row_count_is_named(two_engines):
    warehouse, spark = two_engines
    _write_spark(
        spark,
        "(DATE '2026-05-02', 'email', 7, NULL::DOUBLE), (DATE '2026-05-01', 'email', 10, 0.1001);"
        "(DATE '2026-05-01', 'chat', 5, 1.0 / 3)",
    )
    differences = table_differences(spark, warehouse, "marts", "kpis")
    assert len(differences) == 2
    assert "'chat', 4]: Spark has" in differences[0]  # tickets 4 on DuckDB, 5 on Spark
    assert differences[1].endswith("rate: 0.1 vs 0.1001")
    for old in (spark / "marts.db" / "kpis").iterdir():
        old.unlink()
    _write_spark(spark, "(DATE '2026-05-02', 'email', 7, NULL::DOUBLE)")
    assert table_differences(spark, warehouse, "marts", "kpis") == [
        "marts.kpis: 3 rows on DuckDB, 1 on Spark"
    ]


def test_a_missing_spark_table_is_named(tmp_path: Path, two_engines):
    warehouse, _ = two_engines
    (difference,) = table_differences(tmp_path / "nowhere", warehouse, "marts", "kpis")
    assert difference.startswith("marts.kpis: Spark built no table files")


def test_memory_of_a_process_that_ended_is_zero_not_an_error():
    """The sampler follows a dbt run whose children (Spark's launcher scripts) come and go: a
    process gone between two reads of /proc must not kill the sampling thread."""
    import subprocess

    from bench.memory import tree_rss_bytes

    done = subprocess.Popen(["true"])
    done.wait()
    assert tree_rss_bytes(done.pid) == 0
