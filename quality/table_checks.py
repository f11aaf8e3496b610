"""Set-based checks Great Expectations does not express well, as aggregate DuckDB queries.

Column types, daily volume against its trailing median, a rate within its band, freshness,
referential integrity, and the share of a landing day's rows quarantined or late: each
returns an `Outcome` of kind `sql`, labelled with the gate it belongs to (`quality.gates`
says which suite runs which, with what thresholds).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb

from extracts.ingest import QUARANTINE_SCHEMA
from quality.results import Outcome, Window, jsonable
from quality.sql_engine import split_table, table_columns, where_clause
from quality.suites import CRITICAL, WARNING, Severity, SuiteDef, get_suite

MAX_QUARANTINE_SHARE = 0.01
MAX_LATE_SHARE = 0.05
MIN_FAULTY_ROWS = 3
# A normal distribution's standard deviation is 1.4826 x its median absolute deviation.
MAD_TO_SIGMA = 1.4826


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    return con.execute(sql, params or []).fetchall()[0][0]


def check_column_types(
    con: duckdb.DuckDBPyConnection, suite_name: str, table: str | None = None
) -> Outcome:
    """The table's columns and DuckDB types equal the contract's (missing, extra or retyped)."""
    definition = get_suite(suite_name)
    actual = table_columns(con, table or definition.table)
    expected = dict(definition.columns)
    problems = {
        c: {"expected": t, "actual": actual.get(c)}
        for c, t in expected.items()
        if actual.get(c) != t
    }
    problems.update(
        {c: {"expected": None, "actual": t} for c, t in actual.items() if c not in expected}
    )
    return Outcome(
        suite=definition.name,
        expectation="column_types",
        column=None,
        success=not problems,
        severity=CRITICAL,
        observed_value=problems or "match",
        unexpected_count=len(problems),
        kind="sql",
        gate="contract",
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def check_volume(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    window: Window,
    *,
    table: str | None = None,
    day_column: str | None = None,
    lookback_days: int = 14,
    low: float = 0.5,
    high: float = 2.0,
    same_day_type: bool = True,
    min_history: int = 3,
    noise_sigmas: float = 3.0,
    severity: Severity = CRITICAL,
) -> Outcome:
    """Every day's row count lies in [low, high] x the median daily count of its trailing days,
    or within `noise_sigmas` standard deviations of that median: Poisson's sqrt(median), and
    above the median the trailing days' own robust spread (1.4826 x their median absolute
    deviation) when wider. At a few dozen rows a day halving happens by chance, and support
    traffic is burstier than Poisson upwards (an incident doubles a day): a gate must not
    stop on what the table's own recent days show to be ordinary. Nothing but chance takes
    traffic away, so below the median only Poisson's noise is forgiven: a shortfall beyond
    it is missing data.

    Support and product traffic has a strong weekly shape (weekends carry about a third of a
    weekday in the demo), so by default the median is taken over the trailing days of the
    same type (weekdays or weekend days) within `lookback_days`. Days with no rows count as
    zero, from the table's first day on; a day with fewer than `min_history` comparable days
    passes and says so. One grouped query; the medians are over at most a few hundred counts.
    """
    definition = get_suite(suite_name)
    table = table or definition.table
    column = day_column or definition.partition_column
    first = window.start - dt.timedelta(days=lookback_days)
    counts = dict(
        con.execute(
            f'SELECT CAST("{column}" AS DATE), count(*) FROM {table} '
            f'WHERE "{column}" >= ? AND "{column}" < ? GROUP BY 1',
            [first, window.end],
        ).fetchall()
    )
    earliest = _scalar(con, f'SELECT min(CAST("{column}" AS DATE)) FROM {table}')
    checked, failed, judged = 0, {}, {}
    for day in window.days:
        weekend = day.weekday() >= 5
        history = [
            counts.get(d, 0)
            for d in (day - dt.timedelta(days=k) for k in range(lookback_days, 0, -1))
            if earliest is not None
            and d >= earliest
            and (not same_day_type or (d.weekday() >= 5) == weekend)
        ]
        rows = counts.get(day, 0)
        if len(history) < min_history:
            continue
        checked += 1
        median = _median(history)
        ratio = rows / median if median else (1.0 if rows == 0 else math.inf)
        judged[str(day)] = {"rows": rows, "median": median, "ratio": round(ratio, 4)}
        sigma = math.sqrt(median)
        if rows > median:  # bursts add traffic; a shortfall beyond chance is missing data
            sigma = max(sigma, MAD_TO_SIGMA * _median([abs(h - median) for h in history]))
        judged[str(day)]["sigma"] = round(sigma, 2)
        within_noise = abs(rows - median) <= noise_sigmas * sigma
        if not low <= ratio <= high and not within_noise:
            failed[str(day)] = judged[str(day)]
    observed: dict[str, Any] = {
        "band": [low, high],
        "noise_sigmas": noise_sigmas,
        "days_checked": checked,
        "failed_days": failed,
    }
    if len(window.days) == 1:
        observed |= judged.get(str(window.start), {"note": "insufficient history"})
    return Outcome(
        definition.name, f"volume({column})", column, not failed, severity,
        observed, len(failed), len(window.days), "sql", "volume",
    )  # fmt: skip


def check_rate_band(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    name: str,
    numerator_sql: str,
    low: float,
    high: float,
    *,
    where_sql: str | None = None,
    table: str | None = None,
    min_rows: int = 50,
    severity: Severity = WARNING,
) -> Outcome:
    """Distribution sanity: avg(`numerator_sql` as 0/1) over the window lies in [low, high]."""
    definition = get_suite(suite_name)
    table = table or definition.table
    rows, rate = con.execute(
        f"SELECT count(*), avg(CASE WHEN {numerator_sql} THEN 1.0 ELSE 0.0 END) "
        f"FROM {table} {where_clause(where_sql)}"
    ).fetchall()[0]
    observed: dict[str, Any] = {
        "rows": rows,
        "rate": None if rate is None else round(rate, 4),
        "band": [low, high],
    }
    success = True
    if rows < min_rows:
        observed["note"] = f"fewer than {min_rows} rows: not judged"
    else:
        success = low <= rate <= high
    return Outcome(
        definition.name, name, None, success, severity, observed, None, rows, "sql",
        "distribution",
    )  # fmt: skip


def check_freshness(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    window: Window,
    max_lag: dt.timedelta,
    *,
    per_day: bool = False,
    column: str | None = None,
    table: str | None = None,
    severity: Severity = CRITICAL,
) -> Outcome:
    """The newest `column` value (default: the suite's event time; snapshot tables: their
    partition column) lies within `max_lag` of the window's end.

    `per_day`: every day of the window, judged on the rows of that partition day against
    that day's end, so one stale day inside a long backfill is caught too. A day without
    rows is stale.
    """
    definition = get_suite(suite_name)
    table = table or definition.table
    column = column or definition.event_time or definition.partition_column
    day_column = definition.partition_column
    if per_day:
        newest = dict(
            con.execute(
                f'SELECT CAST("{day_column}" AS DATE), max(CAST("{column}" AS TIMESTAMP)) '
                f"FROM {table} WHERE {window.where(day_column)} GROUP BY 1"
            ).fetchall()
        )
        ends = {d: dt.datetime.combine(d + dt.timedelta(days=1), dt.time()) for d in window.days}
    else:
        value = _scalar(
            con,
            f'SELECT max(CAST("{column}" AS TIMESTAMP)) FROM {table} '
            f"WHERE {window.where(day_column)}",
        )
        ends = {window.end: dt.datetime.combine(window.end, dt.time())}
        newest = {window.end: value}
    lags = {d: None if newest.get(d) is None else end - newest[d] for d, end in ends.items()}
    stale = {
        str(d): None if lag is None else round(lag.total_seconds() / 3600, 3)
        for d, lag in lags.items()
        if lag is None or lag > max_lag
    }
    known = [lag for lag in lags.values() if lag is not None]
    observed = {
        "newest": None if not newest else str(max((v for v in newest.values() if v), default=None)),
        "max_lag_hours": max_lag.total_seconds() / 3600,
        "worst_lag_hours": round(max(known).total_seconds() / 3600, 3) if known else None,
        "days_checked": len(ends),
        "stale_days": dict(list(stale.items())[:20]),
    }
    return Outcome(
        definition.name, f"freshness({column})", column, not stale, severity,
        observed, len(stale), len(ends), "sql", "freshness",
    )  # fmt: skip


def check_referential_integrity(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    column: str,
    parent_table: str,
    parent_column: str | None = None,
    *,
    table: str | None = None,
    where_sql: str | None = None,
    max_orphan_fraction: float = 0.01,
    severity: Severity = CRITICAL,
) -> Outcome:
    """Rows of the window whose `column` has no match in `parent_table` (all of it).

    A small tolerance is the default: a ticket quarantined by ingestion leaves its events
    orphaned (the demo has 144 of 349k), which is expected, not a broken extract.
    """
    definition = get_suite(suite_name)
    table = table or definition.table
    parent_column = parent_column or column
    rows, orphans, sample = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE p."{parent_column}" IS NULL AND c."{column}" IS NOT NULL),
                   list(DISTINCT c."{column}") FILTER (WHERE p."{parent_column}" IS NULL AND c."{column}" IS NOT NULL)[1:10]
            FROM (SELECT "{column}" FROM {table} {where_clause(where_sql)}) c
            LEFT JOIN (SELECT DISTINCT "{parent_column}" FROM {parent_table}) p
              ON c."{column}" = p."{parent_column}" """
    ).fetchall()[0]
    fraction = orphans / rows if rows else 0.0
    observed = {
        "orphans": orphans,
        "fraction": round(fraction, 6),
        "max_fraction": max_orphan_fraction,
        "sample": jsonable(sample or []),
    }
    return Outcome(
        definition.name, f"referential_integrity({column}->{parent_table}.{parent_column})",
        column, fraction <= max_orphan_fraction, severity, observed, orphans, rows, "sql",
        "integrity",
    )  # fmt: skip


def _days_over(rows: list[tuple], max_share: float, min_rows: int) -> list[dict]:
    """(day, label, n, rows_read) rows with n over `max_share` of the day and at least
    `min_rows`, worst first. The floor keeps one bad row on a quiet Sunday (1 of 88 tickets)
    from stopping the pipeline; a broken extract breaks many rows."""
    over = [
        {"day": str(day), "kind": label, "rows": n, "rows_read": read, "share": round(n / read, 4)}
        for day, label, n, read in rows
        if read and n >= min_rows and n / read > max_share
    ]
    return sorted(over, key=lambda r: -r["share"])


def _read_per_day(definition: SuiteDef, window: Window) -> str:
    """Rows read per landing day: loaded plus quarantined."""
    name = split_table(definition.table)[1]
    return f"""SELECT _landing_date AS day, count(*) AS rows_read FROM (
                   SELECT _landing_date FROM {definition.table} WHERE {window.where("_landing_date")}
                   UNION ALL
                   SELECT _landing_date FROM {QUARANTINE_SCHEMA}.{name}
                   WHERE {window.where("_landing_date")}) GROUP BY 1"""


def check_quarantine_share(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    window: Window,
    max_share: float = MAX_QUARANTINE_SHARE,
    min_rows: int = MIN_FAULTY_ROWS,
    severity: Severity = CRITICAL,
) -> Outcome:
    """No fault kind quarantined more than `max_share` (and `min_rows`) of a landing day's rows.

    Ingestion keeps bad rows out of `raw`, so the raw suite alone cannot see a broken
    extract; its quarantine can. Judged per day and kind, so one broken day inside a long
    backfill is not diluted by the good ones.
    """
    definition = get_suite(suite_name)
    name = split_table(definition.table)[1]
    # One row per (landing day, fault kind), plus a kind-less row for days without faults,
    # each with the day's rows read: the per-day verdict, the kinds and the total at once.
    rows = con.execute(
        f"""WITH read AS ({_read_per_day(definition, window)}),
                 bad AS (SELECT _landing_date AS day, fault_kind, count(*) AS n
                         FROM {QUARANTINE_SCHEMA}.{name}
                         WHERE {window.where("_landing_date")} GROUP BY 1, 2)
            SELECT read.day, bad.fault_kind, coalesce(bad.n, 0), read.rows_read
            FROM read LEFT JOIN bad ON bad.day = read.day"""
    ).fetchall()
    over = _days_over(rows, max_share, min_rows)
    by_kind: dict[str, int] = {}
    for _, kind, n, _ in sorted(rows, key=lambda r: r[1] or ""):
        if kind is not None:
            by_kind[kind] = by_kind.get(kind, 0) + n
    rows_read = sum({day: read for day, _, _, read in rows}.values())
    observed = {
        "max_share": max_share,
        "min_rows": min_rows,
        "quarantined_by_kind": by_kind,
        "rows_read": rows_read,
        "over_limit": over[:20],
    }
    return Outcome(
        definition.name, "quarantine_share(fault_kind)", None, not over, severity,
        observed, sum(by_kind.values()), rows_read, "sql", "quarantine",
    )  # fmt: skip


def check_late_share(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    window: Window,
    max_share: float = MAX_LATE_SHARE,
    min_rows: int = MIN_FAULTY_ROWS,
    severity: Severity = CRITICAL,
) -> Outcome:
    """At most `max_share` (or fewer than `min_rows`) of a landing day's rows arrived late."""
    definition = get_suite(suite_name)
    rows = con.execute(
        f"""SELECT _landing_date, 'late', count(*) FILTER (WHERE _is_late), count(*)
            FROM {definition.table} WHERE {window.where("_landing_date")} GROUP BY 1"""
    ).fetchall()
    over = _days_over(rows, max_share, min_rows)
    late, read = sum(r[2] for r in rows), sum(r[3] for r in rows)
    observed = {"max_share": max_share, "late_rows": late, "over_limit": over[:20]}
    return Outcome(
        definition.name, "late_share(_is_late)", "_is_late", not over, severity,
        observed, late, read, "sql", "late_rows",
    )  # fmt: skip


def table_window(con: duckdb.DuckDBPyConnection, definition: SuiteDef) -> Window | None:
    """The window spanning every partition day the table has (None when it is empty)."""
    column = definition.partition_column
    first, last = con.execute(
        f'SELECT min(CAST("{column}" AS DATE)), max(CAST("{column}" AS DATE)) FROM {definition.table}'
    ).fetchall()[0]
    return Window(first, last + dt.timedelta(days=1)) if first else None
