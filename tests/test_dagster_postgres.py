"""Dagster's run and event storage on Postgres (deploy/dagster.yaml), with a real refresh.

A throwaway Debian PostgreSQL server is started in a temp folder on a free port (as the
`postgres` system user when the tests run as root: initdb refuses root), `supportops
materialize` runs the tiny world in its own process with SUPPORTOPS_DAGSTER_PG_URL pointing at
it, and the runs, materialisations and the warehouse pool's limit are read back from
Postgres's own tables, so nothing here trusts Dagster's reading of them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import yaml
from conftest import PROJECT, Pipeline, isolated_env, materialised, run_cli
from test_deployment import dockerfile_instructions

from config.settings import DAGSTER_PG_SCHEME, DAGSTER_PG_URL_ENV, SERVICE_INSTANCE_DIR
from orchestration.resources import WAREHOUSE_POOL

INSTALL_HINT = "PostgreSQL's server is not installed: `make postgres` installs Debian's package"


def postgres_bin() -> Path:
    """The newest Debian PostgreSQL server's bin folder (not on PATH), else initdb's on PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(re.sub(r"\D", "", p.parent.parent.name) or 0),
    )
    found = versions[-1] if versions else shutil.which("initdb")
    if not found:
        raise RuntimeError(INSTALL_HINT)
    return Path(found).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own, with a `dagster` database, stopped and removed after."""
    bin_dir = postgres_bin()
    # initdb and postgres refuse to run as root: as root, run them as the `postgres` user that
    # Debian's package creates, in a folder it owns (pytest's tmp folders are root's, 0700).
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="supportops-pg-"))
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(done.args)} failed: {done.stderr or done.stdout}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "supportops", "--auth=trust",
        "--no-sync", "-E", "UTF8")  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options,
        "-w", "-t", "60", "start")  # fmt: skip
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "supportops",
            "dagster")  # fmt: skip
        yield f"{DAGSTER_PG_SCHEME}://supportops@127.0.0.1:{port}/dagster"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def rows(url: str, sql: str) -> list[tuple]:
    """`sql`'s rows, read with psycopg2 itself (libpq wants the URL without the driver)."""
    with (
        psycopg2.connect(url.replace(DAGSTER_PG_SCHEME, "postgresql", 1)) as con,
        con.cursor() as cur,
    ):
        cur.execute(sql)
        return cur.fetchall()


@pytest.mark.e2e
def test_refresh_keeps_its_runs_events_and_pool_in_postgres(
    postgres_url: str, tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    run = run_cli(
        tmp_path, "materialize", landing=tiny_pipeline.landing,
        settings={DAGSTER_PG_URL_ENV: postgres_url},
    )  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    # Nothing went to the SQLite instance that DAGSTER_HOME (tmp_path) would have given.
    assert not (tmp_path / ".dagster" / "storage").exists()
    assert (tmp_path / "data" / "serving.duckdb").exists()

    [(run_id, job, status)] = rows(postgres_url, "select run_id, pipeline_name, status from runs")
    assert (job, status) == ("refresh", "SUCCESS")
    stored = rows(
        postgres_url,
        "select distinct asset_key from event_logs "
        f"where dagster_event_type = 'ASSET_MATERIALIZATION' and run_id = '{run_id}'",
    )
    # The same assets as the session's in-process run of the same world materialised.
    assert {"/".join(json.loads(key)) for (key,) in stored} == materialised(tiny_pipeline.result)

    # The warehouse pool exists with deploy/dagster.yaml's default limit of one slot, and
    # every slot was given back when the run ended.
    limits = dict(rows(postgres_url, 'select concurrency_key, "limit" from concurrency_limits'))
    assert limits[WAREHOUSE_POOL] == 1
    held = rows(
        postgres_url,
        "select count(*) from concurrency_slots "
        f"where concurrency_key = '{WAREHOUSE_POOL}' and run_id is not null",
    )
    assert held == [(0,)]


def image_tree(dest: Path) -> None:
    """The files deploy/Dockerfile puts in /app, copied under `dest` by its COPY lines
    (a folder's contents into the target, as Docker does), less what its dockerignore drops."""
    ignored = [
        line.rsplit("/", 1)[-1]
        for line in (SERVICE_INSTANCE_DIR / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for op, args in dockerfile_instructions():
        if op != "COPY":
            continue
        *sources, target = shlex.split(args)
        for source in sources:
            into = dest / target / Path(source).name if target.endswith("/") else dest / target
            if (PROJECT / source).is_dir():
                shutil.copytree(PROJECT / source, into, ignore=shutil.ignore_patterns(*ignored))
            else:
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(PROJECT / source, into)


@pytest.mark.e2e
def test_the_image_files_synced_as_the_dockerfile_does_serve_the_code_location_on_postgres(
    postgres_url: str, tmp_path: Path
) -> None:
    """No docker daemon here: the image's files (its COPY lines), its `uv sync --frozen
    --no-dev` and `dbt parse`, then what its services run: the executables compose starts
    exist, and `dagster definitions validate` of the module the code server serves passes
    with DAGSTER_HOME=deploy/ and the Postgres URL, as in the image (no tests/, no dev group)."""
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` (make test) sets UV
    assert uv, "no uv: run the tests with `uv run` (make test)"
    image_tree(tmp_path)
    env = {k: v for k, v in isolated_env().items() if k != "VIRTUAL_ENV"}
    for command, cwd in (
        ([uv, "sync", "--frozen", "--no-dev", "--offline", "--quiet"], tmp_path),
        (
            [str(tmp_path / ".venv" / "bin" / "dbt"), "parse", "--profiles-dir", ".", "--quiet"],
            tmp_path / "dbt_project",
        ),
    ):
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
    binaries = tmp_path / ".venv" / "bin"
    compose = yaml.safe_load((SERVICE_INSTANCE_DIR / "compose.yaml").read_text())
    started = {s["command"][0] for s in compose["services"].values() if "command" in s}
    assert started == {"dagster-webserver", "dagster-daemon", "streamlit"}
    assert all((binaries / name).exists() for name in [*started, "dagster", "supportops"])

    image_env = env | {
        "DAGSTER_HOME": str(tmp_path / "deploy"),
        DAGSTER_PG_URL_ENV: postgres_url,
        "SUPPORTOPS_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [binaries / "dagster", "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=tmp_path, env=image_env, capture_output=True, text=True,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Validation successful for code location orchestration.definitions" in output
    assert not (tmp_path / "tests").exists()


@pytest.mark.e2e
def test_the_postgres_instance_queues_one_run_and_gives_the_pool_one_slot(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The instance the webserver and daemon of a deployment load: the daemon's queue
    starts one run at a time, and Postgres holds pools (SQLite-only features would not)."""
    import dagster as dg

    monkeypatch.chdir(tmp_path)  # the instance's artifact folders are relative
    monkeypatch.setenv(DAGSTER_PG_URL_ENV, postgres_url)
    instance = dg.DagsterInstance.from_config(str(SERVICE_INSTANCE_DIR))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 1
        assert config.pool_config.default_pool_limit == 1
        assert instance.event_log_storage.supports_global_concurrency_limits
    finally:
        instance.dispose()


@pytest.mark.e2e
def test_the_cli_judges_by_process_id_only_the_runs_of_its_own_machine(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the shared Postgres instance a run started in another container or pod has a
    process id that means nothing here: the CLI must not mark it failed (and free the
    warehouse slot under it) because no such process exists on this machine."""
    import dagster as dg
    from dagster._core.events import DagsterEvent

    from orchestration.run_guard import HOST_TAG, release_dead_runs

    finished = subprocess.Popen(["true"])
    finished.wait()  # its process id is free: a dead run's
    here, elsewhere = socket.gethostname(), f"not-{socket.gethostname()}"

    def start(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
        run = instance.add_run(
            dg.DagsterRun(job_name="refresh", status=dg.DagsterRunStatus.STARTED, tags=tags)
        )
        start = DagsterEvent(dg.DagsterEventType.RUN_START.value, "refresh", pid=finished.pid)
        instance.report_dagster_event(start, run_id=run.run_id)
        return run.run_id

    monkeypatch.chdir(tmp_path)  # the instance's artifact folders are relative
    monkeypatch.setenv(DAGSTER_PG_URL_ENV, postgres_url)
    service = dg.DagsterInstance.from_config(str(SERVICE_INSTANCE_DIR))
    with dg.instance_for_test() as local:
        runs = {
            ("service", "ours"): start(service, {HOST_TAG: here}),
            ("service", "other machine"): start(service, {HOST_TAG: elsewhere}),
            ("service", "untagged"): start(service, {}),  # launched by the daemon
            ("local", "untagged"): start(local, {}),  # `make dev`: this machine's
            ("local", "other machine"): start(local, {HOST_TAG: elsewhere}),
        }
        try:
            released = {r.run_id for r in release_dead_runs(service)} | {
                r.run_id for r in release_dead_runs(local)
            }
            assert {k for k, run_id in runs.items() if run_id in released} == {
                ("service", "ours"),
                ("local", "untagged"),
            }
            assert service.get_run_by_id(runs["service", "ours"]).status == (
                dg.DagsterRunStatus.FAILURE
            )
            assert service.get_run_by_id(runs["service", "untagged"]).status == (
                dg.DagsterRunStatus.STARTED
            )
        finally:  # the refresh test shares this database: leave no active run behind
            for (kind, _), run_id in runs.items():
                if kind == "service":
                    service.delete_run(run_id)
            service.dispose()
