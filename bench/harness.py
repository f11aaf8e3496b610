"""The benchmark: the whole pipeline at growing scales, stage by stage, against the floor.

One scale runs in its own fresh process (peak memory and import costs are per scale):
generate the extracts, run the real `refresh` job over all days but the last, time the
floor (`bench/floor.sql`) and the dbt lineage of the KPI mart on the same data, measure the
dashboards' queries on the serving file, then land the held-back day and time the one-day
incremental refresh that follows, as the landing sensor would run it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import duckdb

from bench.memory import MemorySampler

MB = 1024 * 1024


@dataclass(frozen=True)
class BenchScale:
    """Accounts x days; the ticket count in the name is what the generator yields for it."""

    name: str
    accounts: int
    days: int
    start: dt.date = dt.date(2026, 2, 2)
    seed: int = 42


# 270 days is the history the churn model needs (features, train, validation, a 90-day
# label gap and a test window); about 0.12 tickets per account-day.
SCALES = {
    # The tiny scale is the test suite's clean dataset (seed 11), whose days all pass the gates.
    "tiny": BenchScale("tiny", accounts=120, days=14, start=dt.date(2026, 5, 1), seed=11),
    # Not smaller: at 300 accounts (about 40 tickets a day) an ordinary busy Saturday is past
    # the raw volume gate's band and stops the run, as it would for a real source that small.
    "30k": BenchScale("30k", accounts=1_000, days=270),
    "100k": BenchScale("100k", accounts=3_000, days=270),
    "300k": BenchScale("300k", accounts=9_000, days=270),
    "1m": BenchScale("1m", accounts=30_000, days=270),
}

STAGES = ("generate", "ingest", "dbt build", "quality checks", "train", "score",
          "ml monitoring", "publish", "dagster overhead")  # fmt: skip


def _stage_of_step() -> dict[str, str]:
    """Dagster step key (the op name) -> benchmark stage, from the definitions themselves."""
    from orchestration.defs.actions import actions_store
    from orchestration.defs.alerts import daily_alerts
    from orchestration.defs.ingestion import ingestion_assets
    from orchestration.defs.ml import churn_model, escalation_model, ml_assets, ml_checks
    from orchestration.defs.quality import mart_quality, raw_quality_checks
    from orchestration.defs.serving import serving_database
    from orchestration.defs.warehouse import warehouse_models

    groups = {
        "ingest": [*ingestion_assets, actions_store],
        "dbt build": [warehouse_models],
        "quality checks": [*raw_quality_checks, mart_quality],
        "train": [churn_model, escalation_model],
        "score": [a for a in ml_assets if a not in (churn_model, escalation_model)],
        "ml monitoring": ml_checks,
        "publish": [serving_database, daily_alerts],
    }
    return {node.node_def.name: stage for stage, nodes in groups.items() for node in nodes}


def _step_spans(instance, run_id: str) -> dict[str, tuple[float, float]]:
    """(start, end) wall-clock time of each step of a run, from its event log."""
    starts: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[entry.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            spans[entry.step_key] = (starts[entry.step_key], entry.timestamp)
    return spans


def _stage_times(spans: dict[str, tuple[float, float]], run_span: tuple[float, float],
                 memory: MemorySampler) -> dict[str, dict]:  # fmt: skip
    """Seconds and peak RSS per stage; the rest of the run's wall time is Dagster's own."""
    stage_of = _stage_of_step()
    stages: dict[str, dict] = {}
    for step, (start, end) in spans.items():
        if step not in stage_of:
            raise KeyError(f"step {step} has no benchmark stage: add its asset to _stage_of_step")
        stage = stages.setdefault(stage_of[step], {"seconds": 0.0, "peak": 0})
        stage["seconds"] += end - start
        stage["peak"] = max(stage["peak"], memory.peak_between(start, end))
    in_steps = sum(s["seconds"] for s in stages.values())
    stages["dagster overhead"] = {
        "seconds": run_span[1] - run_span[0] - in_steps,
        "peak": memory.peak_between(*run_span),
    }
    return stages


def _serving_counts(serving: Path) -> dict[str, int]:
    """Rows per published table, and the raw rows the run loaded."""
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL"
        ).fetchall()
        counts = {
            f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]
            for s, t in tables
        }
        counts["raw rows"] = con.execute("SELECT sum(loaded) FROM main.raw_summary").fetchone()[0]
    return counts


def _stage_rows(counts: dict[str, int], landing_rows: int) -> dict[str, int]:
    """The rows each stage works through, for rows per second."""
    raw = counts["raw rows"]
    scored = counts.get("ml.account_scores", 0) + counts.get("ml.ticket_scores", 0)
    return {
        "generate": landing_rows,
        "ingest": raw,
        "dbt build": raw,
        "quality checks": raw,
        "train": counts.get("features.feat_account_daily", 0) + counts.get("marts.fct_tickets", 0),
        "score": scored,
        "ml monitoring": scored,
        "publish": sum(v for k, v in counts.items() if k != "raw rows"),
    }


def _hold_back_last_day(landing: Path, held: Path) -> str:
    """Move the newest day's folders out of the landing area; returns that day."""
    last = max(day.name for day in (landing / "helpdesk").iterdir())
    for source in landing.iterdir():
        if (source / last).is_dir():
            (held / source.name).mkdir(parents=True, exist_ok=True)
            (source / last).rename(held / source.name / last)
    return last


def _land_held_day(landing: Path, held: Path) -> None:
    for source in held.iterdir():
        for day in source.iterdir():
            day.rename(landing / source.name / day.name)


def run_scale(scale: BenchScale, work: Path, dashboard_repeats: int = 20,
              spark_driver_memory: str | None = None) -> dict:  # fmt: skip
    """Every measurement of one scale; its files stay under `work/<scale>` until the caller
    removes them. With `spark_driver_memory`, the KPI mart's lineage on Spark too
    (bench/lineage.py)."""
    import dagster as dg

    from bench import dashboard_latency, scoring_latency
    from bench.floor import compare_with_mart, run_floor
    from bench.lineage import duckdb_lineage, spark_stage
    from extracts.generator import GeneratorConfig, generate

    root = work.resolve() / scale.name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    landing, warehouse, serving = (
        root / "landing",
        root / "warehouse.duckdb",
        root / "serving.duckdb",
    )
    with MemorySampler() as memory:
        started = time.time()
        config = GeneratorConfig(accounts=scale.accounts, start=scale.start,
                                 days=scale.days + 1, seed=scale.seed, fault_rate=0.0)  # fmt: skip
        generated = generate(config, root)
        generate_span = (started, time.time())
        last_day = _hold_back_last_day(landing, root / "held")
        first_day = scale.start.isoformat()
        through = (dt.date.fromisoformat(last_day) - dt.timedelta(days=1)).isoformat()

        started = time.time()
        from orchestration.runs import run_refresh  # imports Dagster and the definitions

        startup = time.time() - started
        instance = dg.DagsterInstance.ephemeral()
        started = time.time()
        full = run_refresh(landing, warehouse, serving, first_day, through, instance=instance)
        full_span = (started, time.time())
        stages = _stage_times(_step_spans(instance, full.run_id), full_span, memory)
        stages["generate"] = {
            "seconds": generate_span[1] - generate_span[0],
            "peak": memory.peak_between(*generate_span),
        }
        counts = _serving_counts(serving)

        floor = run_floor(landing)
        with duckdb.connect(str(serving), read_only=True) as con:
            mart = con.execute("SELECT * FROM marts.fct_support_kpis_daily").df()
        differences = compare_with_mart(floor.frame, mart)
        lineage = duckdb_lineage(warehouse, root / "dbt_lineage")
        lineage_seconds = lineage.seconds
        spark_span = (0.0, 0.0)
        if spark_driver_memory:
            spark_span = (time.time(), 0.0)
            spark = spark_stage(warehouse, root, lineage, spark_driver_memory)
            spark_span = (spark_span[0], time.time())
        dashboards = dashboard_latency.measure(serving, repeats=dashboard_repeats)
        scoring = scoring_latency.measure(root)

        _land_held_day(landing, root / "held")
        from orchestration.defs.ml import churn_model, escalation_model

        started = time.time()
        daily = run_refresh(landing, warehouse, serving, last_day, last_day, instance=instance,
                            selection=dg.AssetSelection.all()
                            - dg.AssetSelection.assets(churn_model, escalation_model))  # fmt: skip
        daily_span = (started, time.time())
        daily_stages = _stage_times(_step_spans(instance, daily.run_id), daily_span, memory)
    # Generated: every day, the held-back one included; the stages after it: the built days.
    landing_rows = sum(generated.rows.values())
    rows = _stage_rows(counts, landing_rows)
    full_seconds = full_span[1] - full_span[0]
    daily_seconds = daily_span[1] - daily_span[0]
    dbt_seconds = stages["dbt build"]["seconds"]
    result = {
        "scale": scale.name,
        "accounts": scale.accounts,
        "days": scale.days,
        "tickets": counts["marts.fct_tickets"],
        "landing_rows": landing_rows,
        "stages": [
            {
                "stage": name,
                "seconds": round(stages[name]["seconds"], 2),
                "peak_rss_mb": round(stages[name]["peak"] / MB),
                "rows": rows.get(name),
                "rows_per_second": round(rows[name] / stages[name]["seconds"])
                if rows.get(name) and stages[name]["seconds"] > 0
                else None,
            }
            for name in STAGES
            if name in stages
        ],
        "startup_seconds": round(startup, 2),
        "full_run_seconds": round(full_seconds, 2),
        "pipeline_seconds": round(stages["generate"]["seconds"] + startup + full_seconds, 2),
        # The pipeline's peak: the Spark stage reports its own (its JVM is no pipeline stage).
        "peak_rss_mb": round(
            max(rss for t, rss in memory.samples if not spark_span[0] <= t <= spark_span[1]) / MB
        ),
        "floor": {
            "seconds": round(floor.seconds, 3),
            "rows": len(floor.frame),
            "equal_to_pipeline": not differences,
            "differences": differences[:20],
            "dbt_kpi_lineage_seconds": round(lineage_seconds, 2),
            "ratio_dbt_kpi_lineage": round(lineage_seconds / floor.seconds, 1),
            "ratio_dbt_build": round(dbt_seconds / floor.seconds, 1),
            "ratio_ingest_and_dbt_build": round(
                (dbt_seconds + stages["ingest"]["seconds"]) / floor.seconds, 1
            ),
        },
        "one_day_refresh": {
            "day": last_day,
            "run_seconds": round(daily_seconds, 2),
            "dbt_seconds": round(daily_stages["dbt build"]["seconds"], 2),
            "share_of_full_run": round(daily_seconds / full_seconds, 4),
            "dbt_share_of_full_dbt": round(daily_stages["dbt build"]["seconds"] / dbt_seconds, 4),
            "stages": {k: round(v["seconds"], 2) for k, v in daily_stages.items()},
        },
        "dashboards": dashboards,
        "scoring_service": scoring,
    }
    if spark_driver_memory:
        result["spark"] = spark
    return result


def _machine(quality_engine: str) -> dict:
    from config.settings import get_settings

    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "duckdb": duckdb.__version__,
        "quality_engine": quality_engine,
        "duckdb_memory_limit": get_settings().duckdb_memory_limit,
    }


def _spark_versions() -> dict:
    from importlib.metadata import version

    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=True)
    return {
        "pyspark": version("pyspark"),
        "dbt_spark": version("dbt-spark"),
        "java": java.stderr.splitlines()[0],
    }


def run_benchmark(scales: list[BenchScale], work: Path, out: Path, keep: bool = False,
                  dashboard_repeats: int = 20, quality_engine: str | None = None,
                  on_scale=None, spark_driver_memory: str | None = None) -> tuple[Path, Path]:  # fmt: skip
    """Each scale in a fresh process, one after the other; writes <date>.json and .md
    (<date>-spark.* with the Spark stage, so a run under its extra load never overwrites
    the day's DuckDB-only figures).

    `quality_engine` (gx or sql) is handed to the scale processes through the environment,
    which is where their settings come from; so is demo mode (generated data: the demo PII
    key unless SUPPORTOPS_PII_KEY is set).
    """
    from bench.report import markdown
    from config.settings import DEMO_ENV, QUALITY_ENGINE_ENV, get_settings

    os.environ[DEMO_ENV] = "1"
    os.environ[QUALITY_ENGINE_ENV] = quality_engine or get_settings().quality_engine
    machine = _machine(os.environ[QUALITY_ENGINE_ENV])
    if spark_driver_memory:
        machine |= _spark_versions()
    results = {"date": dt.date.today().isoformat(), "machine": machine, "scales": []}
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{results['date']}{'-spark' if spark_driver_memory else ''}.json"
    md_path = json_path.with_suffix(".md")
    for scale in scales:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            result = pool.submit(
                run_scale, scale, work, dashboard_repeats, spark_driver_memory
            ).result()
        results["scales"].append(result)
        # Written after every scale: a long largest scale never costs the smaller ones.
        json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        md_path.write_text(markdown(results))
        if on_scale:
            on_scale(result)
        if not keep:
            shutil.rmtree(work / scale.name, ignore_errors=True)
    return json_path, md_path
