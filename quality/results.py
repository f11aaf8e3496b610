"""Append check outcomes to `quality.check_results` in DuckDB."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import duckdb

from quality.checks import Outcome, SuiteResult, Window

RESULTS_TABLE = "quality.check_results"

COLUMNS = (
    ("run_id", "VARCHAR"),
    ("suite", "VARCHAR"),
    ("check_name", "VARCHAR"),
    ("expectation", "VARCHAR"),
    ("column_name", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("success", "BOOLEAN"),
    ("severity", "VARCHAR"),
    ("observed_value", "JSON"),
    ("unexpected_count", "BIGINT"),
    ("element_count", "BIGINT"),
    ("partition_start", "DATE"),
    ("partition_end", "DATE"),
    ("checked_at", "TIMESTAMP"),
)


def ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create `quality.check_results` if it does not exist (safe to call every run)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    cols = ", ".join(f"{name} {type_}" for name, type_ in COLUMNS)
    con.execute(f"CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} ({cols})")


def write_results(
    con: duckdb.DuckDBPyConnection,
    results: Iterable[SuiteResult | Outcome],
    run_id: str,
    window: Window | None = None,
    checked_at: dt.datetime | None = None,
) -> int:
    """Append one row per outcome; returns the number of rows written.

    `window` is the partition window the results are for (None: the whole table); its
    `end` is exclusive. `checked_at` defaults to now (UTC, naive).
    """
    ensure_results_table(con)
    when = checked_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    outcomes: list[Outcome] = []
    for r in results:
        outcomes += r.outcomes if isinstance(r, SuiteResult) else [r]
    rows = [
        (
            run_id,
            o.suite,
            o.gate,
            o.expectation,
            o.column,
            o.kind,
            o.success,
            o.severity,
            json.dumps(o.observed_value, default=str),
            o.unexpected_count,
            o.element_count,
            window.start if window else None,
            window.end if window else None,
            when,
        )
        for o in outcomes
    ]
    if rows:
        marks = ", ".join("?" for _ in COLUMNS)
        con.executemany(f"INSERT INTO {RESULTS_TABLE} VALUES ({marks})", rows)
    return len(rows)


def latest_results(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The outcomes of the most recent run of each suite (for `supportops quality`).

    Works on a read-only connection: a database without results gives an empty list."""
    schema, _, name = RESULTS_TABLE.partition(".")
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchone()[0]
    if not exists:
        return []
    cur = con.execute(
        f"""SELECT * FROM {RESULTS_TABLE}
            QUALIFY checked_at = max(checked_at) OVER (PARTITION BY suite)
            ORDER BY suite, success, severity, check_name, expectation"""
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
