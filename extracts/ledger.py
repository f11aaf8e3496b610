"""What was loaded when, and what was built from it: the warehouse's own bookkeeping.

Ingestion records every (re)load of a day range, even one that left no valid rows; the
warehouse build records each success. The difference is the window the next incremental
build must cover, and the newest day a successful build covered is how current the marts
(and the serving copy made from them) are.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from extracts.catalog import table_exists

META_SCHEMA = "meta"
LOADS_TABLE = f"{META_SCHEMA}.raw_loads"
BUILDS_TABLE = f"{META_SCHEMA}.dbt_builds"
DAYS_TABLE = f"{META_SCHEMA}.raw_day_loads"
# The window the running dbt build reads (macros/incremental_window.sql): a table rather than
# `--vars`, so dbt's partial parsing stays valid from one build to the next.
WINDOW_TABLE = f"{META_SCHEMA}.dbt_build_window"


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (
                table_name VARCHAR, first_day DATE, last_day DATE, loaded_at TIMESTAMP)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {BUILDS_TABLE} (
                started_at TIMESTAMP, first_day DATE, last_day DATE, full_build BOOLEAN,
                data_as_of DATE)"""
    )
    # Added later: warehouses built before it get the column, empty.
    con.execute(f"ALTER TABLE {BUILDS_TABLE} ADD COLUMN IF NOT EXISTS definition VARCHAR")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {DAYS_TABLE} (
                table_name VARCHAR, landing_date DATE, fingerprint VARCHAR,
                resent_keys BIGINT, loaded_at TIMESTAMP)"""
    )


def record_load(
    con: duckdb.DuckDBPyConnection,
    table: str,
    first_day: dt.date,
    last_day: dt.date,
    loaded_at: dt.datetime,
) -> None:
    """Call inside the load's transaction, so the record and the data commit together."""
    con.execute(
        f"INSERT INTO {LOADS_TABLE} VALUES (?, ?, ?, ?)", [table, first_day, last_day, loaded_at]
    )


def record_days(
    con: duckdb.DuckDBPyConnection,
    table: str,
    days: list[tuple[dt.date, str, int]],
    loaded_at: dt.datetime,
) -> None:
    """Per loaded day: the file's content fingerprint and how many of its rows carry a key
    that another landing day also holds. Inside the load's transaction, like `record_load`."""
    if not days:  # an optional entity's window without files
        return
    con.executemany(
        f"INSERT INTO {DAYS_TABLE} VALUES (?, ?, ?, ?, ?)",
        [(table, day, fingerprint, resent, loaded_at) for day, fingerprint, resent in days],
    )


def pending_corrections(con: duckdb.DuckDBPyConnection) -> list[tuple[str, dt.date, str]]:
    """(table, day, why) of every correction loaded since the last successful build.

    A correction is a day re-delivered with other content than its previous load (rows
    changed or deleted), or a day loaded for the first time that re-sends keys another day
    holds (a newer version of a ticket, say). A windowed build cannot carry either through:
    delete+insert models never delete a key that disappeared, and a changed record can move
    features of days far outside the look-back. The next build is a full one instead.
    """
    ensure_ledger(con)
    return con.execute(
        f"""WITH since AS (SELECT max(started_at) AS started_at FROM {BUILDS_TABLE}),
                 history AS (
                     SELECT *, lag(fingerprint) OVER (
                                   PARTITION BY table_name, landing_date ORDER BY loaded_at
                               ) AS previous
                     FROM {DAYS_TABLE})
            SELECT DISTINCT table_name, landing_date,
                   CASE WHEN previous IS NOT NULL AND previous <> fingerprint
                        THEN 're-delivered with other content'
                        ELSE 're-sends ' || resent_keys || ' keys of other days' END
            FROM history, since
            WHERE (since.started_at IS NULL OR loaded_at > since.started_at)
              AND ((previous IS NOT NULL AND previous <> fingerprint)
                   OR (previous IS NULL AND resent_keys > 0))
            ORDER BY 1, 2"""
    ).fetchall()


def pending_window(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """The landing days (re)loaded since the last successful build began.

    With no build recorded yet, every loaded day; with nothing new, the newest day (a cheap
    re-derivation that keeps the tests running); with nothing ever loaded, None.
    """
    ensure_ledger(con)
    return con.execute(
        f"""WITH since AS (SELECT max(started_at) AS started_at FROM {BUILDS_TABLE}),
                 pending AS (
                     SELECT min(first_day) AS first_day, max(last_day) AS last_day
                     FROM {LOADS_TABLE}, since
                     WHERE since.started_at IS NULL OR loaded_at > since.started_at)
            SELECT coalesce(pending.first_day, newest.day), coalesce(pending.last_day, newest.day)
            FROM pending, (SELECT max(last_day) AS day FROM {LOADS_TABLE}) AS newest
            WHERE newest.day IS NOT NULL"""
    ).fetchone()


def set_build_window(
    con: duckdb.DuckDBPyConnection, window: tuple[dt.date, dt.date] | None
) -> None:
    """The landing days the next dbt build processes; None for a full build (no table)."""
    ensure_ledger(con)
    if window is None:
        con.execute(f"DROP TABLE IF EXISTS {WINDOW_TABLE}")
    else:
        con.execute(
            f"CREATE OR REPLACE TABLE {WINDOW_TABLE} AS "
            "SELECT ?::DATE AS start_date, ?::DATE AS end_date",
            list(window),
        )


def record_build(
    con: duckdb.DuckDBPyConnection,
    started_at: dt.datetime,
    window: tuple[dt.date, dt.date] | None,
    full_build: bool,
    definition: str | None = None,
) -> None:
    """Remember a successful build, the newest landing day it covered and the definition
    (a fingerprint of the models) it was built with."""
    first, last = window or (None, None)
    con.execute(
        f"""INSERT INTO {BUILDS_TABLE}
                (started_at, first_day, last_day, full_build, data_as_of, definition)
            SELECT ?, ?, ?, ?, (SELECT max(last_day) FROM {LOADS_TABLE} WHERE loaded_at < ?), ?""",
        [started_at, first, last, full_build, started_at, definition],
    )


def built_definition(con: duckdb.DuckDBPyConnection) -> str | None:
    """The definition the newest successful build was made with (None before any, or before
    the ledger recorded definitions)."""
    ensure_ledger(con)
    row = con.execute(
        f"SELECT definition FROM {BUILDS_TABLE} ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def has_build(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any warehouse build succeeded yet (the first one rebuilds everything)."""
    ensure_ledger(con)
    return con.execute(f"SELECT count(*) > 0 FROM {BUILDS_TABLE}").fetchone()[0]


def built_through(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The newest landing day reflected by a successful build: the marts' "data as of".

    Reads only (no ledger is created), so it also serves a read-only connection."""
    if not table_exists(con, BUILDS_TABLE):
        return None
    return con.execute(f"SELECT max(data_as_of) FROM {BUILDS_TABLE}").fetchone()[0]


def last_build(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """The landing-day window of the newest successful build; None for a full build or none."""
    ensure_ledger(con)
    row = con.execute(
        f"SELECT first_day, last_day, full_build FROM {BUILDS_TABLE} "
        "ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    if row is None or row[2] or row[0] is None:
        return None
    return row[0], row[1]
