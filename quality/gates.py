"""A suite's gates: which named checks it has, running them, and their verdicts.

A gate is one Dagster asset check: `contract` and `sanity` are the suite's critical and
warning expectations (`validate_table`, by either engine), the others are set-based checks
from `quality.table_checks`, with the thresholds each suite is held to set here. Critical
gates block everything downstream; warning gates are shown only. `run_suite` is the entry
point the orchestration calls, `by_gate` splits its result into the gates' verdicts.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Literal

import duckdb

from quality.gx_engine import DEFAULT_BATCH_ROWS, validate_gx
from quality.results import Outcome, SuiteResult, Window
from quality.sql_engine import validate_sql
from quality.suites import (
    CRITICAL,
    FCT_TICKETS,
    RAW_TELEMETRY_EVENTS,
    RAW_TICKET_EVENTS,
    RAW_TICKETS,
    WARNING,
    Severity,
    SuiteDef,
    get_suite,
)
from quality.table_checks import (
    check_column_types,
    check_freshness,
    check_late_share,
    check_quarantine_share,
    check_rate_band,
    check_referential_integrity,
    check_volume,
    table_window,
)

# The named checks a suite is gated by (one Dagster asset check each), and their severity:
# critical gates block everything downstream, warning gates are shown only.
GATES: dict[str, tuple[Severity, str]] = {
    "contract": (
        CRITICAL,
        "Columns and types, required fields, allowed values, ranges and key uniqueness: the "
        "suite's critical Great Expectations expectations.",
    ),
    "sanity": (WARNING, "Soft ranges worth a look (the suite's warning expectations)."),
    "quarantine": (
        CRITICAL,
        "No fault kind sends more than 1% (and 3 rows) of any landing day's rows to quarantine.",
    ),
    "late_rows": (CRITICAL, "At most 5% of any landing day's rows belong to an earlier day."),
    "volume": (
        CRITICAL,
        "Every day's row count within 0.5x-2x the median of the trailing 14 days of the same "
        "type (weekdays or weekend days), or within 3 standard deviations of it (Poisson's; "
        "above it, those days' own spread when wider).",
    ),
    "freshness": (
        CRITICAL,
        "The newest event of every landing day (marts: of the window) lies within the agreed "
        "lag of its end; snapshot tables have a row for every day.",
    ),
    "integrity": (
        CRITICAL,
        "Ticket events reference loaded tickets (at most 1% orphans: events of quarantined "
        "tickets).",
    ),
    "distribution": (WARNING, "Bot share and escalation rate within their expected bands."),
}

# Agreed lags: the newest event of a day lands within this of the day's end. Wide enough for
# a quiet Sunday of a small customer base (tickets can be hours apart), narrow enough that an
# export cut off at noon, or yesterday's file landed again, fails.
FRESHNESS_LAG = {
    RAW_TICKETS: dt.timedelta(hours=12),
    RAW_TICKET_EVENTS: dt.timedelta(hours=12),
    RAW_TELEMETRY_EVENTS: dt.timedelta(hours=6),
    FCT_TICKETS: dt.timedelta(hours=12),
}
# Snapshot tables (no event time): the window's last day must be there.
SNAPSHOT_LAG = dt.timedelta(days=1)
BOT_SHARE_BAND = (0.10, 0.50)
ESCALATION_RATE_BAND = (0.03, 0.35)


def gates_for(definition: SuiteDef) -> list[str]:
    """The gates a suite has, in display order (known without touching any data)."""
    raw = definition.is_raw
    gates = ["contract"]
    if any(e.severity == WARNING for e in definition.expectations):
        gates.append("sanity")
    if raw:
        gates += ["quarantine", "late_rows"]
    if raw or definition.name == FCT_TICKETS:
        gates.append("volume")
    gates.append("freshness")
    if definition.name == RAW_TICKET_EVENTS:
        gates.append("integrity")
    if definition.name == FCT_TICKETS:
        gates.append("distribution")
    return gates


def validate_table(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    table: str | None = None,
    where_sql: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    engine: Literal["gx", "sql"] = "gx",
) -> SuiteResult:
    """The suite's expectations (its contract and sanity gates) over `table` (default: the
    suite's own table), rows matching `where_sql`.

    engine="gx" (default): Great Expectations on bounded pandas batches (`quality.gx_engine`);
    engine="sql": the same expectations as one DuckDB query (`quality.sql_engine`): same
    outcomes, no observed samples, much faster over a full range.
    """
    definition = get_suite(suite_name)
    table = table or definition.table
    if engine == "sql":
        return validate_sql(con, definition, table, where_sql)
    return validate_gx(con, definition, table, where_sql, batch_rows)


def run_sql_checks(
    con: duckdb.DuckDBPyConnection, suite_name: str, window: Window | None = None
) -> SuiteResult:
    """The set-based checks of the suite's gates over a window (whole table when None)."""
    definition = get_suite(suite_name)
    started = time.perf_counter()
    gates = gates_for(definition)
    outcomes = [check_column_types(con, suite_name)]
    window = window or table_window(con, definition)
    where = window.where(definition.partition_column) if window else None
    if window:
        if "quarantine" in gates:
            outcomes.append(check_quarantine_share(con, suite_name, window))
        if "late_rows" in gates:
            outcomes.append(check_late_share(con, suite_name, window))
        if "volume" in gates:
            outcomes.append(check_volume(con, suite_name, window))
        lag = FRESHNESS_LAG.get(definition.name, SNAPSHOT_LAG)
        outcomes.append(check_freshness(con, suite_name, window, lag, per_day=definition.is_raw))
    if "integrity" in gates:
        outcomes.append(
            check_referential_integrity(
                con, suite_name, "ticket_id", get_suite(RAW_TICKETS).table, where_sql=where
            )
        )
    if "distribution" in gates:
        outcomes += [
            check_rate_band(
                con, suite_name, "bot_share", "is_bot_handled", *BOT_SHARE_BAND, where_sql=where
            ),
            check_rate_band(
                con, suite_name, "escalation_rate", "is_escalated", *ESCALATION_RATE_BAND,
                where_sql=where,
            ),
        ]  # fmt: skip
    return SuiteResult(
        suite=definition.name,
        table=definition.table,
        outcomes=outcomes,
        seconds=time.perf_counter() - started,
        where_sql=where,
    )


def run_suite(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    window: Window | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    engine: Literal["gx", "sql"] = "gx",
) -> SuiteResult:
    """Expectations and SQL checks of a suite over a partition window, as one result."""
    definition = get_suite(suite_name)
    where = (
        window.where(definition.partition_column)
        if window and definition.partition_column
        else None
    )
    ge = validate_table(con, suite_name, where_sql=where, batch_rows=batch_rows, engine=engine)
    sql = run_sql_checks(con, suite_name, window)
    ge.outcomes += sql.outcomes
    ge.seconds += sql.seconds
    return ge


@dataclass
class GateResult:
    """One gate's verdict: passed unless one of its outcomes failed."""

    name: str
    severity: Severity
    outcomes: list[Outcome]

    @property
    def passed(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success]


def by_gate(result: SuiteResult) -> list[GateResult]:
    """A suite result split into its gates (every gate of the suite, even without outcomes)."""
    definition = get_suite(result.suite)
    return [
        GateResult(gate, GATES[gate][0], [o for o in result.outcomes if o.gate == gate])
        for gate in gates_for(definition)
    ]
