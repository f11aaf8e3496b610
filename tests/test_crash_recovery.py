"""A refresh killed outright (SIGKILL) leaves nothing that blocks the next one.

`supportops materialize` runs as a user runs it, in its own process with its own Dagster
instance. In its dbt build it is SIGKILLed. Its dbt child dies with it (orchestration/dbt_with_parent),
and the next materialize marks the dead run failed, frees the warehouse slot, rebuilds and
publishes the same marts as an uninterrupted run; while that one runs, a third refuses and
names it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

PROJECT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "supportops")


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


def _wait_for(condition, what: str, limit_s: float) -> None:
    """Poll until `condition()` holds; fail naming `what` if it never does."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.5)


def test_sigkill_during_dbt_then_rerun_publishes_the_same_marts(tiny_pipeline, tmp_path) -> None:
    shutil.copy(PROJECT / "dagster.yaml", tmp_path / "dagster.yaml")
    # None of this session's SUPPORTOPS_* (in-process runs point SUPPORTOPS_WAREHOUSE at
    # their own files): the CLI's warehouse is data/warehouse.duckdb under its data dir.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTOPS_")}
    env |= {
        "SUPPORTOPS_DEMO": "1",  # generated data: the demo PII key
        "DAGSTER_HOME": str(tmp_path),
        "SUPPORTOPS_DATA_DIR": str(tmp_path / "data"),
        "SUPPORTOPS_LANDING": str(tiny_pipeline.landing),
    }
    materialize = [CLI, "materialize"]

    def dbt_children(process: subprocess.Popen) -> list[int]:
        return [pid for pid, cmd in _children(process.pid) if " build " in f"{cmd} "]

    def start(name: str) -> subprocess.Popen:
        with (tmp_path / f"{name}.log").open("w") as log:
            # cwd: dagster.yaml's storage folders are relative to it.
            return subprocess.Popen(materialize, cwd=tmp_path, env=env, stdout=log, stderr=log)

    def output(name: str) -> str:
        return " ".join((tmp_path / f"{name}.log").read_text().split())

    def dbt_logging(process: subprocess.Popen, since: float) -> bool:
        """Its dbt build has started and written its log (so the log can tell it never ended)."""
        target = PROJECT / "dbt_project" / "target"
        logs = [p for p in target.glob("warehouse_models-*/dbt.log") if p.stat().st_mtime > since]
        return bool(dbt_children(process) and logs)

    started = time.time()
    killed = start("killed")
    try:
        _wait_for(
            lambda: dbt_logging(killed, started) or killed.poll() is not None, "dbt build", 600
        )
        dbt = dbt_children(killed)
        assert dbt, output("killed")[-3000:]
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    finally:
        if killed.poll() is None:
            killed.kill()
    # The dbt child does not go on writing the warehouse on its own.
    _wait_for(lambda: not any(_alive(pid) for pid in dbt), "dbt child stopped", 60)

    rerun = start("rerun")
    try:
        # While the rerun builds (models, gates, training, publish), a second writer refuses.
        _wait_for(lambda: dbt_children(rerun) or rerun.poll() is not None, "rerun's dbt", 600)
        second = subprocess.run(materialize, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert rerun.wait(timeout=900) == 0, output("rerun")[-3000:]
    finally:
        if rerun.poll() is None:
            rerun.kill()

    refused = " ".join(second.stdout.split())
    assert second.returncode == 1, refused[-3000:]
    assert (tmp_path / "data" / "warehouse.duckdb").exists()
    assert "another run is writing the warehouse" in refused
    assert f"process {rerun.pid})" in refused
    released = re.search(
        rf"run (\S+) \(refresh, process {killed.pid}\) was killed", output("rerun")
    )
    assert released, output("rerun")[-3000:]
    # dbt stopped with its parent, mid-build: its log never reached the command's end.
    (dbt_log,) = (PROJECT / "dbt_project" / "target").glob(
        f"warehouse_models-{released[1][:7]}-*/dbt.log"
    )
    assert '"name": "CommandCompleted"' not in dbt_log.read_text()
    serving = tmp_path / "data" / "serving.duckdb"
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{serving}' AS rerun (READ_ONLY)")
        con.execute(f"ATTACH '{tiny_pipeline.serving}' AS uninterrupted (READ_ONLY)")
        for table in ("marts.fct_support_kpis_daily", "features.feat_account_daily"):
            rows = con.execute(f"SELECT count(*) FROM rerun.{table}").fetchone()[0]
            assert rows > 0
            for a, b in (("rerun", "uninterrupted"), ("uninterrupted", "rerun")):
                extra = con.execute(
                    f"SELECT count(*) FROM (FROM {a}.{table} EXCEPT FROM {b}.{table})"
                ).fetchone()[0]
                assert extra == 0, (table, a, b)
