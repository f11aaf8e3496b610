"""dbt models as Dagster assets: one `dbt build` step downstream of the raw ingestion assets.

The days loaded since the last successful build become the build window (the table
`meta.dbt_build_window`, read by macros/incremental_window.sql), so incremental models touch
only those days (plus their look-back).
"""

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_duckdb import DuckDBResource

from config.settings import DBT_WAREHOUSE_ENV, DBT_WORKDIR_ENV, PROJECT_ROOT, WAREHOUSE_ENV
from extracts.files import atomic_write
from extracts.ledger import (
    built_definition,
    has_build,
    pending_corrections,
    pending_window,
    record_build,
    set_build_window,
)
from orchestration.fatal import dbt_fatal_error, fatal_message
from orchestration.resources import DBT_WITH_PARENT, WAREHOUSE_POOL
from quality.results import dbt_test_outcomes, write_results

dbt_project = DbtProject(project_dir=PROJECT_ROOT / "dbt_project")

PARTIAL_PARSE = "partial_parse.msgpack"
# Each build leaves a folder of dbt artifacts (~16 MB: compiled SQL, run results, dbt.log);
# the newest are kept for debugging, so an hourly refresh does not fill the disk in a year.
KEPT_BUILD_FOLDERS = 20
_LAYERS = {"staging", "intermediate", "marts", "features"}

# Eager, minus "wait while a parent partition is missing": the unpartitioned models sit on
# daily raw partitions, and today's partition is always missing until it lands. Never on a
# parent whose blocking quality gate failed, even when it was checked in an earlier run.
FOLLOW_RAW_LOADS = (
    dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
)


class SupportopsTranslator(DagsterDbtTranslator):
    """Groups by dbt layer folder, one owning team, and eager automation so models follow raw loads."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else ""
        return layer if layer in _LAYERS else "warehouse"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:analytics-engineering"]

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        return FOLLOW_RAW_LOADS


translator = SupportopsTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class WarehouseBuildConfig(dg.Config):
    """Force a full rebuild of every incremental model instead of the pending window."""

    full_refresh: bool = False


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def warehouse_models(
    context: dg.AssetExecutionContext,
    config: WarehouseBuildConfig,
    dbt: DbtCliResource,
    warehouse: DuckDBResource,
):
    """dbt build over the landing days loaded since the last successful build.

    Not partitioned: thousands of per-partition materialisation events would cost more than
    the build itself. The window comes from the load ledger instead (ranges loaded since the
    last recorded build), so a new day costs a day's work. The first build, `full_refresh`, or
    a correction (a day re-delivered with other content, or keys re-sent on another day:
    `pending_corrections`) rebuilds everything, so deleted and changed rows leave every model.
    """
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    definition = incremental_definition(dbt_project.manifest_path)
    with warehouse.get_connection() as con:
        window = pending_window(con)
        redefined = has_build(con) and built_definition(con) != definition
        corrections = pending_corrections(con) if has_build(con) else []
        full_build = (
            config.full_refresh
            or window is None
            or not has_build(con)
            or redefined
            or bool(corrections)
        )
    if redefined:
        context.log.info("incremental models or macros changed since the last build: full build")
    if corrections:
        listed = "; ".join(f"{t} {d}: {why}" for t, d, why in corrections[:10])
        more = f" (and {len(corrections) - 10} more)" if len(corrections) > 10 else ""
        context.log.info(f"corrected landing days since the last build, full build: {listed}{more}")
    build_window = None if full_build else window
    context.log.info(f"dbt build {'full' if full_build else f'window {window}'}")
    # dbt's profile reads the warehouse path from the environment: point it at the very file
    # the DuckDB resource writes, whatever the resource was configured with.
    warehouse_path = Path(warehouse.database).resolve()
    os.environ[WAREHOUSE_ENV] = str(warehouse_path)
    # The window goes to a table the models read when they run (not `--vars`), and a full
    # build is dbt's `--full-refresh` flag: neither changes dbt's parse state, so the project
    # parsed by an earlier build is reused (see _reuse_parse).
    with warehouse.get_connection() as con:
        set_build_window(con, build_window)
    # Unit tests check model logic on fixtures, not the data: `make test` runs them
    # (tests/test_dbt_unit_tests.py), a pipeline run need not pay their ~12 s every time.
    # Every data test runs on every build: the blocking checks of views included (those of
    # the CRM and account-day views over the window's days only: macros/get_where_subquery.sql).
    args = ["build", "--exclude", "test_type:unit", *(["--full-refresh"] if full_build else [])]
    target_path = _reuse_parse(warehouse_path, context.run.run_id)
    with _dbt_started_beside(warehouse_path, dbt):
        invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=target_path)
    try:
        # DuckDB lets no one count rows while dbt holds the file: the events wait for dbt.
        events = list(invocation.stream())
    finally:
        _keep_parse(target_path, warehouse_path)
        _prune_build_folders(target_path.parent)
        # A build that took the warehouse down (a FATAL error) leaves its window behind; the
        # next build replaces it before it runs.
        with contextlib.suppress(duckdb.Error), warehouse.get_connection() as con:
            set_build_window(con, None)
    yield from _with_row_counts(events, invocation.manifest, warehouse)
    _record_dbt_tests(invocation, warehouse, context.run.run_id)
    if not invocation.is_successful():
        raise _build_failure(invocation, Path(warehouse.database))
    # Only a build of every model moves the watermark; a subset would leave the others stale.
    if not context.is_subset:
        with warehouse.get_connection() as con:
            record_build(con, started_at, window, full_build, definition)


@contextlib.contextmanager
def _dbt_started_beside(warehouse: Path, dbt: DbtCliResource) -> Iterator[None]:
    """dbt (started inside this block) runs in the warehouse's folder and opens it by file
    name. dbt re-parses the whole project (5-10 s) when its profile differs from the one its
    saved parse was made with, and an absolute path made every folder's warehouse a new
    profile: each new world (every test's, each benchmark scale) paid a full parse.
    Only orchestration/dbt_with_parent changes folder: another dbt executable gets the
    absolute path (SUPPORTOPS_WAREHOUSE, set by the caller) and parses in full."""
    if Path(dbt.dbt_executable) != DBT_WITH_PARENT:
        yield
        return
    names = {DBT_WORKDIR_ENV: str(warehouse.parent), DBT_WAREHOUSE_ENV: warehouse.name}
    before = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _parse_cache(warehouse: Path) -> Path:
    """Where the dbt parse of builds into a warehouse of this file name is kept between
    builds (the profile, which dbt keys its parse to, names the file only)."""
    key = hashlib.sha256(warehouse.name.encode()).hexdigest()[:16]
    return dbt_project.project_dir / "target" / "partial_parse" / f"{key}.msgpack"


def _reuse_parse(warehouse: Path, run_id: str) -> Path:
    """A new target folder for this build, holding the parse the previous build into the same
    warehouse left. dbt checks it against the project's files, vars and profile and parses
    again whatever changed, so a stale or foreign parse costs only the time it fails to save.
    Named as dagster-dbt names it: the op, the run id's first 7 characters, a random suffix."""
    target = (
        dbt_project.project_dir / "target" / f"warehouse_models-{run_id[:7]}-{uuid.uuid4().hex[:7]}"
    )
    target.mkdir(parents=True)
    if (cached := _parse_cache(warehouse)).exists():
        shutil.copyfile(cached, target / PARTIAL_PARSE)
    return target


def _prune_build_folders(targets: Path) -> None:
    """Remove all but the newest KEPT_BUILD_FOLDERS build folders (another process pruning
    at the same time may remove some first)."""
    aged = []
    for folder in targets.glob("warehouse_models-*"):
        with contextlib.suppress(FileNotFoundError):
            aged.append((folder.stat().st_mtime, folder))
    for _, folder in sorted(aged)[:-KEPT_BUILD_FOLDERS]:
        shutil.rmtree(folder, ignore_errors=True)


def _keep_parse(target: Path, warehouse: Path) -> None:
    """Keep the parse this build wrote for the next build into `warehouse` (replaced whole)."""
    written = target / PARTIAL_PARSE
    if not written.exists():
        return
    atomic_write(_parse_cache(warehouse), lambda tmp: shutil.copyfile(written, tmp))


def _record_dbt_tests(invocation: DbtCliInvocation, warehouse: DuckDBResource, run_id: str) -> None:
    """Append the build's dbt test results to `quality.check_results` (passed or not), so
    `supportops quality` shows dbt's failures too. A build that died before writing its
    run_results.json (a crash, a FATAL error) has none to record."""
    try:
        run_results = invocation.get_artifact("run_results.json")
    except (OSError, ValueError):
        return
    outcomes = dbt_test_outcomes(run_results, dict(invocation.manifest))
    if outcomes:
        with warehouse.get_connection() as con:
            write_results(con, outcomes, run_id)


def incremental_definition(manifest_path: Path) -> str:
    """A fingerprint of what incremental models keep between builds: their SQL, their
    columns and the project's macros. When it changes (a new column, a new rule), rows built
    by the old definition would stay in a windowed build, so the next build is a full one."""
    manifest = json.loads(Path(manifest_path).read_text())
    parts = sorted(
        f"{node['unique_id']}:{node['checksum']['checksum']}:{','.join(sorted(node['columns']))}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
    )
    parts += sorted(
        f"{macro['unique_id']}:{hashlib.sha256(macro['macro_sql'].encode()).hexdigest()}"
        for macro in manifest["macros"].values()
        if macro["package_name"] == manifest["metadata"].get("project_name", "supportops")
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _build_failure(invocation: DbtCliInvocation, warehouse: Path) -> Exception:
    """dbt's own error, or one plain message when a DuckDB FATAL error took the build down."""
    log = invocation.target_path / "dbt.log"
    fatal = dbt_fatal_error(_json_lines(log)) if log.exists() else None
    if fatal is None:
        return invocation.get_error()
    node, error, cascade = fatal
    return dg.Failure(
        description=fatal_message(f"the dbt build ({node})", error, warehouse, cascade, log),
        metadata={"duckdb_fatal": True, "node": node},
        allow_retries=False,
    )


def _json_lines(path: Path) -> Iterator[dict]:
    with path.open() as lines:
        for line in lines:
            with contextlib.suppress(json.JSONDecodeError):
                yield json.loads(line)


def _with_row_counts(
    events: list, manifest: Mapping[str, Any], warehouse: DuckDBResource
) -> Iterator:
    """dbt's events, each built table's carrying its row count (`dagster/row_count`), counted
    in one query. Not dagster-dbt's `fetch_row_counts`: it counts a table per thread through
    dbt's adapter, and on DuckDB its `imap` polls the futures without sleeping for as long as
    dbt runs, which on two cores took one of them from the build. Views are not counted:
    counting runs their query."""
    tables: dict[str, str] = {}
    for event in events:
        node = manifest["nodes"].get(_built_node(event))
        if node and node["config"].get("materialized") != "view":
            tables[node["unique_id"]] = f'"{node["schema"]}"."{node["alias"]}"'
    counts: dict[str, int] = {}
    if tables:
        union = " union all ".join(
            f"select '{unique_id}', count(*) from {relation}"
            for unique_id, relation in tables.items()
        )
        with contextlib.suppress(duckdb.Error), warehouse.get_connection() as con:
            counts = dict(con.execute(union).fetchall())
    for event in events:
        if (unique_id := _built_node(event)) in counts:
            event = event.with_metadata({**event.metadata, "dagster/row_count": counts[unique_id]})
        yield event


def _built_node(event: object) -> str | None:
    """The dbt unique_id of a model's materialisation event; None for any other event."""
    if isinstance(event, dg.Output | dg.AssetMaterialization) and "unique_id" in event.metadata:
        return event.metadata["unique_id"].value
    return None
