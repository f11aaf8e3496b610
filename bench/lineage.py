"""The KPI mart's lineage under dbt, on DuckDB and on Spark local[2] (issue 19).

The harness times `dbt run` of `+fct_support_kpis_daily` on each scale's DuckDB warehouse.
With `--spark` it then hands the same raw tables to Spark (`export_raw_from`, Parquet per
landing day) and builds the same selection on the `spark` target in a fresh session, as a
scheduled job would get: the export, Spark's session start (before the first node), the
seeds (a fresh Spark warehouse has none; DuckDB's already holds them) and the models are
timed apart, the peak RSS of dbt and the JVM it starts is sampled, and the Spark mart must
equal DuckDB's (extracts/engine_compare.py) so a fast wrong answer cannot win.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.memory import MemorySampler

MB = 1024 * 1024
LINEAGE = "+fct_support_kpis_daily"
KPI_MART = ("marts", "fct_support_kpis_daily")


@dataclass(frozen=True)
class LineageRun:
    """One dbt invocation of the lineage. Phases come from dbt's run_results.json."""

    seconds: float
    """Wall time of the dbt process."""
    startup_seconds: float
    """Before its first node started: dbt's parse and cache, and on Spark the session start
    and the raw views (the on-run-start hook)."""
    seed_seconds: float
    model_seconds: float
    """First model's start to last model's end (two threads run models side by side)."""
    models: int
    peak_rss_mb: int
    """dbt's process and everything it started (Spark's JVM)."""
    load_average_1m: tuple[float, float]
    """The machine's 1-minute load average before and after: it is shared."""


def _timestamp(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def node_phases(results: list[dict], started: float) -> dict[str, float | int]:
    """Startup, seed and model seconds of a dbt invocation begun at `started` (epoch
    seconds), from its run_results.json `results`: each phase spans its nodes' first compile
    start to last execute end; startup is everything before the first seed or model."""
    spans: dict[str, list[tuple[float, float]]] = {"seed": [], "model": []}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        times = [t for t in result["timing"] if t.get("started_at") and t.get("completed_at")]
        if kind in spans and times:
            spans[kind].append(
                (
                    min(_timestamp(t["started_at"]) for t in times),
                    max(_timestamp(t["completed_at"]) for t in times),
                )
            )

    def span(kind: str) -> float:
        found = spans[kind]
        return max(end for _, end in found) - min(start for start, _ in found) if found else 0.0

    first = min((start for found in spans.values() for start, _ in found), default=started)
    return {
        "startup_seconds": first - started,
        "seed_seconds": span("seed"),
        "model_seconds": span("model"),
        "models": len(spans["model"]),
    }


def run_lineage(scratch: Path, env: dict[str, str], seeds: bool = False) -> LineageRun:
    """`dbt run --full-refresh` of the KPI mart and everything upstream (`dbt build` of its
    seeds and models when `seeds`) with `env` added to this process's environment."""
    from config.settings import PROJECT_ROOT

    project = PROJECT_ROOT / "dbt_project"
    verb = ["build", "--resource-type", "seed", "--resource-type", "model"] if seeds else ["run"]
    command = [str(Path(sys.executable).parent / "dbt"), *verb, "--quiet", "--full-refresh",
               "--select", LINEAGE, "--project-dir", str(project), "--profiles-dir", str(project),
               "--target-path", str(scratch / "target"), "--log-path", str(scratch / "logs")]  # fmt: skip
    load_before = os.getloadavg()[0]
    started = time.time()
    process = subprocess.Popen(command, env=os.environ | env, cwd=project)
    with MemorySampler(root=process.pid) as memory:
        code = process.wait()
    seconds = time.time() - started
    if code:
        raise RuntimeError(
            f"dbt {verb[0]} of {LINEAGE} failed (exit {code}); its log: {scratch / 'logs'}"
        )
    results = json.loads((scratch / "target" / "run_results.json").read_text())["results"]
    return LineageRun(
        seconds=seconds,
        **node_phases(results, started),
        peak_rss_mb=round(max((rss for _, rss in memory.samples), default=0) / MB),
        load_average_1m=(load_before, os.getloadavg()[0]),
    )


def duckdb_lineage(warehouse: Path, scratch: Path) -> LineageRun:
    """The lineage on the scale's DuckDB warehouse, with the pipeline's memory limit."""
    from config.settings import MEMORY_LIMIT_ENV, WAREHOUSE_ENV, get_settings

    env = {
        WAREHOUSE_ENV: str(warehouse.resolve()),
        MEMORY_LIMIT_ENV: get_settings().duckdb_memory_limit,
    }
    return run_lineage(scratch, env)


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / MB


def spark_stage(warehouse: Path, root: Path, duck: LineageRun, driver_memory: str) -> dict:
    """Export the raw tables, build the lineage on Spark local[2] under `root`, compare its
    mart with DuckDB's (which `duck` timed rebuilding in `warehouse`); the summary of both."""
    from config.settings import (
        DBT_TARGET_ENV,
        RAW_PARQUET_ENV,
        SPARK_DIR_ENV,
        SPARK_DRIVER_MEMORY_ENV,
    )
    from extracts.engine_compare import table_differences
    from extracts.raw_export import export_raw_from

    raw = root / "raw_parquet"
    started = time.perf_counter()
    export_raw_from(warehouse, raw)
    export_seconds = time.perf_counter() - started
    env = {
        DBT_TARGET_ENV: "spark",
        RAW_PARQUET_ENV: str(raw),
        SPARK_DIR_ENV: str(root / "spark"),
        SPARK_DRIVER_MEMORY_ENV: driver_memory,
    }
    spark = run_lineage(root / "spark_lineage", env, seeds=True)
    differences = table_differences(root / "spark" / "warehouse", warehouse, *KPI_MART)
    return spark_summary(
        duck,
        spark,
        export_seconds=export_seconds,
        raw_parquet_mb=folder_mb(raw),
        warehouse_mb=warehouse.stat().st_size / MB,
        driver_memory=driver_memory,
        differences=differences,
    )


def spark_summary(duck: LineageRun, spark: LineageRun, *, export_seconds: float,
                  raw_parquet_mb: float, warehouse_mb: float, driver_memory: str,
                  differences: list[str]) -> dict:  # fmt: skip
    """The json of the Spark stage: both runs and Spark/DuckDB ratios. `models` compares the
    engines' work alone; `wall` what a scheduled dbt job pays on each (Spark's session start
    and seeds in); `with_export` adds handing the raw tables to Spark."""

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 1) if b > 0 else None

    return {
        "driver_memory": driver_memory,
        "raw_export_seconds": round(export_seconds, 2),
        "raw_parquet_mb": round(raw_parquet_mb, 1),
        "warehouse_mb": round(warehouse_mb, 1),
        "duckdb": _rounded(duck),
        "spark": _rounded(spark),
        "ratio": {
            "models": ratio(spark.model_seconds, duck.model_seconds),
            "wall": ratio(spark.seconds, duck.seconds),
            "with_export": ratio(spark.seconds + export_seconds, duck.seconds),
            "peak_rss": ratio(spark.peak_rss_mb, duck.peak_rss_mb),
        },
        "equal_to_duckdb": not differences,
        "differences": differences,
    }


def _rounded(run: LineageRun) -> dict:
    out = asdict(run)
    for key, value in out.items():
        if isinstance(value, float):
            out[key] = round(value, 2)
    out["load_average_1m"] = [round(v, 1) for v in run.load_average_1m]
    return out
