"""Right to erasure: remove one person (by email) or one account from landing and the warehouse.

Emails are stored only as HMACs, so the given email is hashed with the warehouse's key (the
same SQL ingestion uses) and the person is found through it: their contact and requester ids,
then their tickets. What is removed, as DuckDB SQL over every file and table that has the
columns, never a hard-coded list:

- landing: every day file is rewritten without the rows (an account's billing email that
  matches is blanked, the account kept). Landing is where names and emails sit in clear and
  what every refresh re-reads, so rewriting it is what keeps the person out of the next
  refresh; a suppression list applied at ingest would keep their hash forever, break at key
  rotation and leave the clear values on disk;
- the warehouse: every base table with an account, ticket, person or email-hash column
  (raw, quarantine, staging, marts, features, ml), and quarantined records by their JSON;
- exports: CSV files under the exports folder with such columns, and the alerts webhook's
  state (`serving.alerts.forget_accounts`: it remembers the account ids of posted alerts);
- the actions store (SQLite, not DuckDB: `erase_actions_store`): the account's outreach
  records and the tickets' review decisions, which every refresh copies into the warehouse.

Aggregates (the KPI mart, account features) hold no identifiers; the caller rebuilds them
(a full refresh) so they no longer count the erased rows. `meta.erasures` records each
erasure: when, what kind, rows per table, files rewritten; never the email, hash or id.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from extracts import actions
from extracts.contracts import LOADED_ENTITIES, Entity, Field
from extracts.ingest import (
    QUARANTINE_SCHEMA,
    RAW_SCHEMA,
    VERSIONS_SCHEMA,
    _file_columns,
    _hmac_sql,
    _quote,
    _stage_sql,
    json_fields_sql,
    use_pii_key,
)
from extracts.ledger import META_SCHEMA
from serving.alerts import WEBHOOK_STATE, forget_accounts

AUDIT_TABLE = f"{META_SCHEMA}.erasures"
Kind = Literal["requester", "account"]
PERSON_COLUMNS = ("requester_id", "contact_id", "actor_id", "user_id")
"""Columns that hold a person's id (contacts are requesters; telemetry users may be contacts)."""
REDACTED_ONLY = {("crm_accounts", "billing_email")}
"""PII on a row that is not the person's own: the value is blanked, the row kept."""
SKIPPED_SCHEMAS = (META_SCHEMA, "seeds")


@dataclass
class ErasureResult:
    erasure_id: str
    kind: Kind
    erased_at: dt.datetime
    people: int
    tickets: int
    rows_removed: dict[str, int] = field(default_factory=dict)
    landing_files: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows_removed.values())


def _is(kind: Literal["accounts", "people", "tickets", "hashes"], expr: str) -> str:
    """`expr` is one of the erased values of its kind (ticket ids compared as numbers).

    Never NULL: a row is rewritten `WHERE NOT (match)`, and a NULL there (an event without an
    actor) would drop a row that is nobody's."""
    value = f"try_cast({expr} AS BIGINT)" if kind == "tickets" else expr
    return f"coalesce(CAST({value} AS VARCHAR) IN (SELECT v FROM _erase_{kind}), false)"


def _landing_match(entity: Entity) -> tuple[str, dict[str, str]]:
    """The predicate for an erased row of a landing file (fields as text, PII in clear), and
    per blanked field the predicate for blanking it."""
    parts, redact = [], {}
    for f in entity.fields:
        col = f'"{f.name}"'
        if f.name == "account_id":
            parts.append(_is("accounts", col))
        elif f.name == "ticket_id":
            parts.append(_is("tickets", col))
        elif f.name in PERSON_COLUMNS:
            parts.append(_is("people", col))
        if f.pii == "email" or f.hash_if_email:
            hashed = _is("hashes", _hmac_sql(Field(f.name, f.type, pii="email"), col))
            if (entity.table, f.name) in REDACTED_ONLY:
                redact[f.name] = hashed
            else:
                parts.append(hashed)
    return " OR ".join(parts) or "false", redact


def _column_match(columns: list[str], ref=lambda name: f'"{name}"') -> tuple[str, dict[str, str]]:
    """The same for a warehouse table (PII already hashed), from its column names; `ref`
    turns a name into its SQL (a column, or a key of a quarantined record's JSON)."""
    parts, redact = [], {}
    redacted = {f"{name}_hash" for _, name in REDACTED_ONLY}
    for name in columns:
        col = ref(name)
        if name == "account_id":
            parts.append(_is("accounts", col))
        elif name == "ticket_id":
            parts.append(_is("tickets", col))
        elif name in PERSON_COLUMNS:
            # telemetry's user_id is stored as the email's hash when it was an email
            parts += [_is("people", col), _is("hashes", col)]
        elif name.endswith("email_hash"):
            if name in redacted:
                redact[name] = _is("hashes", col)
            else:
                parts.append(_is("hashes", col))
    return " OR ".join(parts) or "false", redact


def _landing_scan(con: duckdb.DuckDBPyConnection, entity: Entity, root: Path) -> str | None:
    """Every landing file of `entity` as one relation of text fields (None: no files)."""
    files = sorted(str(p) for p in root.glob(f"{entity.source}/????-??-??/{entity.file_name}"))
    if not files:
        return None
    return _stage_sql(entity, _file_columns(con, entity, files))


def _collect_subject(
    con: duckdb.DuckDBPyConnection, kind: Kind, value: str, scans: dict[str, str]
) -> None:
    """Fill the _erase_* tables: the hash or account, then people, then tickets, from raw,
    quarantine and the landing files alike (a day not ingested yet still counts)."""
    for name in ("accounts", "people", "tickets", "hashes"):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _erase_{name} (v VARCHAR)")
    if kind == "account":
        con.execute("INSERT INTO _erase_accounts VALUES (?)", [value])
    else:
        email = Field("email", "VARCHAR", pii="email")
        con.execute(f"INSERT INTO _erase_hashes SELECT {_hmac_sql(email, '$1')}", [value])
    existing = {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() "
            # a changes-only snapshot's raw.<table> is a view over its versions
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal"
        ).fetchall()
    }

    def sources(table: str, fields: dict[str, str | None]) -> list[str]:
        """One SELECT per place a table's rows live (raw, quarantine, landing), each giving
        the columns ticket, account, person and hash (the email's HMAC)."""
        entity = next(e for e in LOADED_ENTITIES if e.table == table)

        def stored(name: str) -> str:
            return f"{name}_hash" if entity.field(name).pii else name

        def pick(expr) -> str:
            return ", ".join(
                f"CAST({expr(v) if v else 'NULL'} AS VARCHAR) AS {k}" for k, v in fields.items()
            )

        selects = []
        if f"{RAW_SCHEMA}.{table}" in existing:
            selects.append(
                f"SELECT {pick(lambda v: chr(34) + stored(v) + chr(34))} FROM {RAW_SCHEMA}.{table}"
            )
        if f"{QUARANTINE_SCHEMA}.{table}" in existing:
            selects.append(
                f"SELECT {pick(lambda v: f'record->>{_quote(stored(v))}')} "
                f"FROM {QUARANTINE_SCHEMA}.{table}"
            )
        if table in scans:
            clear = lambda v: (  # noqa: E731
                _hmac_sql(entity.field(v), f'"{v}"') if entity.field(v).pii else f'"{v}"'
            )
            selects.append(f"SELECT {pick(clear)} FROM ({scans[table]})")
        return selects

    rows = " UNION ALL ".join(
        sources(
            "helpdesk_tickets",
            {
                "ticket": "ticket_id",
                "account": "account_id",
                "person": "requester_id",
                "hash": "requester_email",
            },
        )
        + sources(
            "crm_contacts",
            {"ticket": None, "account": "account_id", "person": "contact_id", "hash": "email"},
        )
    )
    if not rows:
        return
    con.execute(
        f"""INSERT INTO _erase_people
            SELECT DISTINCT person FROM ({rows})
            WHERE person IS NOT NULL AND (account IN (SELECT v FROM _erase_accounts)
                                          OR hash IN (SELECT v FROM _erase_hashes))"""
    )
    con.execute(
        f"""INSERT INTO _erase_tickets
            SELECT DISTINCT CAST(try_cast(ticket AS BIGINT) AS VARCHAR) FROM ({rows})
            WHERE ticket IS NOT NULL AND (account IN (SELECT v FROM _erase_accounts)
                                          OR person IN (SELECT v FROM _erase_people)
                                          OR hash IN (SELECT v FROM _erase_hashes))"""
    )


def _copy_sql(entity: Entity, file: str, match: str, redact: dict[str, str]) -> str:
    """The file's kept rows (blanked where `redact`), written back in its own format."""
    if entity.format == "jsonl":
        lines = f"SELECT json FROM read_json_objects({_quote(file)}, format='newline_delimited')"
        kept = f"SELECT json FROM ({json_fields_sql(entity, lines)}) WHERE NOT ({match})"
        # Lines written as they were read: no quoting, a delimiter JSON never holds.
        return f"COPY ({kept}) TO '{{out}}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\\x1f')"
    replace = ", ".join(
        f'CASE WHEN {cond} THEN NULL ELSE "{name}" END AS "{name}"' for name, cond in redact.items()
    )
    star = f"* REPLACE ({replace})" if replace else "*"
    if entity.format == "csv":
        source = f"read_csv({_quote(file)}, header=true, all_varchar=true, auto_detect=true)"
        options = "FORMAT csv, HEADER true, FORCE_QUOTE *"
    else:
        source = f"read_parquet({_quote(file)})"
        options = "FORMAT parquet"
    return f"COPY (SELECT {star} FROM {source} WHERE NOT ({match})) TO '{{out}}' ({options})"


def _rewrite(con: duckdb.DuckDBPyConnection, copy_sql: str, file: Path) -> None:
    """Write the kept rows beside the file, then swap them in (a crash leaves one or the other)."""
    staging = file.with_name(f".{file.name}.erasing")
    con.execute(copy_sql.replace("{out}", str(staging).replace("'", "''")))
    os.replace(staging, file)


def erase_landing(
    con: duckdb.DuckDBPyConnection, root: Path, scans: dict[str, str]
) -> tuple[list[str], dict[str, int]]:
    """Rewrite every landing file holding an erased row; returns the files and rows per table."""
    files, removed = [], {}
    for entity in LOADED_ENTITIES:
        if entity.table not in scans:
            continue
        match, redact = _landing_match(entity)
        touched = " OR ".join([match, *redact.values()])
        hits = con.execute(
            f"""SELECT _file, count(*) FILTER (WHERE {match}) FROM ({scans[entity.table]})
                WHERE {touched} GROUP BY ALL ORDER BY 1"""
        ).fetchall()
        for file, rows in hits:
            _rewrite(con, _copy_sql(entity, file, match, redact), Path(file))
            files.append(str(Path(file).relative_to(root)))
            removed[f"landing.{entity.table}"] = removed.get(f"landing.{entity.table}", 0) + rows
    return files, removed


def erase_tables(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[str, int]:
    """Delete the erased rows from every base table of the database (`catalog`: an attached
    one, default the current); quarantined records are matched on their JSON."""
    catalog = catalog or con.execute("SELECT current_database()").fetchone()[0]
    columns = con.execute(
        """SELECT schema_name, table_name, list(column_name ORDER BY column_index)
           FROM duckdb_columns() WHERE database_name = ? AND NOT internal
             AND table_oid IN (SELECT table_oid FROM duckdb_tables() WHERE database_name = ?)
           GROUP BY ALL ORDER BY 1, 2""",
        [catalog, catalog],
    ).fetchall()
    removed = {}
    for schema, table, cols in columns:
        if schema in SKIPPED_SCHEMAS:
            continue
        name = f'"{catalog}"."{schema}"."{table}"'
        if schema == QUARANTINE_SCHEMA and "record" in cols:
            entity = next((e for e in LOADED_ENTITIES if e.table == table), None)
            keys = [f"{f.name}_hash" if f.pii else f.name for f in entity.fields] if entity else []
            match, redact = _column_match(keys, ref=lambda k: f"(record->>{_quote(k)})")
        else:
            match, redact = _column_match(cols)
        if match == "false" and not redact:
            continue
        label = f"{schema}.{table}"
        days = None
        if schema == VERSIONS_SCHEMA:  # a snapshot's versions: counted as the rows raw.* showed
            label = f"{RAW_SCHEMA}.{table}"
            (days,) = con.execute(
                f"SELECT sum(_valid_to - _landing_date + 1) FROM {name} WHERE {match}"
            ).fetchone()
        rows = con.execute(f"DELETE FROM {name} WHERE {match}").fetchone()[0]
        for column, cond in redact.items():
            value = (
                f"json_merge_patch(record, json_object({_quote(column)}, NULL))"
                if schema == QUARANTINE_SCHEMA
                else "NULL"
            )
            target = "record" if schema == QUARANTINE_SCHEMA else f'"{column}"'
            con.execute(f"UPDATE {name} SET {target} = {value} WHERE {cond}")
        if rows:
            removed[label] = days or rows
    return removed


def _erased(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The erased `accounts`, `tickets` or `hashes` (`_collect_subject`'s tables) as a list."""
    return [v for (v,) in con.execute(f"SELECT v FROM _erase_{name}").fetchall()]


def erase_exports(con: duckdb.DuckDBPyConnection, exports: Path) -> list[str]:
    """Rewrite every CSV export with an erased row (the outreach list: by account) and the
    alerts webhook's state with a posted alert of an erased account; the files changed."""
    changed = []
    for file in sorted(exports.glob("*.csv")) if exports.is_dir() else []:
        source = f"read_csv({_quote(str(file))}, header=true, all_varchar=true)"
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        match, _ = _column_match(cols)
        if (
            match == "false"
            or not con.execute(f"SELECT count(*) FROM {source} WHERE {match}").fetchone()[0]
        ):
            continue
        _rewrite(
            con,
            f"COPY (SELECT * FROM {source} WHERE NOT ({match})) TO '{{out}}' (FORMAT csv, HEADER true)",
            file,
        )
        changed.append(file.name)
    state = exports / WEBHOOK_STATE.name
    if forget_accounts(state, _erased(con, "accounts")):
        changed.append(state.name)
    return changed


def erase_actions_store(con: duckdb.DuckDBPyConnection, store: Path) -> dict[str, int]:
    """The erased accounts, tickets and email hashes out of the actions store
    (`actions.erase_subjects`); rows deleted per `actions_store.<table>`."""
    removed = actions.erase_subjects(
        store, _erased(con, "accounts"), _erased(con, "tickets"), _erased(con, "hashes")
    )
    return {f"actions_store.{table}": rows for table, rows in removed.items()}


def ensure_audit(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
                erasure_id VARCHAR, erased_at TIMESTAMP, kind VARCHAR, reference VARCHAR,
                people INTEGER, tickets INTEGER, rows_removed JSON, landing_files INTEGER,
                exports VARCHAR[])"""
    )


def erase(
    con: duckdb.DuckDBPyConnection,
    landing_dir: str | Path,
    kind: Kind,
    value: str,
    pii_key: bytes,
    *,
    exports_dir: Path | None = None,
    actions_store: Path | None = None,
    reference: str | None = None,
) -> ErasureResult:
    """Erase the person with email `value` (kind `requester`) or the account `value`.

    Landing files are rewritten first: should the warehouse step fail, the next refresh
    still cannot bring the rows back. The warehouse deletes and the audit row commit
    together. `reference` (a ticket number of the request, say) goes into the audit: no PII.
    """
    if kind not in ("requester", "account") or not value.strip():
        raise ValueError("erase needs a requester email or an account id")
    root = Path(landing_dir).resolve()
    use_pii_key(con, pii_key)
    scans = {
        e.table: scan for e in LOADED_ENTITIES if (scan := _landing_scan(con, e, root)) is not None
    }
    _collect_subject(con, kind, value.strip(), scans)
    people, tickets = (
        con.execute(f"SELECT count(*) FROM _erase_{t}").fetchone()[0] for t in ("people", "tickets")
    )
    files, removed = erase_landing(con, root, scans)
    exports = erase_exports(con, exports_dir) if exports_dir else []
    removed |= erase_actions_store(con, actions_store) if actions_store else {}
    result = ErasureResult(
        erasure_id=str(uuid.uuid4()),
        kind=kind,
        erased_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        people=people,
        tickets=tickets,
        landing_files=files,
        exports=exports,
    )
    ensure_audit(con)
    con.execute("BEGIN TRANSACTION")
    try:
        result.rows_removed = removed | erase_tables(con)
        con.execute(
            f"INSERT INTO {AUDIT_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [result.erasure_id, result.erased_at, kind, reference, people, tickets,
             json.dumps(result.rows_removed), len(files), exports],
        )  # fmt: skip
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    for name in ("accounts", "people", "tickets", "hashes"):
        con.execute(f"DROP TABLE IF EXISTS _erase_{name}")
    return result


def compact(database: Path) -> None:
    """Copy the database into a fresh file and swap it in: DuckDB reuses freed blocks but
    never wipes them, so deleted values would stay readable in the file until overwritten."""
    fresh = database.with_name(f".{database.name}.compacting")
    fresh.unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute(f"ATTACH {_quote(str(database))} AS old (READ_ONLY)")
        con.execute(f"ATTACH {_quote(str(fresh))} AS fresh")
        con.execute("COPY FROM DATABASE old TO fresh")
        con.execute("DETACH old")
        con.execute("DETACH fresh")
    os.replace(fresh, database)
    Path(f"{database}.wal").unlink(missing_ok=True)
