"""The actions store: what people did with the scores (ticket reviews, outreach calls).

A SQLite file beside the warehouse, not the warehouse: DuckDB allows one writer process and
the pipeline holds it for minutes, while reviewers and CSMs write from the dashboards and
the CLI at any time. SQLite in WAL mode takes their writes concurrently (each waits a few
seconds for the lock), and the pipeline reads a consistent snapshot of it on each refresh
(`read_tables`), as it would any source.

Who decided is kept as a role and the HMAC of the person's email (the same hash ingestion
gives an email field), never the email. Plain library: the dashboards, the CLI, the
generator's simulated CSM team and the Dagster asset all write or read through it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

DECISIONS = ("accept", "override")
OVERRIDE_REASONS = ("not_urgent", "already_handled", "wrong_category", "customer_context", "other")
"""Why a reviewer overrode a flag; an accept's reason is `agree`."""
OUTCOMES = ("reached", "no_answer", "declined", "renewed", "churn_confirmed")
ARMS = ("contacted", "holdout")
BUSY_TIMEOUT_S = 10.0

SCHEMA = f"""
create table if not exists review_decisions (
    decision_id integer primary key autoincrement,
    ticket_id integer not null,
    decision text not null check (decision in {DECISIONS}),
    reason text not null,
    model_version text,
    escalation_probability real,
    reviewer_role text not null,
    reviewer_hash text,
    decided_at text not null
);
create table if not exists outreach_records (
    record_id integer primary key autoincrement,
    account_id text not null,
    period text not null,
    listed_on text not null,
    arm text not null check (arm in {ARMS}),
    contacted_at text,
    outcome text check (outcome is null or outcome in {OUTCOMES}),
    recorded_by_role text not null,
    recorded_by_hash text,
    recorded_at text not null,
    check ((arm = 'holdout') = (contacted_at is null))
);
create unique index if not exists one_holdout_per_period
    on outreach_records (account_id, period) where arm = 'holdout';
"""
TABLES = ("review_decisions", "outreach_records")


class ActionError(ValueError):
    """A decision or record that cannot be stored; the message names the field."""


@contextmanager
def connect(path: Path | str) -> Iterator[sqlite3.Connection]:
    """A connection to the store at `path` (created with its tables), committed on success.

    WAL lets readers (the refresh) run beside writers; `busy_timeout` makes a second writer
    wait for the first instead of failing at once."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as con:
        con.execute("pragma journal_mode=wal")
        con.execute(f"pragma busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        con.executescript(SCHEMA)
        con.execute("begin immediate")
        try:
            yield con
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def person_hash(email: str | None, key: bytes) -> str | None:
    """HMAC-SHA256 of the normalised email: the hash ingestion gives an email field."""
    if not email:
        return None
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Reviewer:
    """Who recorded something: a role, and optionally the hash of their email."""

    role: str
    person_hash: str | None = None


def record_review(
    path: Path | str,
    ticket_id: int,
    decision: str,
    reason: str,
    reviewer: Reviewer,
    *,
    model_version: str | None = None,
    escalation_probability: float | None = None,
    decided_at: dt.datetime | None = None,
) -> int:
    """Store a reviewer's accept or override of a flagged ticket; returns its id.

    An override needs one of OVERRIDE_REASONS (the figures count overrides by reason); an
    accept's reason is `agree`."""
    if decision not in DECISIONS:
        raise ActionError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if decision == "override" and reason not in OVERRIDE_REASONS:
        raise ActionError(
            f"reason of an override must be one of {', '.join(OVERRIDE_REASONS)}, not {reason!r}"
        )
    reason = "agree" if decision == "accept" else reason
    when = (decided_at or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    with connect(path) as con:
        cursor = con.execute(
            "insert into review_decisions (ticket_id, decision, reason, model_version, "
            "escalation_probability, reviewer_role, reviewer_hash, decided_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?)",
            [int(ticket_id), decision, reason, model_version, escalation_probability,
             reviewer.role, reviewer.person_hash, when.isoformat(timespec="seconds")],
        )  # fmt: skip
        return int(cursor.lastrowid)


def record_contact(
    path: Path | str,
    account_id: str,
    outcome: str,
    reviewer: Reviewer,
    *,
    contacted_at: dt.datetime | None = None,
    listed_on: dt.date | None = None,
    holdout_share: float,
) -> int:
    """Store that a CSM contacted an account, with the outcome; returns its id.

    `listed_on` (the day the account was put on the list; default the contact's day) starts
    its outcome window. An account in its period's holdout is refused: contacting it would
    spoil the comparison that measures whether outreach works."""
    if outcome not in OUTCOMES:
        raise ActionError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    when = (contacted_at or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    listed_on = listed_on or when.date()
    period = period_of(listed_on)
    if in_holdout([account_id], period, holdout_share)[0]:
        raise ActionError(
            f"account {account_id} is in the {period} holdout (not to be contacted this "
            "period, so that outreach can be measured against it)"
        )
    return insert_outreach(
        path, [(account_id, period, listed_on.isoformat(), "contacted",
                when.isoformat(timespec="seconds"), outcome)], reviewer,
    )[0]  # fmt: skip


def record_holdout(
    path: Path | str, account_ids: Iterable[str], listed_on: dt.date, reviewer: Reviewer
) -> int:
    """Store the accounts kept off a list as its period's holdout; an account already held
    out this period keeps its first record. Returns how many were new."""
    period = period_of(listed_on)
    rows = [(a, period, listed_on.isoformat(), "holdout", None, None) for a in account_ids]
    return len(insert_outreach(path, rows, reviewer, ignore_existing=True))


def insert_outreach(
    path: Path | str, rows: list[tuple], reviewer: Reviewer, ignore_existing: bool = False
) -> list[int]:
    """Append outreach records given as (account_id, period, listed_on, arm, contacted_at,
    outcome) tuples in one transaction; returns the new ids (a holdout already recorded for
    the period is skipped when `ignore_existing`)."""
    verb = "insert or ignore" if ignore_existing else "insert"
    now = _now()
    ids = []
    with connect(path) as con:
        for row in rows:
            cursor = con.execute(
                f"{verb} into outreach_records (account_id, period, listed_on, arm, "
                "contacted_at, outcome, recorded_by_role, recorded_by_hash, recorded_at) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [*row, reviewer.role, reviewer.person_hash, now],
            )
            if cursor.rowcount:
                ids.append(int(cursor.lastrowid))
    return ids


PERSON_HASH_COLUMNS = (("review_decisions", "reviewer_hash"),
                       ("outreach_records", "recorded_by_hash"))  # fmt: skip
"""Where the store keeps a person (the reviewer or recorder) as the hash of their email."""


def _blank_person_hashes(con: sqlite3.Connection, hashes: list[str] | None = None) -> int:
    """Blank the person hashes in `hashes` (every one when None); returns how many."""
    if hashes == []:
        return 0
    blanked = 0
    for table, column in PERSON_HASH_COLUMNS:
        which = f"in ({', '.join('?' * len(hashes))})" if hashes else "is not null"
        sql = f"update {table} set {column} = null where {column} {which}"
        blanked += con.execute(sql, hashes or []).rowcount
    return blanked


def _vacuum(path: Path | str) -> None:
    """Rewrite the file, so no deleted or blanked value stays readable in its free pages."""
    with closing(sqlite3.connect(path)) as con:
        con.execute("vacuum")


def forget_person_hashes(path: Path | str) -> int:
    """Blank every reviewer and recorder hash (roles stay) and compact the file; returns how
    many records had one. For a PII key rotation: the store keeps no email to hash again
    under the new key, and a key is rotated because the old one may be known, which makes
    its hashes guessable."""
    if not Path(path).exists():
        return 0
    with connect(path) as con:
        blanked = _blank_person_hashes(con)
    _vacuum(path)
    return blanked


def erase_subjects(
    path: Path | str, accounts: list[str], tickets: list[str], hashes: list[str]
) -> dict[str, int]:
    """Delete the accounts' outreach records and the tickets' review decisions, blank a
    person hash among `hashes` (the decision is the reviewer's work and stays), and compact
    the file; returns the rows deleted per table. For an erasure: each refresh copies the
    store whole into the warehouse, so rows left here would come back."""
    if not Path(path).exists():
        return {}
    removed = {}
    with connect(path) as con:
        for table, column, values in (
            ("outreach_records", "account_id", accounts),
            ("review_decisions", "cast(ticket_id as text)", tickets),
        ):
            if values:
                marks = ", ".join("?" * len(values))
                sql = f"delete from {table} where {column} in ({marks})"
                if rows := con.execute(sql, values).rowcount:
                    removed[table] = rows
        _blank_person_hashes(con, hashes)
    _vacuum(path)
    return removed


def read_tables(path: Path | str) -> dict[str, pd.DataFrame]:
    """Every table of the store, read in one transaction (a consistent snapshot); empty
    tables with their columns when the store does not exist yet."""
    with connect(path) as con:
        return {table: pd.read_sql_query(f"select * from {table}", con) for table in TABLES}


def period_of(day: dt.date) -> str:
    """The outreach period of a day: its calendar quarter, e.g. `2026-Q2`. A quarter is the
    window both arms are followed over (listing to the quarter's end)."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def period_end(period: str) -> dt.date:
    """The first day after the period."""
    year, quarter = int(period[:4]), int(period[-1])
    return dt.date(year + quarter // 4, quarter % 4 * 3 + 1, 1)


def in_holdout(account_ids: Iterable[str], period: str, share: float) -> list[bool]:
    """Whether each account is in the period's holdout: the first 8 bytes of
    sha256(`account_id|period`) as a fraction of 2**64 fall below `share`.

    Deterministic (the same every run and in every process, unlike Python's `hash`), new
    for each period, and independent of anything about the account."""
    if not 0.0 <= share < 1.0:
        raise ActionError(f"holdout share must be in [0, 1), not {share}")
    limit = share * 2**64
    return [
        int.from_bytes(hashlib.sha256(f"{a}|{period}".encode()).digest()[:8], "big") < limit
        for a in account_ids
    ]


WAREHOUSE_SCHEMA = "actions"
RAW_COLUMNS = {
    "review_decisions": {
        "decision_id": "bigint", "ticket_id": "bigint", "decision": "varchar",
        "reason": "varchar", "model_version": "varchar", "escalation_probability": "double",
        "reviewer_role": "varchar", "reviewer_hash": "varchar", "decided_at": "timestamp",
    },
    "outreach_records": {
        "record_id": "bigint", "account_id": "varchar", "period": "varchar",
        "listed_on": "date", "arm": "varchar", "contacted_at": "timestamp",
        "outcome": "varchar", "recorded_by_role": "varchar", "recorded_by_hash": "varchar",
        "recorded_at": "timestamp",
    },
}  # fmt: skip
"""The warehouse tables' columns: `actions.<table>`, replaced whole each refresh (a schema
of their own: the `raw` schema holds landing tables, with landing days and quarantine)."""


def load_into_warehouse(con: duckdb.DuckDBPyConnection, path: Path | str) -> dict[str, int]:
    """Copy a snapshot of the store into `actions.<table>` (typed), in one transaction.

    The store is small (people's decisions), so each refresh copies it whole: a decision
    edited or deleted in the store leaves the warehouse too. A value that does not cast (a
    hand-edited row) stops the load with the store, table, row id and field named."""
    frames = read_tables(path)
    counts = {}
    con.execute(f"create schema if not exists {WAREHOUSE_SCHEMA}")
    con.execute("begin")
    try:
        for table, columns in RAW_COLUMNS.items():
            frame = frames[table].astype(object).where(frames[table].notna(), None)
            frame = frame.astype({c: "string" for c in columns})
            con.register("_actions", frame)
            key = next(iter(columns))
            for column, type_ in columns.items():
                bad = con.execute(
                    f'select "{key}", "{column}" from _actions '
                    f'where "{column}" is not null and try_cast("{column}" as {type_}) is null '
                    f'order by "{key}" limit 1'
                ).fetchall()  # whole: a half-read result would block the next register
                if bad:
                    (row_id, value), *_ = bad
                    raise ActionError(
                        f"actions store {path}: table {table}, {key} {row_id}, field {column}: "
                        f"{value!r} is not a {type_}"
                    )
            select = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in columns.items())
            con.execute(
                f"create or replace table {WAREHOUSE_SCHEMA}.{table} as "
                f"select {select}, current_timestamp::timestamp as _loaded_at from _actions"
            )
            con.unregister("_actions")
            counts[table] = len(frame)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts
