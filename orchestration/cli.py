"""`supportops`: the command line for people (rich tables) and scripts (`--json`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, get_args

import typer
from rich.console import Console
from rich.table import Table

from extracts.catalog import table_exists
from extracts.contracts import ENTITIES, FAULT_KINDS, LANDING_SOURCES
from extracts.sources import KINDS as SOURCE_KINDS

app = typer.Typer(
    help="supportops: support-analytics warehouse and feature pipeline "
    "(Dagster + dbt + DuckDB). Start with `make demo`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
# Piped output (make, CI logs) gets a width that fits the tables instead of rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)


def _parse_kinds(value: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown:
        raise typer.BadParameter(f"unknown fault kinds {unknown}; choose from {list(FAULT_KINDS)}")
    return kinds


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder that receives landing/ and truth/.")] = Path(
        "data"
    ),
    scale: Annotated[
        str, typer.Option(help="Preset: tiny, small, demo or large. Options below override it.")
    ] = "demo",
    accounts: Annotated[int | None, typer.Option(help="Number of customer accounts.")] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    days: Annotated[int | None, typer.Option(help="Number of days to generate.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; same seed, same bytes.")] = None,
    fault_rate: Annotated[
        float | None, typer.Option(help="Share of rows given a fault (0 for clean data).")
    ] = None,
    fault_kinds: Annotated[
        str, typer.Option(help=f"Comma-separated fault kinds: {', '.join(FAULT_KINDS)}.")
    ] = ",".join(FAULT_KINDS),
    outreach_effect: Annotated[
        float | None,
        typer.Option(
            help="Planted effect of outreach (0-1): a simulated CSM team contacts at-risk "
            "accounts each quarter (minus the holdout) and their churn hazards fall by this "
            "share; the demo preset has 0.5, the others 0 (docs/actions.md)."
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="native (default), or a connector shape (comma-separated for several: "
            f"{', '.join(SOURCE_KINDS)}): that source as its connector lands it, in "
            "OUT/connectors/<kind>/ instead of OUT/landing/<source>/ (load it with "
            "`supportops sources load`).",
        ),
    ] = "native",
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="After generating, print the realism report: the world's distributions "
            "beside published reference bands and their sources (docs/realism.md).",
        ),
    ] = False,
) -> None:
    """Write synthetic helpdesk, CRM and telemetry extracts, one folder per day.

    Ground truth (churn and escalation probabilities, labels, world events such as
    incidents and holidays, the fault manifest) goes to OUT/truth/, which the pipeline
    never reads.
    """
    from dataclasses import replace

    from extracts.generator import SCALES
    from extracts.generator import generate as run_generator

    if scale not in SCALES:
        raise typer.BadParameter(f"unknown scale {scale!r}; choose from {sorted(SCALES)}")
    kinds = [] if format == "native" else [k.strip() for k in format.split(",")]
    unknown = sorted(set(kinds) - set(SOURCE_KINDS))
    if unknown:
        raise typer.BadParameter(f"--format: unknown {unknown}; native or {list(SOURCE_KINDS)}")
    overrides = {
        "accounts": accounts,
        "start": dt.date.fromisoformat(start) if start else None,
        "days": days,
        "seed": seed,
        "fault_rate": fault_rate,
        "outreach_effect": outreach_effect,
    }
    config = replace(
        SCALES[scale],
        fault_kinds=_parse_kinds(fault_kinds),
        **{k: v for k, v in overrides.items() if v is not None},
    )
    if report and kinds:
        raise typer.BadParameter("--report reads the native landing files; drop --format")
    if kinds and config.fault_rate:
        raise typer.BadParameter(
            "faults are injected into native files only; use --fault-rate 0 with a connector "
            "--format"
        )
    with console.status("generating extracts") as status:
        summary = run_generator(
            config, out, progress=lambda i, n: status.update(f"generating day {i}/{n}")
        )
    tickets = summary.rows.get("helpdesk_tickets", 0)
    for kind in kinds:
        import importlib
        import shutil

        from extracts.sources import adapter

        source = adapter(kind).LANDING_SOURCE
        connector = out / "connectors" / kind
        shutil.rmtree(connector, ignore_errors=True)
        connector_rows = importlib.import_module(f"extracts.generator.{kind}").write(
            out / "landing", connector
        )
        shutil.rmtree(out / "landing" / source)
        summary.rows = {k: v for k, v in summary.rows.items() if not k.startswith(f"{source}_")}
        summary.rows.update({f"{kind}.{k}": v for k, v in connector_rows.items()})
    table = Table(title=f"Generated {summary.days} days into {out}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(
        f"{summary.seconds:.1f} s, {tickets / max(summary.seconds, 1e-9) * 60:,.0f} tickets/min; "
        f"faults injected: {summary.faults or 'none'}"
    )
    if report:
        _print_realism(out)


def _print_realism(out: Path) -> None:
    from extracts.generator.realism import measure

    table = Table(title="Realism: the generated world beside reference bands (docs/realism.md)")
    for column in ("figure", "value", "band", "in band", "source"):
        table.add_column(column, justify="right" if column in ("value", "band") else "left")
    for f in measure(out):
        band = "" if f.low is None and f.high is None else f"{f.format(f.low)}..{f.format(f.high)}"
        within = {True: "yes", False: "NO", None: ""}[f.within]
        table.add_row(f.name, f.format(f.value), band, within, f.source)
    console.print(table)


def _landed_range(landing_dir: Path) -> tuple[str, str]:
    from orchestration.defs.ingestion import landed_days

    days = sorted(set().union(*(landed_days(landing_dir, e) for e in ENTITIES)))
    if not days:
        raise typer.BadParameter(f"no landing files under {landing_dir}; run `make generate`")
    return days[0], days[-1]


@app.command()
def materialize(
    first_day: Annotated[str | None, typer.Option("--from", help="First landing day.")] = None,
    last_day: Annotated[str | None, typer.Option("--to", help="Last landing day.")] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Rebuild every dbt model from scratch.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for a refresh already running, not refuse.")
    ] = False,
    train: Annotated[
        bool,
        typer.Option(
            "--train",
            help="Retrain both models too. Without it a model is trained only while it has "
            "no champion; retraining is the weekly `train_models` job's (or the drift sensor's).",
        ),
    ] = False,
) -> None:
    """Ingest the landed days, gate them, build the warehouse and publish serving: one run.

    The Dagster job `refresh` over the partition range (visible in the UI like any run):
    a failed critical quality gate stops dbt and the publish, and the previous serving
    database stays as it was. A run left behind by a killed process is marked failed first;
    a live one is named, and this one refuses to start (or waits, with --wait). Models with a
    champion score and are monitored, not retrained, unless --train.
    """
    from config.settings import get_settings
    from extracts.sources.connector import clear_deletions, sources_with_deletions

    settings = get_settings()
    _pii_key_or_exit(settings)

    landed_first, landed_last = _landed_range(settings.landing_dir)
    first, last = first_day or landed_first, last_day or landed_last
    with_deletions = sources_with_deletions(settings.landing_dir, LANDING_SOURCES)
    if with_deletions and not full_refresh:
        console.print(
            f"rows were deleted at the source ({', '.join(with_deletions)}) since the last "
            "build: a full rebuild drops them from the marts",
            highlight=False,
        )
        full_refresh = True
    import socket

    from orchestration.definitions import defs
    from orchestration.defs.ml import TRAINING, training_to_skip
    from orchestration.run_guard import HOST_TAG
    from orchestration.runs import FULL_REFRESH

    instance = _dagster_instance(settings)
    _claim_the_writer(instance, wait)
    skipped = set() if train else training_to_skip(settings.warehouse.resolve().parent)
    training = ", training" if len(skipped) < len(TRAINING) else ""
    console.print(
        f"[bold]refresh[/]: landing days {first}..{last}, gates, dbt build{training}, publish"
    )
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    if full_refresh:
        run_config |= FULL_REFRESH
    job = defs.resolve_job_def("refresh")
    selected = [key for key in job.asset_layer.executable_asset_keys if key not in skipped]
    result = job.execute_in_process(
        asset_selection=selected if skipped else None,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
            # whose process id the run records: the next CLI run may judge it by its pid
            HOST_TAG: socket.gethostname(),
        },
        run_config=run_config,
        raise_on_error=False,
    )
    failed = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.asset_check_evaluation_data.passed
    ]
    for check in failed:
        severity = check.severity.value
        console.print(
            f"[{'red' if severity == 'ERROR' else 'yellow'}]{severity}[/] "
            f"{check.asset_key.to_user_string()} {check.check_name}: {check.description or ''}"
        )
    if not result.success:
        fatal = fatal_failure(result, settings.warehouse)
        if fatal:
            console.print(f"[red]refresh failed[/]\n{fatal}", highlight=False)
            raise typer.Exit(1)
        console.print(
            "[red]refresh failed[/]; the serving database was not replaced.", highlight=False
        )
        for step, reason in failed_steps(result):
            console.print(
                f"  failed step [bold]{step}[/]: {reason}", highlight=False, soft_wrap=True
            )
        console.print(
            "Details: [bold]supportops quality[/] and the run in the Dagster UI.", highlight=False
        )
        raise typer.Exit(1)
    if full_refresh and not (first_day or last_day):
        clear_deletions(settings.landing_dir, with_deletions)


@app.command("rotate-key")
def rotate_key(
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for a refresh already running, not refuse.")
    ] = False,
) -> None:
    """Move the warehouse to the key now in SUPPORTOPS_PII_KEY: every hash is made again.

    A hash cannot be re-keyed, so the raw and quarantine tables are emptied, the dbt models
    dropped and the new key's fingerprint recorded (one transaction), then every landed day
    is ingested again under the new key with a full rebuild and a new serving copy. If that
    refresh fails, fix the cause and run `supportops materialize --full-refresh`."""
    import duckdb

    from config.settings import DEMO_PII_KEY, get_settings
    from extracts.actions import forget_person_hashes
    from extracts.pii_key import clear_for_new_key, key_fingerprint

    settings = get_settings()
    if settings.pii_key in (b"", DEMO_PII_KEY.encode()):
        console.print("[red]rotate-key re-hashes under SUPPORTOPS_PII_KEY: set the new key[/]")
        raise typer.Exit(2)
    key = settings.pii_key
    if not settings.warehouse.exists():
        console.print(f"no warehouse at {settings.warehouse}: nothing to rotate")
        return
    _landed_range(settings.landing_dir)  # refuse before clearing when nothing can reload it
    try:
        with duckdb.connect(str(settings.warehouse)) as con:
            replaced = clear_for_new_key(con, key)
    except duckdb.IOException as exc:
        console.print(f"[red]the warehouse is held by another process[/]: {exc}")
        raise typer.Exit(1) from exc
    if replaced is None:
        console.print(f"the warehouse is already under this key ({key_fingerprint(key)})")
        return
    blanked = forget_person_hashes(settings.actions_store)
    console.print(
        f"key {replaced or 'unrecorded'} -> {key_fingerprint(key)}: raw and quarantine "
        f"emptied, dbt models dropped, {blanked} reviewer hash(es) in the actions store "
        "blanked (it keeps no email to hash again); re-ingesting every landed day under the "
        "new key",
        highlight=False,
    )
    materialize(first_day=None, last_day=None, full_refresh=True, wait=wait)


@app.command()
def erase(
    requester: Annotated[
        str | None, typer.Option("--requester", help="The person's email (as they gave it).")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="The account id.")] = None,
    reference: Annotated[
        str | None,
        typer.Option(help="The request's reference for the audit table (no personal data)."),
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh/--no-refresh",
            help="Rebuild the warehouse afterwards (aggregates stop counting the rows).",
        ),
    ] = True,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for a refresh already running, not refuse.")
    ] = False,
) -> None:
    """Erase one person (by email) or one account from landing, raw, quarantine, marts,
    features, scores, serving and exports; recorded in meta.erasures (no personal data).

    Landing files are rewritten without the rows, so no later refresh brings them back.
    Then a full refresh rebuilds the aggregates and publishes, and the warehouse file is
    compacted so no deleted value stays readable in its free blocks."""
    import duckdb

    from config.settings import get_settings
    from extracts.erasure import compact
    from extracts.erasure import erase as erase_subject

    if (requester is None) == (account is None):
        raise typer.BadParameter("give exactly one of --requester EMAIL or --account ID")
    settings = get_settings()
    key = _pii_key_or_exit(settings)
    if not settings.warehouse.exists():
        console.print(f"[red]no warehouse at {settings.warehouse}[/]: nothing to erase from")
        raise typer.Exit(1)
    from orchestration.defs.serving import SERVING_SCHEMAS
    from serving.publish import publish_serving

    _claim_the_writer(_dagster_instance(settings), wait)
    kind, value = ("requester", requester) if requester else ("account", account)
    with duckdb.connect(str(settings.warehouse)) as con:
        result = erase_subject(
            con, settings.landing_dir, kind, value, key,
            exports_dir=settings.data_dir / "exports", actions_store=settings.actions_store,
            reference=reference,
        )  # fmt: skip
        if settings.serving.exists():
            # A new file: an updated copy would keep the erased rows' bytes until DuckDB
            # dropped their row groups.
            publish_serving(con, settings.serving, SERVING_SCHEMAS, full=True)
    console.print(
        f"erasure {result.erasure_id}: {result.people} person id(s), {result.tickets} ticket(s); "
        f"{result.total_rows:,} rows removed, {len(result.landing_files)} landing file(s) "
        f"rewritten, exports rewritten: {', '.join(result.exports) or 'none'}",
        highlight=False,
    )
    for table, rows in sorted(result.rows_removed.items()):
        console.print(f"  {table}: {rows:,}", highlight=False)
    try:
        if refresh and result.total_rows:
            materialize(first_day=None, last_day=None, full_refresh=True, wait=wait)
    finally:
        compact(settings.warehouse)
    if not refresh:
        console.print(
            "no refresh: aggregates (KPI mart, account features) still count the erased rows "
            "until `supportops materialize --full-refresh`",
            highlight=False,
        )


def _pii_key_or_exit(settings) -> bytes:
    """The PII key, checked against the warehouse's fingerprint before anything runs: no key
    (outside demo mode) or another key than the warehouse's ends the command, saying why."""
    import duckdb

    from config.settings import MissingSecretError
    from extracts.pii_key import key_mismatch, warehouse_fingerprint

    try:
        key = settings.require_pii_key()
    except MissingSecretError as exc:
        console.print(f"[red]{exc}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    if settings.warehouse.exists():
        try:
            with duckdb.connect(str(settings.warehouse), read_only=True) as con:
                mismatch = key_mismatch(warehouse_fingerprint(con), key)
        except duckdb.Error:
            mismatch = None  # held by a run: ingestion checks the key itself
        if mismatch:
            console.print(f"[red]{mismatch}[/]", highlight=False, soft_wrap=True)
            raise typer.Exit(2)
    return key


def _dagster_instance(settings):
    """The Dagster instance the settings choose (`Settings.dagster_home`: the project root's
    SQLite instance, or deploy/'s on Postgres); DAGSTER_HOME is set for the whole process so
    anything Dagster starts from it finds the same instance."""
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    import dagster as dg

    from orchestration.run_history import write_history_lightly

    write_history_lightly()
    return dg.DagsterInstance.get()


def _claim_the_writer(instance, wait: bool) -> None:
    """Release runs whose process died; refuse (or wait) while another refresh is alive."""
    import time

    from orchestration.run_guard import live_runs, release_dead_runs

    for run in release_dead_runs(instance):
        console.print(
            f"[yellow]run {run.run_id} ({run.job_name}, process {run.pid}) was killed before it "
            "finished[/]: marked failed and its warehouse slot freed; this run redoes its work.",
            soft_wrap=True,
        )
    running = live_runs(instance)
    if not running:
        return
    names = ", ".join(f"{r.run_id} ({r.job_name}, process {r.pid})" for r in running)
    if not wait:
        console.print(
            f"[red]another run is writing the warehouse[/]: {names}. DuckDB allows one "
            "writer: wait for it (see `make dev`), or run again with --wait.",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(f"waiting for {names} to finish ...")
    while live_runs(instance):
        time.sleep(5)
        release_dead_runs(instance)


def failed_steps(result) -> list[tuple[str, str]]:
    """(step, reason) of every step that failed: the project's own failures name the file and
    the problem; any other error only its type and where it was raised, since an exception's
    text (a database error, say) may quote a row."""
    steps = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        failure = event.step_failure_data
        user = failure.user_failure_data
        if user is not None:
            meta = {k: getattr(v, "value", v) for k, v in user.metadata.items()}
            reason = (
                f"{meta['file']}: {meta['problem']}"
                if "file" in meta and "problem" in meta
                else (user.description or "failed")
            )
        elif failure.error is not None:
            reason = f"{failure.error.cls_name or 'error'} (traceback in the Dagster UI)"
        else:
            reason = "failed"
        steps.append((event.step_key, reason))
    return steps


def fatal_failure(result, warehouse: Path) -> str | None:
    """The one message for a run a DuckDB FATAL error stopped, or None for any other failure.

    The dbt step words it itself (its failure's description); a step in this process that
    hit one carries DuckDB's own exception."""
    from orchestration.fatal import fatal_message, is_fatal

    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        failure = event.step_failure_data
        user = failure.user_failure_data
        if user is not None and "duckdb_fatal" in user.metadata:
            return user.description
        if failure.error is not None and is_fatal(failure.error.message):
            return fatal_message(f"step {event.step_key}", failure.error.message, warehouse)
    return None


@app.command()
def summary(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """What the published warehouse holds (rows loaded, quarantined, late) and its KPIs.

    Reads only the serving database, never the live warehouse a pipeline run may be writing.
    """
    from serving.kpis import data_as_of, kpi_table
    from serving.publish import RAW_SUMMARY_TABLE

    with _open_serving() as con:
        frame = con.execute(f"SELECT * FROM {RAW_SUMMARY_TABLE} ORDER BY table_name").df()
        published_at, as_of = data_as_of(con)
        if as_json:
            print(frame.to_json(orient="records", date_format="iso", indent=2))
            return
        table = Table(title="raw.* as published")
        for column in frame.columns:
            table.add_column(column, justify="left" if frame[column].dtype == object else "right")
        for row in frame.to_dict("records"):
            table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row.values()))
        console.print(table)
        _print_kpi_report(kpi_table(con), published_at, as_of, overall=True)
        print_kpis(kpi_table(con, by="path"), "By handling path")
    console.print(
        "Dagster UI: [bold]make dev[/] then open http://127.0.0.1:3000 "
        "(assets, lineage, run history). KPIs any time: [bold]./supportops kpis --by channel[/]."
    )


@app.command("export-raw")
def export_raw(
    out: Annotated[
        Path | None,
        typer.Option(help="Folder to write (default SUPPORTOPS_RAW_PARQUET, data/raw_parquet)."),
    ] = None,
) -> None:
    """Write the warehouse's raw tables as Parquet per landing day, for the spark dbt target.

    Run it after a refresh (the warehouse must not be held by a running pipeline); then
    `SUPPORTOPS_DBT_TARGET=spark dbt build` reads these folders (README, "Running on Spark").
    """
    from config.settings import get_settings
    from extracts.raw_export import export_raw_from

    settings = get_settings()
    folder = out or settings.raw_parquet
    written = export_raw_from(settings.warehouse, folder)
    for table, rows in written.items():
        console.print(f"{table}: {rows:,} rows")
    console.print(f"raw tables written to {folder}")


def _open_serving():
    import duckdb

    from config.settings import get_settings

    settings = get_settings()
    if not settings.serving.exists():
        console.print(f"[red]No serving database at {settings.serving}[/]: run `make demo` first.")
        raise typer.Exit(1)
    return duckdb.connect(str(settings.serving), read_only=True)


def print_kpis(rows: list, title: str) -> None:
    """One line per registered KPI (serving.kpi_registry), one column per group, and its
    target; the targets' sources and populations are listed below the table."""
    from serving import kpi_registry as registry

    table = Table(title=title)
    table.add_column("KPI", justify="left", no_wrap=True)
    for r in rows:
        table.add_column(r.group, justify="right", no_wrap=True)
    table.add_column("target", justify="right", no_wrap=True)
    table.add_row("tickets", *(f"{r.tickets:,}" for r in rows), "")
    for k in registry.KPIS:
        table.add_row(
            k.label,
            *(registry.format_value(k.unit, r[k.name]) for r in rows),
            registry.format_target(k),
        )
    console.print(table)


def print_targets() -> None:
    from serving import kpi_registry as registry

    for k in registry.KPIS:
        if k.target is not None:
            console.print(
                f"  {k.label} {registry.format_target(k)}: {k.target.source}; "
                f"population: {k.target.population.name}.",
                highlight=False,
            )


@app.command()
def kpis(
    first_day: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    last_day: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    by: Annotated[
        str | None,
        typer.Option(help="Break down by channel, tier, category, segment or path."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every KPI of the registry: containment, CSAT delta (automated vs human), AHT, cost,
    SLA attainment (first response, resolution, all met), FCR, escalation and reopen rates.

    Read from the published serving database; rates are re-aggregated from additive sums.
    """
    from serving.kpis import Dimension, data_as_of, kpi_table

    if by is not None and by not in get_args(Dimension):
        raise typer.BadParameter(f"--by must be one of {', '.join(get_args(Dimension))}")
    with _open_serving() as con:
        rows = kpi_table(
            con,
            dt.date.fromisoformat(first_day) if first_day else None,
            dt.date.fromisoformat(last_day) if last_day else None,
            by,  # type: ignore[arg-type]
        )
        published_at, as_of = data_as_of(con)
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, default=str))
        return
    _print_kpi_report(rows, published_at, as_of, overall=by is None)


def _print_kpi_report(rows: list, published_at: dt.datetime, as_of: dt.date, overall: bool) -> None:
    print_kpis(
        rows, f"Support KPIs (data as of {as_of}, published {published_at:%Y-%m-%d %H:%M} UTC)"
    )
    total = rows[0] if rows and overall else None
    if total and total.interval("csat_automated") and total.interval("csat_human"):
        low_a, high_a = total.interval("csat_automated")
        low_h, high_h = total.interval("csat_human")
        console.print(
            f"CSAT automated {total['csat_automated']:.1%} (95% CI {low_a:.1%}-{high_a:.1%}, "
            f"n={total.denominator('csat_automated'):,}) vs human {total['csat_human']:.1%} "
            f"(95% CI {low_h:.1%}-{high_h:.1%}, n={total.denominator('csat_human'):,}): "
            f"delta {total['csat_delta_pp']:+.1f} pp"
        )
    console.print("Targets (shown only beside a figure of the population their source describes):")
    print_targets()


def _open_quality_results():
    """The warehouse when no run holds it (newest results, blocked runs included), else the
    serving copy (results as of the last successful publish). Returns (connection, source)."""
    import duckdb

    from config.settings import get_settings

    try:
        return duckdb.connect(str(get_settings().warehouse), read_only=True), "warehouse"
    except duckdb.Error:
        return _open_serving(), "serving copy (a run holds the warehouse)"


@app.command()
def quality(
    as_json: Annotated[bool, typer.Option("--json", help="Print every outcome as JSON.")] = False,
) -> None:
    """The latest quality gate results: one line per suite and gate, then each failure."""
    from quality.results import latest_results

    con, source = _open_quality_results()
    with con:
        rows = latest_results(con)
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console.print("No quality results yet: run `make demo` (or `supportops materialize`).")
        raise typer.Exit(1)
    gates: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["suite"].startswith("ingestion."):  # their own table below
            continue
        gates.setdefault((row["suite"], row["check_name"]), []).append(row)
    table = Table(title=f"Quality gates, latest run per suite ({source})")
    for column in (
        "suite",
        "gate",
        "severity",
        "status",
        "checks",
        "failed",
        "window",
        "checked at",
    ):
        table.add_column(column, justify="right" if column in ("checks", "failed") else "left")
    for (suite, gate), outcomes in gates.items():
        bad = [o for o in outcomes if not o["success"]]
        severity = outcomes[0]["severity"]
        status = (
            "[green]pass[/]"
            if not bad
            else ("[red]FAIL[/]" if severity == "critical" else "[yellow]warn[/]")
        )
        first = outcomes[0]
        window = f"{first['partition_start'] or 'all'}..{first['partition_end'] or ''}"
        table.add_row(
            suite, gate, severity, status, str(len(outcomes)), str(len(bad)), window,
            f"{first['checked_at']:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    console.print(table)
    _print_ingestion(rows)
    failures = [r for r in rows if not r["success"]]
    if failures:
        detail = Table(title="Failed checks")
        for column in ("suite", "check", "severity", "unexpected", "observed"):
            detail.add_column(column, overflow="fold")
        for r in failures:
            detail.add_row(
                r["suite"], r["expectation"], r["severity"], str(r["unexpected_count"] or ""),
                str(r["observed_value"])[:300],
            )  # fmt: skip
        console.print(detail)
    from config.settings import get_settings

    docs = get_settings().warehouse.parent / "quality" / "index.html"
    console.print(f"{len(rows)} checks, {len(failures)} failed. Data docs: {docs}")


def _print_ingestion(rows: list[dict]) -> None:
    """The latest load of each raw table: rows read and quarantined by kind, or the file it
    refused and why."""
    from quality.results import INGESTION_SUITE

    loads = [r for r in rows if r["suite"].startswith(f"{INGESTION_SUITE}.")]
    if not loads:
        return
    table = Table(title="Ingestion, latest load per table")
    for column in ("table", "window", "status", "read", "quarantined", "detail"):
        table.add_column(column, justify="right" if column in ("read", "quarantined") else "left")
    for r in loads:
        observed = r["observed_value"]
        observed = json.loads(observed) if isinstance(observed, str) else observed or {}
        refused = not r["success"]
        detail = (
            f"{observed.get('file')}: {observed.get('problem')}"
            if refused
            else ", ".join(f"{k} {v}" for k, v in (observed.get("by_kind") or {}).items())
        )
        table.add_row(
            r["suite"].removeprefix(f"{INGESTION_SUITE}."),
            f"{r['partition_start']}..{r['partition_end']}",
            "[red]file refused[/]" if refused else "[green]loaded[/]",
            "" if refused else f"{r['element_count']:,}",
            "" if refused else f"{r['unexpected_count']:,}",
            detail,
        )
    console.print(table)


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the model cards as JSON.")] = False,
) -> None:
    """Every trained model version: champion, challengers and retired, with test metrics."""
    from config.settings import get_settings
    from ml.registry import list_versions

    versions = list_versions(get_settings().warehouse.parent / "models")
    if as_json:
        print(json.dumps([v.card | {"status": v.status} for v in versions], indent=2, default=str))
        return
    if not versions:
        console.print("No models trained yet: run `make demo` (or `supportops materialize`).")
        raise typer.Exit(1)
    table = Table(title="Model registry: ROC AUC on each version's test rows")
    for column in ("task", "version", "status", "family", "test window", "model", "logistic",
                   "rule", "ceiling", "Brier", "base-rate Brier", "top-decile lift",
                   "trained at"):  # fmt: skip
        table.add_column(
            column, justify="left" if column in ("task", "version", "status", "family") else "right"
        )
    for v in versions:
        m = v.card["metrics"]
        test = v.card["data_window"].get("test", {})
        rule = next((name for name in m if name not in ("model", "logistic", "ceiling")), None)
        auc = {name: f"{m[name]['roc_auc']:.3f}" if name in m else "-" for name in m}
        table.add_row(
            v.task, v.version, v.status,
            str(v.card["parameters"].get("champion", {}).get("family", "-")),
            f"{test.get('start')}..{test.get('end')}", auc["model"], auc.get("logistic", "-"),
            f"{auc[rule]} ({rule})" if rule else "-", auc.get("ceiling", "-"),
            f"{m['model']['brier']:.4f}", f"{m['model'].get('base_rate_brier', float('nan')):.4f}",
            f"{m['model']['top_decile_lift']:.2f}", str(v.card["trained_at"])[:16],
        )  # fmt: skip
    console.print(table)


outreach_app = typer.Typer(
    help="The proactive outreach list (`supportops outreach`), and recording contacts.",
    invoke_without_command=True,
)
app.add_typer(outreach_app, name="outreach")


@outreach_app.callback()
def outreach(
    ctx: typer.Context,
    top: Annotated[int, typer.Option(help="How many accounts.")] = 20,
    min_probability: Annotated[
        float, typer.Option(help="Only accounts at least this likely to churn (0-1).")
    ] = 0.0,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """The proactive outreach list: at-risk accounts by revenue at risk, with reasons."""
    if ctx.invoked_subcommand is not None:
        return
    if output_format not in ("table", "csv", "json"):
        raise typer.BadParameter("--format must be table, csv or json")
    with _open_serving() as con:
        if not table_exists(con, "ml.outreach_list"):
            console.print("No outreach list published yet: run `make demo`.")
            raise typer.Exit(1)
        frame = con.execute(
            "SELECT * FROM ml.outreach_list WHERE churn_probability >= ? ORDER BY rank LIMIT ?",
            [min_probability, top],
        ).df()
    if output_format == "csv":
        print(frame.to_csv(index=False), end="")
        return
    if output_format == "json":
        print(frame.to_json(orient="records", date_format="iso", indent=2))
        return
    table = Table(
        title=f"Outreach list: top {len(frame)} accounts by revenue at risk",
        caption=f"expected churns among them {frame['churn_probability'].sum():.1f}, "
        f"revenue at risk ${frame['revenue_at_risk'].sum():,.0f}",
    )
    for column in ("rank", "account", "owner", "segment", "ARR", "churn p", "at risk",
                   "health", "reasons"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for r in frame.to_dict("records"):
        reasons = "; ".join(x for x in (r["reason_1"], r["reason_2"], r["reason_3"]) if x)
        table.add_row(
            str(r["rank"]), f"{r['account_name']} ({r['account_id']})", str(r["owner"]),
            str(r["segment"]), f"${r['arr']:,.0f}", f"{r['churn_probability']:.1%}",
            f"${r['revenue_at_risk']:,.0f}", str(r["health_band"]), reasons,
        )  # fmt: skip
    console.print(table)


def _reviewer(email: str | None, role: str):
    """Who records: a role, and the HMAC of their email when given (never the email)."""
    from config.settings import get_settings
    from extracts.actions import Reviewer, person_hash

    return Reviewer(role, person_hash(email, _pii_key_or_exit(get_settings())) if email else None)


def _serving_lookup(lookup, *args):
    """A lookup in the serving copy (ml/feedback.py), None when nothing is published."""
    from config.settings import get_settings

    if not get_settings().serving.exists():
        return None
    with _open_serving() as con:
        return lookup(con, *args)


@outreach_app.command("record")
def outreach_record(
    account_id: Annotated[str, typer.Argument(help="CRM account id, e.g. AC000123.")],
    outcome: Annotated[str, typer.Option(help="reached, no_answer, declined, renewed or churn_confirmed.")],
    reviewer: Annotated[str | None, typer.Option(help="Your email (stored only as its hash).")] = None,
) -> None:  # fmt: skip
    """Record that you contacted an account, with the outcome, in the actions store; the
    warehouse has it after the next refresh. A held-out account is refused."""
    from config.settings import get_settings
    from extracts.actions import ActionError, record_contact
    from ml.feedback import listed_on

    settings = get_settings()
    try:
        record = record_contact(
            settings.actions_store, account_id, outcome, _reviewer(reviewer, "cli"),
            listed_on=_serving_lookup(listed_on, account_id),
            holdout_share=settings.outreach_holdout,
        )  # fmt: skip
    except ActionError as exc:
        console.print(f"[red]Not recorded[/]: {exc}")
        raise typer.Exit(1) from None
    console.print(f"Recorded outreach {record}: {account_id} {outcome} ({settings.actions_store}).")


@app.command()
def review(
    ticket_id: Annotated[int | None, typer.Argument(help="The flagged ticket (none: list them).")] = None,
    decision: Annotated[str | None, typer.Argument(help="accept (the flag stands) or override.")] = None,
    reason: Annotated[str, typer.Option(help="An override's reason: not_urgent, already_handled, wrong_category, customer_context or other.")] = "",
    reviewer: Annotated[str | None, typer.Option(help="Your email (stored only as its hash).")] = None,
    action: Annotated[list[str] | None, typer.Option(help="List the open tickets of this policy action (repeatable; default: the flags senior_review and human_approval).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:  # fmt: skip
    """Without a ticket: list the open tickets the triage policy flags (`--action` for
    others). With one: accept or override it, in the actions store (with the score and model
    version the serving copy has); the warehouse has it after the next refresh."""
    from config.settings import get_settings
    from extracts.actions import ActionError, record_review
    from ml.feedback import flagged_tickets, ticket_score
    from ml.triage import ACTIONS, FLAGS

    if ticket_id is None:
        unknown = sorted(set(action or ()) - set(ACTIONS))
        if unknown:
            console.print(f"[red]--action[/]: {unknown} not among {', '.join(ACTIONS)}")
            raise typer.Exit(2)
        chosen = tuple(action or FLAGS)
        with _open_serving() as con:
            if not table_exists(con, "ml.ticket_scores"):
                console.print("No ticket scores in the serving copy: no escalation model yet.")
                raise typer.Exit(1)
            listed = flagged_tickets(con, chosen)
        if as_json:
            print(listed.to_json(orient="records", date_format="iso"))
            return
        title = f"{len(listed):,} open tickets the triage policy gives {' or '.join(chosen)}"
        console.print(_frame_table(title, listed, ("escalation_probability",)))
        return
    if decision is None:
        console.print("[red]Not recorded[/]: give the decision (accept or override).")
        raise typer.Exit(2)
    settings = get_settings()
    score = _serving_lookup(ticket_score, ticket_id)
    try:
        record = record_review(
            settings.actions_store, ticket_id, decision, reason, _reviewer(reviewer, "cli"),
            escalation_probability=score[0] if score else None,
            model_version=score[1] if score else None,
        )  # fmt: skip
    except ActionError as exc:
        console.print(f"[red]Not recorded[/]: {exc}")
        raise typer.Exit(1) from None
    console.print(f"Recorded review {record}: ticket {ticket_id} {decision}.")


@app.command()
def alerts(
    day: Annotated[
        str | None, typer.Option(help="As-of day YYYY-MM-DD (default: the newest day).")
    ] = None,
    new_only: Annotated[
        bool, typer.Option("--new", help="Only alerts that started that day.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alerts as JSON.")] = False,
) -> None:
    """Proactive account alerts of a day: usage drops and ticket bursts against each
    account's own baseline, with the reason and its figures."""
    from serving.alerts import ALERTS_TABLE, alerts_for_day

    try:
        chosen = dt.date.fromisoformat(day) if day else None
    except ValueError:
        raise typer.BadParameter(f"--day must be YYYY-MM-DD, not {day!r}") from None
    with _open_serving() as con:
        if not table_exists(con, ALERTS_TABLE):
            console.print("No alerts published yet: run `make demo` (or `supportops materialize`).")
            raise typer.Exit(1)
        shown_day, frame = alerts_for_day(con, chosen, new_only=new_only)
    if as_json:
        print(frame.to_json(orient="records", date_format="iso", indent=2))
        return
    if shown_day is None:
        console.print("No alerts yet: the alert baselines need 35 days of data (90 for bursts).")
        return
    table = Table(title=f"Account alerts as of {shown_day:%Y-%m-%d}: {len(frame)}")
    for column in ("type", "account", "new", "segment", "tier", "ARR", "reason"):
        table.add_column(column, overflow="fold")
    for r in frame.to_dict("records"):
        table.add_row(
            r["alert_type"], r["account_id"], "yes" if r["is_new"] else "", str(r["segment"]),
            str(r["tier"]), f"${r['arr']:,.0f}", r["reason"],
        )  # fmt: skip
    console.print(table)


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Demo mode: every page open when no login is configured (local only)."
        ),
    ] = False,
) -> None:
    """Serve the Streamlit dashboards (they read only the published serving database).

    With `[auth]` in .streamlit/secrets.toml every visitor must sign in (README: Operations)."""
    import subprocess

    from config.settings import DEMO_ENV, PROJECT_ROOT

    if demo:
        os.environ[DEMO_ENV] = "1"

    console.print(f"Dashboards on [bold]http://{host}:{port}[/] (Ctrl+C stops them)")
    command = [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "dashboards" / "app.py"),
               "--server.headless", "true", "--server.address", host, "--server.port", str(port),
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    raise typer.Exit(subprocess.call(command))


@app.command()
def bench(
    scale: Annotated[
        list[str] | None,
        typer.Option(help="Scale to run, repeatable: tiny, 30k, 100k, 300k or 1m."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where <date>.json and <date>.md go.")] = Path(
        "bench/results"
    ),
    work: Annotated[Path, typer.Option(help="Scratch folder for each scale's data.")] = Path(
        "data/bench"
    ),
    keep: Annotated[bool, typer.Option(help="Keep each scale's data after its run.")] = False,
    repeats: Annotated[int, typer.Option(help="Runs of each dashboard query.")] = 20,
    quality_engine: Annotated[
        str | None,
        typer.Option(help="gx or sql; default: SUPPORTOPS_QUALITY_ENGINE (gx)."),
    ] = None,
    spark: Annotated[
        bool,
        typer.Option(
            help="Also build the KPI mart's lineage on Spark local[2] and compare "
            "(needs `make install INSTALL_GROUPS=spark` and Java; writes <date>-spark.*)."
        ),
    ] = False,
    spark_driver_memory: Annotated[
        str, typer.Option(help="spark.driver.memory for --spark.")
    ] = "4g",
) -> None:
    """Run the whole pipeline at growing scales: time, memory and rows/s per stage, the floor,
    a one-day refresh and dashboard query latency (bench/results/<date>.md); with --spark,
    the KPI mart's lineage on Spark beside DuckDB (docs/spark.md, "When to switch")."""
    from bench.harness import SCALES, run_benchmark
    from bench.report import scale_section

    names = scale or ["30k", "100k", "300k"]
    unknown = sorted(set(names) - set(SCALES))
    if unknown:
        raise typer.BadParameter(f"unknown scales {unknown}; choose from {list(SCALES)}")
    if quality_engine not in (None, "gx", "sql"):
        raise typer.BadParameter("--quality-engine must be gx or sql")
    json_path, md_path = run_benchmark(
        [SCALES[n] for n in names],
        work,
        out,
        keep=keep,
        dashboard_repeats=repeats,
        quality_engine=quality_engine,
        on_scale=lambda result: console.print(scale_section(result)),
        spark_driver_memory=spark_driver_memory if spark else None,
    )
    console.print(f"Results: {json_path} and {md_path}")


sources_app = typer.Typer(
    help="Bring your own data: check and load connector exports (Zendesk, Salesforce, Segment)."
)
app.add_typer(sources_app, name="sources")


def _configured_sources() -> list:
    from config.settings import get_settings
    from extracts.sources.config import load_sources

    settings = get_settings()
    if not settings.sources_file.is_file():
        return []
    try:
        return load_sources(settings.sources_file)
    except (OSError, ValueError) as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(2) from exc


@sources_app.callback(invoke_without_command=True)
def sources_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List where each landing source comes from: its last sync, rows loaded and quarantined.

    Sources come from sources.yml (SUPPORTOPS_SOURCES); rows from the published serving copy."""
    if ctx.invoked_subcommand is not None:
        return
    from config.settings import get_settings
    from extracts.sources.connector import read_manifest

    settings = get_settings()
    by_source = {spec.landing_source: spec for spec in _configured_sources()}
    raw_rows = _raw_summary(settings.serving)
    listing = []
    for landing_source in LANDING_SOURCES:
        spec = by_source.get(landing_source)
        manifest = read_manifest(settings.landing_dir, landing_source)
        tables = {k: v for k, v in raw_rows.items() if k.startswith(f"{landing_source}_")}
        listing.append(
            {
                "landing_source": landing_source,
                "kind": spec.kind if spec else manifest.get("kind", "native"),
                "path": str(spec.path) if spec else None,
                "synced_through": manifest.get("synced_through"),
                "converted_at": manifest.get("converted_at"),
                "days": [manifest.get("first_day"), manifest.get("last_day")],
                "rows_loaded": sum(t["loaded"] for t in tables.values()),
                "rows_quarantined": sum(t["quarantined"] for t in tables.values()),
                "tables": tables,
            }
        )
    if as_json:
        print(json.dumps({"sources_file": str(settings.sources_file), "sources": listing}))
        return
    table = Table(
        title=f"Sources ({settings.sources_file.name}: "
        f"{'found' if settings.sources_file.is_file() else 'none, native only'})"
    )
    for column in ("landing", "kind", "path", "synced through", "loaded", "quarantined"):
        table.add_column(column, justify="right" if column in ("loaded", "quarantined") else "left")
    for row in listing:
        table.add_row(
            row["landing_source"],
            row["kind"],
            row["path"] or "-",
            row["synced_through"] or "-",
            f"{row['rows_loaded']:,}",
            f"{row['rows_quarantined']:,}",
        )
    console.print(table)


def _raw_summary(serving: Path) -> dict[str, dict]:
    """Rows loaded and quarantined per raw table, from the published serving copy."""
    if not serving.is_file():
        return {}
    import duckdb

    from serving.publish import RAW_SUMMARY_TABLE

    with duckdb.connect(str(serving), read_only=True) as con:
        rows = con.execute(
            f"SELECT table_name, loaded, quarantined FROM main.{RAW_SUMMARY_TABLE}"
        ).fetchall()
    return {name: {"loaded": loaded, "quarantined": q} for name, loaded, q in rows}


def _source_config(kind: str, config: Path | None):
    from extracts.sources import adapter

    try:
        module = adapter(kind)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        return module.Config.from_yaml(config) if config else module.Config()
    except (OSError, ValueError, TypeError) as exc:
        raise typer.BadParameter(f"{config}: {exc}") from exc


KindOption = Annotated[
    str, typer.Option("--kind", help=f"Connector shape: {', '.join(SOURCE_KINDS)}.")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="YAML file with the mapping knobs (a `<kind>:` section or top-level keys).",
    ),
]
SourcePath = Annotated[
    Path,
    typer.Argument(help="Folder with one file (or folder) per table, or a DuckDB database."),
]


@sources_app.command("check")
def sources_check(
    path: SourcePath,
    kind: KindOption = "zendesk_fivetran",
    config: ConfigOption = None,
) -> None:
    """Validate a connector export before loading: tables, columns, types, lost metrics.

    Exits 1 when the export cannot be loaded, naming the table and column."""
    from extracts.sources import adapter

    report = adapter(kind).check_export(path, _source_config(kind, config))
    for table, rows in report.rows.items():
        console.print(f"table {table}: {rows:,} rows")
    for metric, why in report.unavailable:
        console.print(f"[yellow]unavailable[/] {metric}: {why}", highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)
    for error in report.errors:
        console.print(f"[red]error[/] {error}", highlight=False)
    if not report.ok:
        console.print(f"[red]{path} cannot be loaded as {kind}[/] ({len(report.errors)} errors)")
        raise typer.Exit(1)
    console.print(f"[green]{path} can be loaded as {kind}[/]")


@sources_app.command("load")
def sources_load(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="A connector export (folder or DuckDB database); default: every source "
            "in sources.yml."
        ),
    ] = None,
    kind: KindOption = "zendesk_fivetran",
    config: ConfigOption = None,
    landing: Annotated[
        Path | None, typer.Option(help="Landing folder; default: SUPPORTOPS_LANDING.")
    ] = None,
) -> None:
    """Map connector exports onto the native landing days (LANDING/<source>/<day>/).

    Only days whose rows changed since the last load are rewritten. Then `supportops
    materialize` ingests them like native files (contracts, quarantine, PII hashing)."""
    from extracts.sources import adapter

    if landing is None:
        from config.settings import get_settings

        landing = get_settings().landing_dir
    if path is not None:
        jobs = [(kind, path, _source_config(kind, config))]
    else:
        jobs = [(spec.kind, spec.path, spec.config) for spec in _configured_sources()]
        if not jobs:
            console.print(
                "[red]no PATH and no sources.yml[/] (see README: Run it on your own data)"
            )
            raise typer.Exit(2)
    for job_kind, job_path, job_config in jobs:
        module = adapter(job_kind)
        try:
            result = module.convert_to_landing(job_path, landing, job_config)
        except (ValueError, FileNotFoundError) as exc:
            console.print(f"[red]cannot load {job_path} as {job_kind}[/]: {exc}", highlight=False)
            raise typer.Exit(1) from exc
        changed = result.changed_days
        console.print(
            f"{job_kind}: {result.summary()} -> {landing}/{module.LANDING_SOURCE}/; synced "
            f"through {result.synced_through or 'unknown (no sync watermark)'}; "
            + (
                f"{len(changed)} day(s) changed, {changed[0]}..{changed[-1]}"
                if changed
                else "nothing changed since the last load"
            ),
            highlight=False,
        )
        for warning in result.warnings():
            console.print(f"[yellow]warning[/] {warning}", highlight=False)
    console.print("next: `supportops materialize`", highlight=False)


policy_app = typer.Typer(help="The triage policy: replay it over past tickets.")
app.add_typer(policy_app, name="policy")


def _frame_table(title: str, frame, percent: tuple[str, ...] = ()) -> Table:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="left" if frame[column].dtype == object else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*(
            "-" if value is None or value != value
            else f"{value:.1%}" if name in percent
            else f"{value:,.3f}" if isinstance(value, float) else str(value)
            for name, value in zip(frame.columns, row, strict=True)
        ))  # fmt: skip
    return table


@policy_app.command("backtest")
def policy_backtest(
    start: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First ticket day.")
    ] = None,
    end: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last ticket day.")
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", help="Replay this policy file (default: the champion's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replay the triage policy over past tickets of the serving copy: tickets per action,
    precision and recall of each flag, senior-queue load per day, SLA breaches of flagged
    vs unflagged tickets. Default window: the newest 28 days whose labels are mature."""
    from config.settings import get_settings
    from ml import policy, registry

    settings = get_settings()
    current = registry.champion(settings.warehouse.parent / "models", "escalation")
    if current is None:
        console.print("No escalation champion yet: run `make demo` (or `supportops materialize`).")
        raise typer.Exit(1)
    try:
        chosen = (
            policy.load_policy(policy_file)
            if policy_file
            else policy.policy_for(current, settings.triage_policy)
        )
        with _open_serving() as con:
            rows, first, last = policy.replay(
                con, current, start and start.date(), end and end.date()
            )
    except policy.PolicyError as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(2) from exc
    result = policy.backtest(chosen, rows)
    thresholds = policy.threshold_table(chosen)
    if as_json:
        frames = ("actions", "senior_queue_per_day", "sla")
        print(json.dumps(
            {**{k: v for k, v in result.items() if k not in frames},
             **{k: json.loads(result[k].to_json(orient="records", date_format="iso"))
                for k in frames},
             "threshold_table": json.loads(thresholds.to_json(orient="records")),
             "model_version": current.version, "start": str(first), "end": str(last)},
            indent=2, default=str,
        ))  # fmt: skip
        return
    console.print(
        f"Policy [bold]{result['policy']}[/] on escalation {current.version}, tickets created "
        f"{first}..{last} with mature labels: {result['tickets']:,} tickets, "
        f"{result['escalated']:,} escalated to tier 3"
    )
    console.print(_frame_table("Thresholds", thresholds, ("target", "validation_precision",
                                                          "validation_recall")))  # fmt: skip
    console.print(_frame_table("Tickets per action (flags: senior_review, human_approval)",
                               result["actions"], ("share", "precision", "recall")))  # fmt: skip
    load = result["senior_queue_per_day"]["senior_queue_tickets"]
    console.print(
        f"Senior queue per day: mean {load.mean():.1f}, max {load.max() if len(load) else 0}"
        f" over {len(load)} days"
    )
    console.print(_frame_table("SLA breaches", result["sla"], ("breach_rate",)))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Score tickets over HTTP: POST /score (one ticket) or /score/batch ({"tickets": [...]})
    in the helpdesk's shape; answers probability, action, reasons, model and policy versions."""
    import uvicorn

    console.print(f"Scoring service on [bold]http://{host}:{port}[/] (docs at /docs)")
    uvicorn.run("serving.api:app_from_settings", factory=True, host=host, port=port,
                log_level="info")  # fmt: skip


if __name__ == "__main__":
    app()
