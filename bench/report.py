"""The benchmark's results as a markdown report (bench/results/<date>.md)."""

from __future__ import annotations


def _number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def scale_section(result: dict) -> str:
    floor, daily, dash = result["floor"], result["one_day_refresh"], result["dashboards"]
    lines = [
        f"## {result['scale']}: {result['tickets']:,} tickets "
        f"({result['accounts']:,} accounts x {result['days']} days, "
        f"{result['landing_rows']:,} landing rows)",
        "",
        "| stage | wall s | peak RSS MB | rows | rows/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for stage in result["stages"]:
        lines.append(
            f"| {stage['stage']} | {_number(stage['seconds'])} | "
            f"{_number(stage['peak_rss_mb'])} | {_number(stage['rows'])} | "
            f"{_number(stage['rows_per_second'])} |"
        )
    lines += [
        f"| **total** (generate + startup {_number(result['startup_seconds'])} s + run) | "
        f"**{_number(result['pipeline_seconds'])}** | {_number(result['peak_rss_mb'])} | | |",
        "",
        f"- Floor (`bench/floor.sql` over the landing files): {floor['seconds']:.2f} s, "
        f"{floor['rows']:,} rows, equal to the pipeline's mart: "
        f"{'yes' if floor['equal_to_pipeline'] else 'NO'}.",
        f"- dbt build / floor: {floor['ratio_dbt_build']}x; dbt run of the KPI mart's lineage "
        f"({floor['dbt_kpi_lineage_seconds']:.1f} s) / floor: {floor['ratio_dbt_kpi_lineage']}x; "
        f"(ingest + dbt build) / floor: {floor['ratio_ingest_and_dbt_build']}x.",
        f"- One-day refresh ({daily['day']}): {daily['run_seconds']:.1f} s = "
        f"{daily['share_of_full_run']:.1%} of the full run; its dbt build "
        f"{daily['dbt_seconds']:.1f} s = {daily['dbt_share_of_full_dbt']:.1%} of the full build.",
        f"- Dashboard queries ({len(dash['queries'])} page queries x {dash['repeats']}, "
        f"uncached): p50 {dash['p50_ms']:.0f} ms, p95 {dash['p95_ms']:.0f} ms "
        f"(slowest: {dash['slowest']})"
        # results from before the cached figures were measured have none
        + (
            f"; cached p95 {dash['cached_p95_ms']:.2f} ms; opening a newly published copy "
            f"{dash['open_copy_ms']:.0f} ms, once per copy."
            if "cached_p95_ms" in dash
            else "."
        ),
    ]
    scoring = result.get("scoring_service")
    if scoring:
        lines.append(
            f"- Scoring service, one ticket over HTTP ({scoring['requests']} requests, reasons "
            f"included): p50 {scoring['p50_ms']:.0f} ms, p95 {scoring['p95_ms']:.0f} ms "
            f"(target < {scoring['target_p95_ms']:.0f} ms); without reasons p95 "
            f"{scoring.get('without_reasons_p95_ms', float('nan')):.0f} ms; load average "
            f"{scoring.get('load_average_1m', float('nan')):.1f}"
            + (
                f"; the service's CPU per request p50 {scoring['cpu_p50_ms']:.0f} ms, p95 "
                f"{scoring['cpu_p95_ms']:.0f} ms (without reasons p95 "
                f"{scoring['without_reasons_cpu_p95_ms']:.0f} ms)."
                if scoring.get("cpu_p95_ms") is not None
                else "."
            )
        )
    if floor["differences"]:
        lines += ["", "Floor differences:", *[f"- {d}" for d in floor["differences"]]]
    if result.get("spark"):
        lines += ["", *spark_table(result["spark"])]
    return "\n".join(lines) + "\n"


def spark_table(spark: dict) -> list[str]:
    """The KPI mart's lineage on DuckDB and on Spark local[2], phase by phase."""
    duck, sp, ratio = spark["duckdb"], spark["spark"], spark["ratio"]

    def row(label: str, a, b, r=None) -> str:
        return f"| {label} | {_number(a)} | {_number(b)} | {'-' if r is None else f'{r}x'} |"

    loads = " / ".join(
        f"{run['load_average_1m'][0]:.1f} -> {run['load_average_1m'][1]:.1f}" for run in (duck, sp)
    )
    return [
        f"KPI mart's lineage ({duck['models']} models) on DuckDB and on Spark local[2] "
        f"(driver memory {spark['driver_memory']}; raw tables {spark['raw_parquet_mb']:,.0f} MB "
        f"as Parquet, the DuckDB warehouse {spark['warehouse_mb']:,.0f} MB):",
        "",
        "| phase | DuckDB | Spark | Spark / DuckDB |",
        "|---|---:|---:|---:|",
        row("raw export to Parquet s", None, spark["raw_export_seconds"]),
        row(
            "startup s (dbt; Spark: + session start)",
            duck["startup_seconds"],
            sp["startup_seconds"],
        ),
        row("seeds s", None, sp["seed_seconds"]),
        row("models s", duck["model_seconds"], sp["model_seconds"], ratio["models"]),
        row("dbt wall s", duck["seconds"], sp["seconds"], ratio["wall"]),
        row(
            "dbt wall + export s",
            duck["seconds"],
            sp["seconds"] + spark["raw_export_seconds"],
            ratio["with_export"],
        ),
        row(
            "peak RSS MB (dbt + engine)", duck["peak_rss_mb"], sp["peak_rss_mb"], ratio["peak_rss"]
        ),
        "",
        f"- Spark's KPI mart equal to DuckDB's: {'yes' if spark['equal_to_duckdb'] else 'NO'}; "
        f"load average (1 min, before -> after) DuckDB / Spark: {loads}.",
        *[f"- difference: {d}" for d in spark["differences"]],
    ]


def spark_summary_table(scales: list[dict]) -> list[str]:
    """One line per scale that ran the Spark stage: the ratios at a glance."""
    lines = [
        "| scale | tickets | raw Parquet MB | DuckDB lineage s | Spark lineage s "
        "| models Spark / DuckDB | wall Spark / DuckDB | Spark peak RSS MB | same mart |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in scales:
        s = r["spark"]
        lines.append(
            f"| {r['scale']} | {r['tickets']:,} | {s['raw_parquet_mb']:,.0f} | "
            f"{s['duckdb']['seconds']:.1f} | {s['spark']['seconds']:.1f} | "
            f"{s['ratio']['models']}x | {s['ratio']['wall']}x | {_number(s['spark']['peak_rss_mb'])} | "
            f"{'yes' if s['equal_to_duckdb'] else 'NO'} |"
        )
    return lines


def landing_to_serving(result: dict) -> float:
    """Seconds from the landing files to the published serving copy: the run and Dagster's
    start, without generating the demo extracts."""
    return result["startup_seconds"] + result["full_run_seconds"]


def where_the_time_goes(result: dict) -> list[str]:
    """The largest scale's run, stage by stage from the costliest, as shares of the run."""
    run = landing_to_serving(result)
    stages = sorted(
        (s for s in result["stages"] if s["stage"] != "generate"), key=lambda s: -s["seconds"]
    )
    parts = [f"{s['stage']} {s['seconds']:,.0f} s ({s['seconds'] / run:.0%})" for s in stages]
    daily = sorted(result["one_day_refresh"]["stages"].items(), key=lambda kv: -kv[1])
    return [
        f"Where the time goes now ({result['scale']}, landing to serving {run:,.0f} s): "
        + ", ".join(parts)
        + f"; Dagster's start {result['startup_seconds']:,.1f} s. The one-day refresh "
        f"({result['one_day_refresh']['run_seconds']:,.0f} s): "
        + ", ".join(f"{name} {seconds:,.1f} s" for name, seconds in daily)
        + ".",
    ]


def markdown(results: dict) -> str:
    machine = results["machine"]
    header = [
        f"# supportops benchmark, {results['date']}",
        "",
        f"{machine['cpus']} CPUs, {machine['memory_gib']} GiB RAM, Python {machine['python']}, "
        f"DuckDB {machine['duckdb']}, quality engine `{machine['quality_engine']}`, "
        f"DuckDB memory_limit {machine['duckdb_memory_limit']}.",
        "",
        "| scale | tickets | landing rows | pipeline s | landing to serving s | dbt build s | "
        "floor s | dbt / floor | (ingest + dbt) / floor | one-day refresh | "
        "dashboard p95 ms | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["scales"]:
        dbt = next(s["seconds"] for s in r["stages"] if s["stage"] == "dbt build")
        daily = r["one_day_refresh"]
        header.append(
            f"| {r['scale']} | {r['tickets']:,} | {r['landing_rows']:,} | "
            f"{r['pipeline_seconds']:,.0f} | {landing_to_serving(r):,.0f} | {dbt:,.1f} | "
            f"{r['floor']['seconds']:.2f} | {r['floor']['ratio_dbt_build']}x | "
            f"{r['floor']['ratio_ingest_and_dbt_build']}x | "
            f"{daily['share_of_full_run']:.1%} ({daily['run_seconds']:,.0f} s) | "
            f"{r['dashboards']['p95_ms']:.0f} | {r['peak_rss_mb']:,} |"
        )
    header += [
        "",
        "Pipeline: generating the demo extracts, then landing files to the published serving",
        "copy (Dagster's start and the run, training included), which is the next column.",
        "",
        *where_the_time_goes(results["scales"][-1]),
    ]
    # Notes a person added to the json afterwards (a measurement lost, and why).
    if results.get("notes"):
        header += ["", *(f"Note: {n}" for n in results["notes"])]
    with_spark = [r for r in results["scales"] if r.get("spark")]
    if with_spark:
        spark = results["machine"]
        header += [
            "",
            f"KPI mart's lineage on Spark local[2] (pyspark {spark.get('pyspark')}, "
            f"dbt-spark {spark.get('dbt_spark')}, {spark.get('java')}) beside DuckDB:",
            "",
            *spark_summary_table(with_spark),
        ]
    return "\n".join(header) + "\n\n" + "\n".join(scale_section(r) for r in results["scales"])
