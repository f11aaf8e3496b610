"""One writer, visibly: find the runs that hold the warehouse, and release those whose process died.

A run killed outright (SIGKILL, a crash, a closed laptop) stays STARTED in Dagster's run
storage and keeps the warehouse pool's only slot, so every later run would wait for it
forever. Runs started on this machine record their process id in their RUN_START event:
a run whose process is gone is marked failed and its pool slots are freed. A run whose
process lives is another writer, and the CLI says so instead of queueing behind it.

A process id means something only on the machine (container, pod) that started it. On the
Postgres-backed instance (deploy/) runs start in other containers and pods, so only runs
tagged with this machine's name (`HOST_TAG`, which the CLI sets) are judged by their pid;
the others are left to the daemon's run monitoring (deploy/dagster.yaml). On the local
SQLite instance every run is this machine's, tagged or not.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.runs import SqliteRunStorage

from extracts.files import process_exists

HOST_TAG = "supportops/host"
"""Tag on the runs the CLI starts: the name of the machine whose process id the run records."""

_ACTIVE = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class ActiveRun:
    run_id: str
    job_name: str
    pid: int | None
    started_at: float | None
    on_this_machine: bool = True
    """Whether `pid` is a process id of this machine, so its absence here means it died."""

    @property
    def alive(self) -> bool:
        """Unknown processes (no pid recorded yet, or another machine's) count as alive:
        never release a live run."""
        return self.pid is None or not self.on_this_machine or process_exists(self.pid)


def active_runs(instance: dg.DagsterInstance) -> list[ActiveRun]:
    local_instance = isinstance(instance.run_storage, SqliteRunStorage)
    runs = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=_ACTIVE)):
        run = record.dagster_run
        starts = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_START, limit=1
        ).records
        pid = starts[0].event_log_entry.dagster_event.pid if starts else None
        host = run.tags.get(HOST_TAG)
        here = host == socket.gethostname() if host else local_instance
        runs.append(ActiveRun(run.run_id, run.job_name, pid, record.start_time, here))
    return runs


def release_dead_runs(instance: dg.DagsterInstance) -> list[ActiveRun]:
    """Mark failed, and free the pool slots of, every active run whose process is gone."""
    dead = [run for run in active_runs(instance) if not run.alive]
    for run in dead:
        instance.report_run_failed(
            instance.get_run_by_id(run.run_id),
            message=f"Process {run.pid} ended without finishing the run (killed or crashed); "
            "marked failed by the next run so its warehouse pool slot is free again.",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return dead


def live_runs(instance: dg.DagsterInstance) -> list[ActiveRun]:
    return [run for run in active_runs(instance) if run.alive]
