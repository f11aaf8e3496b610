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

Each event also compiled its SQL again: Dagster's SQLite event log makes a new SQLAlchemy
engine for every connection, and SQLAlchemy caches compiled statements per engine.
`SqliteRunHistory` (dagster.yaml's storage) is Dagster's SQLite storage with one engine per
file, reused: 720 partition materialisations went from 9.5 to 5.8 s. It also keeps each
file's connection open and remembers which tables the index has (Dagster opened a connection,
twice, and built a new engine to ask, for every asset event): a year of daily partitions of
one asset, 365 events, 3.7 -> 1.6 s; the demo writes 8 such ranges.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

# Event log files whose engine is kept: a run's own file and the index, with room for a
# webserver that reads many runs; the oldest is dropped past it.
KEPT_ENGINES = 64


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


class _EventLogReusingEngines(SqliteEventLogStorage):
    """Dagster's SQLite event log, each file with one engine and one connection, kept."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: dict[str, Engine] = {}
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data)

    def has_table(self, table_name: str) -> bool:
        """Dagster asks for every asset event whether the index has a table, on a new engine
        each time; a table once there stays there."""
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                if len(self._engines) >= KEPT_ENGINES:
                    self._engines.pop(next(iter(self._engines))).dispose()
                # One connection per file, kept open: `_db_lock` serialises its users (so any
                # thread may use it), and SQLite takes its locks per transaction, not per
                # connection, so other processes still write between ours.
                engine = self._engines[shard] = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=StaticPool,
                    connect_args={
                        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                        "check_same_thread": False,
                    },
                )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn


class SqliteRunHistory(DagsterSqliteStorage):
    """`storage: sqlite` of dagster.yaml with the event log above (same files, same schema)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = _EventLogReusingEngines(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> SqliteRunHistory:
        return cls.from_local(inst_data=inst_data, **config_value)
