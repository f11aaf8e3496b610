"""What checks produce, and where it is kept.

A check of a suite gives an `Outcome`; a suite run over a partition `Window` gives a
`SuiteResult` (whichever engine validated it); every outcome is appended to
`quality.check_results` in DuckDB, which the CLI, the data docs and the dashboards read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from extracts.catalog import table_exists
from quality.suites import CRITICAL, WARNING, Severity

RESULTS_TABLE = "quality.check_results"


@dataclass(frozen=True)
class Window:
    """A partition window of days: `start` inclusive, `end` exclusive (Dagster's convention)."""

    start: dt.date
    end: dt.date

    @classmethod
    def day(cls, day: dt.date | str) -> Window:
        d = dt.date.fromisoformat(day) if isinstance(day, str) else day
        return cls(d, d + dt.timedelta(days=1))

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days)]

    def where(self, column: str) -> str:
        return f"\"{column}\" >= DATE '{self.start}' AND \"{column}\" < DATE '{self.end}'"

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


@dataclass
class Outcome:
    """One expectation or SQL check's result."""

    suite: str
    expectation: str
    """Stable label, e.g. `expect_column_values_to_not_be_null(ticket_id)` or `volume(_landing_date)`."""
    column: str | None
    success: bool
    severity: Severity
    observed_value: Any = None
    unexpected_count: int | None = None
    element_count: int | None = None
    kind: str = "ge"
    """`ge` (Great Expectations) or `sql` (set-based check in DuckDB)."""
    gate: str = ""
    """The named check (Dagster asset check) this outcome belongs to; see `quality.gates`."""

    def __post_init__(self) -> None:
        if not self.gate:  # suite expectations: critical ones are the contract, the rest sanity
            self.gate = "contract" if self.severity == CRITICAL else "sanity"

    @property
    def blocking(self) -> bool:
        return not self.success and self.severity == CRITICAL


@dataclass
class SuiteResult:
    """A suite's outcomes over one window, with what it took to get them."""

    suite: str
    table: str
    outcomes: list[Outcome]
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    where_sql: str | None = None
    gx_results: list[Any] = field(default_factory=list, repr=False)
    """The raw GE `ExpectationSuiteValidationResult` per batch (for data docs)."""

    @property
    def success(self) -> bool:
        """Every expectation passed (warnings included)."""
        return all(o.success for o in self.outcomes)

    @property
    def passed_critical(self) -> bool:
        """No critical expectation failed: downstream may run."""
        return not any(o.blocking for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success]

    def outcome(self, expectation: str) -> Outcome:
        return next(o for o in self.outcomes if o.expectation == expectation)


def jsonable(value: Any) -> Any:
    """An observed value as it will read back from the results table's JSON column."""
    return json.loads(json.dumps(value, default=str))


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
    if not table_exists(con, RESULTS_TABLE):
        return []
    cur = con.execute(
        f"""SELECT * FROM {RESULTS_TABLE}
            QUALIFY checked_at = max(checked_at) OVER (PARTITION BY suite)
            ORDER BY suite, success, severity, check_name, expectation"""
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


DBT_SUITE = "dbt"
INGESTION_SUITE = "ingestion"


def dbt_test_outcomes(run_results: dict, manifest: dict) -> list[Outcome]:
    """One outcome per dbt data test of a build (its run_results.json), so `supportops
    quality`, the data docs and the Quality page show dbt's failures beside the suites'.

    dbt's message ("Got 3 results, configured to fail if != 0") counts rows, it quotes none."""
    outcomes = []
    for result in run_results.get("results", []):
        unique_id = result["unique_id"]
        if not unique_id.startswith("test."):
            continue
        node = manifest.get("nodes", {}).get(unique_id, {})
        warn = str(node.get("config", {}).get("severity", "error")).lower() == "warn"
        outcomes.append(
            Outcome(
                suite=DBT_SUITE,
                expectation=node.get("name", unique_id),
                column=node.get("column_name"),
                success=result["status"] == "pass",
                severity=WARNING if warn else CRITICAL,
                observed_value={"status": result["status"], "message": result.get("message")},
                unexpected_count=result.get("failures"),
                kind="dbt",
                gate="dbt_test",
            )
        )
    return outcomes


def ingestion_outcome(
    table: str,
    *,
    rows_read: int = 0,
    rows_quarantined: int = 0,
    by_kind: dict[str, int] | None = None,
    file: str | None = None,
    problem: str | None = None,
) -> Outcome:
    """A load of `raw.<table>`: its quarantine counts, or the file it refused and why (the
    project's own words: file, line, problem, never row content)."""
    failed = problem is not None
    return Outcome(
        suite=f"{INGESTION_SUITE}.{table}",
        expectation="file_refused" if failed else "rows_quarantined",
        column=None,
        success=not failed,
        severity=CRITICAL if failed else WARNING,
        observed_value={"file": file, "problem": problem}
        if failed
        else {
            "rows_read": rows_read,
            "rows_quarantined": rows_quarantined,
            "by_kind": by_kind or {},
        },
        unexpected_count=None if failed else rows_quarantined,
        element_count=None if failed else rows_read,
        kind="ingestion",
        gate="load",
    )
