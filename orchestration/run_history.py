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
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _without_fsync(dbapi_connection, _connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def write_history_without_fsync() -> None:
    """Every SQLite connection SQLAlchemy opens from now on, in this process, skips fsync."""
    if not event.contains(Engine, "connect", _without_fsync):
        event.listen(Engine, "connect", _without_fsync)
