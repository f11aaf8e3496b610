"""Dagster's SQLite run history, written without waiting for the disk.

A refresh writes about 1,500 Dagster events (every dbt model and test is an asset event), and
Dagster's SQLite storage commits each on a new connection: with SQLite's default
`synchronous=FULL` every commit, and the WAL checkpoint as each connection closes, waits for an
fsync, about 50 ms an event on this project's 2-core VM (over a minute of `make demo`).
`synchronous=OFF` hands the writes to the operating system instead: a killed process (SIGKILL,
tests/test_crash_recovery.py) loses nothing; only an OS crash or power loss can lose or
corrupt the run history. It applies to the SQLite files Dagster opens through SQLAlchemy in the
CLI's process; the warehouse and serving files (DuckDB) and the actions store (sqlite3, not
SQLAlchemy) keep their own durability, and an instance on Postgres is untouched.

A run over a range of daily partitions also announced each partition of each asset as its own
"materialization planned" event before its first step: 2,880 events and 26 s before the demo's
year-long run started. `PLANNED_RANGES` (Dagster's switch) makes that one event per asset
holding the range. What it gives up, in Dagster's words: the partitions of a run that fails
are not marked failed. The run itself still is, and nothing here reads partition failures.
"""

from __future__ import annotations

import os
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _without_fsync(dbapi_connection, _connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


PLANNED_RANGES = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def write_history_lightly() -> None:
    """From now on, in this process: every SQLite connection SQLAlchemy opens skips fsync, and
    the runs it starts plan a partition range in one event per asset (unless already set)."""
    if not event.contains(Engine, "connect", _without_fsync):
        event.listen(Engine, "connect", _without_fsync)
    os.environ.setdefault(PLANNED_RANGES, "1")
