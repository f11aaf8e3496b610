"""DuckDB FATAL errors, told once and plainly.

A FATAL error (an internal bug, a failed checkpoint or WAL write) invalidates the DuckDB
instance that raised it: every later statement of that process fails with "database has
been invalidated". Inside a dbt build that is a cascade of failing nodes whose first error is
the only one that matters. This module finds that first error and says what it means for
the warehouse file and what to run next. No Dagster here: the warehouse step raises the
message, the CLI prints it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from extracts.ledger import built_through

# DuckDB invalidates its database on an INTERNAL error too (the 2.0.0 dictionary-cache bug
# raises one: tests/duckdb_regressions/), and reports each later statement as FATAL.
_FATAL_MARKERS = ("FATAL Error", "INTERNAL Error", "database has been invalidated")
_INVALIDATED = "database has been invalidated"


def is_fatal(message: str | None) -> bool:
    return bool(message) and any(marker in message for marker in _FATAL_MARKERS)


def first_fatal(messages: Iterable[str | None]) -> str | None:
    """The error that invalidated the database, from "FATAL Error" (or "INTERNAL Error")
    on: the first such message that is not merely a report of the invalidation (those
    quote the original error after "Original error:")."""
    fatal = [m for m in messages if is_fatal(m)]
    for message in fatal:
        if _INVALIDATED not in message:
            starts = [message.find(m) for m in _FATAL_MARKERS if m in message]
            return message[min(starts) :]
    if not fatal:
        return None
    quoted = fatal[0].split("Original error:", 1)
    return quoted[1].strip().strip('"') if len(quoted) == 2 else fatal[0]


def dbt_fatal_error(log_events: Iterable[dict]) -> tuple[str, str, int] | None:
    """(node, error, other nodes that failed) when a DuckDB FATAL error stopped a dbt run.

    Read from dbt's JSON log events (its `dbt.log`): a FATAL error can crash dbt itself
    before it writes run_results.json.
    """
    messages, node, errored = [], None, set()
    for event in log_events:
        message = event.get("info", {}).get("msg")
        messages.append(message)
        node_info = event.get("data", {}).get("node_info") or {}
        if node is None and node_info.get("unique_id") and is_fatal(message):
            node = node_info["unique_id"]
        if node_info.get("node_status") == "error":
            errored.add(node_info["unique_id"])
    error = first_fatal(messages)
    if error is None:
        return None
    return node or "dbt", error, len(errored - {node})


@dataclass(frozen=True)
class WarehouseState:
    intact: bool
    detail: str


def inspect_warehouse(path: Path) -> WarehouseState:
    """Whether the warehouse file still opens and reads, in a fresh DuckDB instance."""
    if not path.exists():
        return WarehouseState(False, f"{path} does not exist")
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            tables = con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]
            as_of = built_through(con)
    except duckdb.Error as error:
        return WarehouseState(False, f"{path} does not open: {_first_line(str(error))}")
    built = f", built through {as_of}" if as_of else ""
    return WarehouseState(True, f"{path} opens and reads ({tables} tables{built})")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def fatal_message(
    step: str, error: str, warehouse: Path, cascade: int = 0, log: Path | None = None
) -> str:
    """One paragraph: what failed, whether the warehouse survived, what to run next."""
    state = inspect_warehouse(warehouse)
    lines = [
        f"DuckDB raised a FATAL error in {step}: {_first_line(error)}",
        "DuckDB invalidated that process's database"
        + (
            f"; the {cascade} other nodes that failed did so only because of that."
            if cascade
            else "."
        ),
        "Nothing was published: the serving database is the previous one.",
    ]
    if state.intact:
        lines += [
            f"The warehouse file is intact: {state.detail}; the unfinished build left no "
            "watermark, so the next run rebuilds the same days.",
            "Next: run `make materialize` (or `./supportops materialize`) again. If it "
            "fails the same way, report it with DuckDB's version (`.venv/bin/python -c "
            '"import duckdb; print(duckdb.__version__)"`) and '
            + (f"the dbt log ({log})." if log else "the run's log in the Dagster UI."),
        ]
    else:
        lines += [
            f"The warehouse file is damaged: {state.detail}.",
            f"Next: move {warehouse} (and its .wal) aside and run `./supportops "
            "materialize`: it rebuilds the warehouse from the landing files, which are intact.",
        ]
    return "\n".join(lines)
