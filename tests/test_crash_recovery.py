"""A refresh killed outright (SIGKILL) leaves nothing that blocks the next one.

`supportops materialize` runs as a user runs it, in its own process with its own Dagster
instance, over a data folder that already holds a published serving copy. Three runs are
SIGKILLed in turn: during ingestion, during the dbt build, during the publish. A dbt child
dies with its run (orchestration/dbt_with_parent), and each next materialize marks the dead
run failed and frees the warehouse slot; the last rebuilds and publishes the same marts as
an uninterrupted run, and while it runs another refuses and names it. Readers of the
serving copy never fail.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from functools import partial
from pathlib import Path

import duckdb
import yaml

from tests.conftest import CLI, PROJECT, Pipeline, cli_env


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append((int(stat.parent.name), cmdline))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _log_path(pid: int) -> Path | None:
    """The log folder dagster-dbt gave the dbt process `pid` (its DBT_LOG_PATH)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    found = [v for k, _, v in (e.partition(b"=") for e in environ) if k == b"DBT_LOG_PATH"]
    return Path(found[0].decode()) if found else None


def _wait_for(condition, what: str, limit_s: float, every_s: float = 0.5) -> None:
    """Poll until `condition()` holds; fail naming `what` if it never does."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(every_s)


class _Reader(threading.Thread):
    """Reads the serving copy as a dashboard does, over and over, counting failures."""

    def __init__(self, serving: Path) -> None:
        super().__init__(daemon=True)
        self.serving, self.reads, self.failures = serving, 0, []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with duckdb.connect(str(self.serving), read_only=True) as con:
                    con.execute("SELECT sum(tickets) FROM marts.fct_support_kpis_daily").fetchone()
                self.reads += 1
            except duckdb.Error as exc:
                self.failures.append(str(exc))
            time.sleep(0.1)


def test_runs_killed_in_each_phase_then_a_rerun_publishes_the_same_marts(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    """Three refreshes one after the other, each SIGKILLed in a later phase (ingestion, its
    dbt build, the publish) and each starting where the one before was killed; then a fourth
    that finishes. One chain instead of three kill-and-rerun pairs: every run after a kill is
    a recovery, and the suite pays for two full runs fewer."""
    env = cli_env(tmp_path, tiny_pipeline.landing)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(tiny_pipeline.warehouse, data / "warehouse.duckdb")
    shutil.copy(tiny_pipeline.serving, data / "serving.duckdb")
    serving = data / "serving.duckdb"
    materialize = [CLI, "materialize"]

    def dbt_children(process: subprocess.Popen) -> list[int]:
        return [pid for pid, cmd in _children(process.pid) if " build " in f"{cmd} "]

    def start(name: str) -> subprocess.Popen:
        with (tmp_path / f"{name}.log").open("w") as log:
            # cwd: dagster.yaml's storage folders are relative to it.
            return subprocess.Popen(materialize, cwd=tmp_path, env=env, stdout=log, stderr=log)

    def output(name: str) -> str:
        return " ".join((tmp_path / f"{name}.log").read_text().split())

    def dbt_logs(process: subprocess.Popen) -> list[Path]:
        """The log folders of its dbt children: their own, not dbt_project/target, which
        another build (a test on another xdist worker) may be writing at the same time."""
        return [log for pid in dbt_children(process) if (log := _log_path(pid)) is not None]

    def reached(phase: str, name: str, process: subprocess.Popen) -> bool:
        if phase == "ingestion":  # a first raw table is loaded, the others still to come
            return re.search(r"\w+ \d{4}-\d\d-\d\d\.\.\S+: read \d+", output(name)) is not None
        if phase == "dbt":  # its dbt build has started and written its log
            return any((log / "dbt.log").exists() for log in dbt_logs(process))
        # the new serving file is being written beside the published one
        return any(data.glob(f".serving.duckdb.{process.pid}.tmp"))

    def reached_or_ended(phase: str, name: str, process: subprocess.Popen) -> bool:
        return reached(phase, name, process) or process.poll() is not None

    def stopped(pids: list[int]) -> bool:
        return not any(_alive(pid) for pid in pids)

    def released(name: str, killed: subprocess.Popen) -> None:
        """`name`'s run marked the killed run failed and freed its slot before it began."""
        found = re.search(rf"run \S+ \(refresh, process {killed.pid}\) was killed", output(name))
        assert found, output(name)[-3000:]

    reader = _Reader(serving)
    reader.start()
    started = time.time()
    previous: subprocess.Popen | None = None
    for phase in ("ingestion", "dbt", "publish"):
        name = f"killed in {phase}"
        killed = start(name)
        try:
            # The tiny world's publish takes well under a second: look for it often.
            every_s = 0.005 if phase == "publish" else 0.5
            _wait_for(partial(reached_or_ended, phase, name, killed), phase, 600, every_s)
            dbt, logs = dbt_children(killed), dbt_logs(killed)
            killed.send_signal(signal.SIGKILL)
            killed.wait()
        finally:
            if killed.poll() is None:
                killed.kill()
        assert killed.returncode == -signal.SIGKILL, output(name)[-3000:]
        if previous is not None:
            released(name, previous)
        if phase == "ingestion":
            # killed before the warehouse build began
            assert "warehouse_models - dbt build" not in output(name), output(name)[-3000:]
        elif phase == "dbt":
            assert dbt and logs, output(name)[-3000:]
        else:  # killed mid-publish: its half-written copy is left behind, never swapped in
            assert reached(phase, name, killed)
        # The dbt child does not go on writing the warehouse on its own.
        _wait_for(partial(stopped, dbt), "dbt child stopped", 60)
        if phase == "dbt":
            # dbt stopped with its parent, mid-build: its log never reached the command's end.
            for log in logs:
                assert '"name": "CommandCompleted"' not in (log / "dbt.log").read_text()
        previous = killed

    rerun = start("rerun")
    try:
        # While the rerun builds (models, gates, training, publish), a second writer refuses.
        _wait_for(lambda: dbt_children(rerun) or rerun.poll() is not None, "rerun's dbt", 600)
        second = subprocess.run(materialize, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert rerun.wait(timeout=900) == 0, output("rerun")[-3000:]
    finally:
        if rerun.poll() is None:
            rerun.kill()
        reader.stop.set()
        reader.join()

    refused = " ".join(second.stdout.split())
    assert second.returncode == 1, refused[-3000:]
    assert "another run is writing the warehouse" in refused
    assert f"process {rerun.pid})" in refused
    released("rerun", previous)
    # The killed publish's half-written copy is removed by the next publish.
    assert list(data.glob(".serving.duckdb.*")) == []
    # The serving copy stayed readable throughout: the kills, the recoveries, the new publish.
    assert reader.reads > 20 and reader.failures == [], (reader.reads, reader.failures[:3])
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{serving}' AS rerun (READ_ONLY)")
        con.execute(f"ATTACH '{tiny_pipeline.serving}' AS uninterrupted (READ_ONLY)")
        published = con.execute("SELECT published_at FROM rerun.main.serving_info").fetchone()[0]
        assert (
            published.replace(tzinfo=dt.UTC).timestamp() > started - 60
        )  # the rerun's own copy, not the seed's
        for table in ("marts.fct_support_kpis_daily", "features.feat_account_daily"):
            rows = con.execute(f"SELECT count(*) FROM rerun.{table}").fetchone()[0]
            assert rows > 0
            for a, b in (("rerun", "uninterrupted"), ("uninterrupted", "rerun")):
                extra = con.execute(
                    f"SELECT count(*) FROM (FROM {a}.{table} EXCEPT FROM {b}.{table})"
                ).fetchone()[0]
                assert extra == 0, (table, a, b)


def test_the_deployed_daemon_monitors_runs() -> None:
    """dagster.yaml turns on run monitoring: the daemon fails a run whose worker died."""
    import dagster as dg

    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    with dg.instance_for_test(overrides={"run_monitoring": config["run_monitoring"]}) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["start_timeout_seconds"] > 0
        assert instance.run_monitoring_settings["cancel_timeout_seconds"] > 0


def test_a_publish_removes_copies_abandoned_by_killed_publishers(tmp_path: Path) -> None:
    from serving.publish import publish_serving

    serving = tmp_path / "serving.duckdb"
    # Above Linux's largest pid: gone. Our parent (the test runner's launcher): alive.
    dead, live = 2**22 + 1, os.getppid()
    for name in (f".serving.duckdb.{dead}.tmp", f".serving.duckdb.{dead}.tmp.wal"):
        (tmp_path / name).write_bytes(b"half a copy")
    (tmp_path / f".serving.duckdb.{live}.tmp").write_bytes(b"being written")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA marts; CREATE TABLE marts.t AS SELECT 1 AS x")
        publish_serving(con, serving, ("marts",))
    left = sorted(p.name for p in tmp_path.glob(".serving.duckdb.*"))
    assert left == [f".serving.duckdb.{live}.tmp"]
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("SELECT x FROM marts.t").fetchall() == [(1,)]
