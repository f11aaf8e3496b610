"""Which key the warehouse's PII hashes were made with: a fingerprint, never the key.

An HMAC is only useful while every hash in the warehouse comes from the same key: a
requester hashed under two keys is two people, and an erasure finds only one of them. So the
first load records the key's fingerprint in `meta.pii_key`, every later load compares, and a
different key is refused until `supportops rotate-key` has cleared the old hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import duckdb

from config.settings import MISSING_PII_KEY, PII_KEY_ENV, MissingSecretError
from extracts.catalog import table_exists
from extracts.ledger import META_SCHEMA

KEY_TABLE = f"{META_SCHEMA}.pii_key"
_FINGERPRINT_MESSAGE = b"supportops pii key fingerprint v1"


class KeyMismatchError(RuntimeError):
    """The warehouse holds hashes made under another key than the one configured."""


def key_fingerprint(key: bytes) -> str:
    """16 hex characters that tell keys apart; an HMAC of a fixed message, so the key
    cannot be read back from it."""
    return hmac.new(key, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]


def _ensure_key_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {KEY_TABLE} (
                fingerprint VARCHAR, recorded_at TIMESTAMP, replaced_fingerprint VARCHAR)"""
    )


def warehouse_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the key the warehouse's hashes are under (None: none recorded).

    Reads only, so a read-only connection can ask before a run starts."""
    if not table_exists(con, KEY_TABLE):
        return None
    # fetchall, not fetchone: a half-read result blocks `register` on this connection.
    rows = con.execute(
        f"SELECT fingerprint FROM {KEY_TABLE} ORDER BY recorded_at DESC LIMIT 1"
    ).fetchall()
    return rows[0][0] if rows else None


def check_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Record the key's fingerprint on first use; refuse a key other than the recorded one."""
    if not key:
        raise MissingSecretError(MISSING_PII_KEY)
    recorded = warehouse_fingerprint(con)
    mismatch = key_mismatch(recorded, key)
    if mismatch:
        raise KeyMismatchError(mismatch)
    if recorded is None:
        _record(con, key_fingerprint(key), None)


def key_mismatch(recorded: str | None, key: bytes) -> str | None:
    """What is wrong when `key` is not the one behind the `recorded` fingerprint, else None."""
    mine = key_fingerprint(key)
    if recorded is None or recorded == mine:
        return None
    return (
        f"the warehouse's PII hashes were made with another key (fingerprint {recorded}) "
        f"than {PII_KEY_ENV} (fingerprint {mine}); hashes under two keys would not match. "
        f"Set the old key back, or move to the new one with `supportops rotate-key` "
        "(it re-hashes everything from the landing files)."
    )


def _record(con: duckdb.DuckDBPyConnection, fingerprint: str, replaced: str | None) -> None:
    _ensure_key_table(con)
    con.execute(
        f"INSERT INTO {KEY_TABLE} VALUES (?, ?, ?)",
        [fingerprint, dt.datetime.now(dt.UTC).replace(tzinfo=None), replaced],
    )


HASHED_SCHEMAS = ("raw", "quarantine", "raw_versions")
"""Where hashes are made; the dbt models are derived from these by a full rebuild."""
KEPT_SCHEMAS = (META_SCHEMA, "main", "ml", "quality")
"""Histories no rebuild recreates (scores, model versions, gate outcomes): no hashes in them."""


def clear_for_new_key(con: duckdb.DuckDBPyConnection, new_key: bytes) -> str | None:
    """Empty every table that holds hashes and record the new key's fingerprint, in one
    transaction; returns the replaced fingerprint (None when it was already this key).

    The landing files are the only place the clear values live, so the new hashes come from
    re-ingesting them (`supportops rotate-key` runs that full refresh next); until it
    succeeds, the dbt models are dropped too, so no table mixes the two keys.
    """
    if not new_key:
        raise MissingSecretError(MISSING_PII_KEY)
    old = warehouse_fingerprint(con)
    new = key_fingerprint(new_key)
    if old == new:
        return None
    tables = con.execute(
        """SELECT schema_name, table_name, 'TABLE' FROM duckdb_tables()
           WHERE database_name = current_database() AND NOT internal
           UNION ALL
           SELECT schema_name, view_name, 'VIEW' FROM duckdb_views()
           WHERE database_name = current_database() AND NOT internal"""
    ).fetchall()
    con.execute("BEGIN TRANSACTION")
    try:
        for schema, table, kind in tables:
            if schema in HASHED_SCHEMAS:
                if kind == "TABLE":  # a view there (a snapshot's days) reads emptied tables
                    con.execute(f'DELETE FROM "{schema}"."{table}"')
            elif schema not in KEPT_SCHEMAS:
                # dbt's models and seeds (staging .. features): rebuilt by the full refresh
                con.execute(f'DROP {kind} IF EXISTS "{schema}"."{table}" CASCADE')
        _record(con, new, old)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return old
