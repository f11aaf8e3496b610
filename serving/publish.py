"""Publish the read-only serving database that dashboards and the CLI open.

DuckDB lets no reader open a file a writer holds, so readers never touch the warehouse:
the pipeline writes the serving schemas into a new file and `os.replace`s it in, which
is atomic. A failed publish leaves the previous serving file in place.

A publish costs what changed, not the whole history: the new file starts as a byte copy of
the previous one, and only the chunks whose content differs are rewritten. A table's chunks
are the values of its first DATE column (one chunk when it has none); each chunk's
fingerprint (rows and the sum of its rows' hashes) is kept in the file (`serving_chunks`),
so only the warehouse side is hashed, which costs a fraction of copying. A table whose
columns changed, or whose changed chunks hold half its rows, is written whole; the file is
written from scratch when there is no previous one, when deleted rows have doubled its size,
and when asked (`full`: an erasure must leave no deleted bytes behind). See
docs/operations.md, "Daily refresh".
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from extracts.files import process_exists
from extracts.ingest import raw_tables
from extracts.ledger import built_through

PUBLISH_INFO_TABLE = "serving_info"
RAW_SUMMARY_TABLE = "raw_summary"
CHUNKS_TABLE = "serving_chunks"
# An incremental file may grow to this many times the size of its last whole rewrite
# (deleted rows keep their bytes until DuckDB drops their row group) before it is rewritten.
GROWTH_BEFORE_REWRITE = 2.0


def _raw_summary_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Rows loaded, late and quarantined per raw table, so readers never open the warehouse."""
    return " UNION ALL ".join(
        f"""SELECT '{name}' AS table_name,
                   (SELECT count(*) FROM raw.{name}) AS loaded,
                   (SELECT count(*) FROM quarantine.{name}) AS quarantined,
                   (SELECT count(*) FILTER (WHERE _is_late) FROM raw.{name}) AS late,
                   (SELECT min(_landing_date) FROM raw.{name}) AS first_day,
                   (SELECT max(_landing_date) FROM raw.{name}) AS last_day"""
        for name in raw_tables(con)
    )


def _remove_abandoned_copies(serving_path: Path) -> None:
    """Delete half-written copies (and their WAL) left by a publish whose process was killed:
    `.serving.duckdb.<pid>.tmp`, the pid gone. A live publisher's copy is left alone."""
    for leftover in serving_path.parent.glob(f".{serving_path.name}.*.tmp*"):
        pid = leftover.name.removeprefix(f".{serving_path.name}.").split(".")[0]
        if pid.isdigit() and not process_exists(int(pid)):
            leftover.unlink(missing_ok=True)


@dataclass(frozen=True)
class TableChunks:
    """What a published table holds: its columns, and rows and fingerprint per chunk."""

    shape: str
    chunk_column: str | None
    chunks: dict[dt.date | None, tuple[int, int]]

    def rows_in(self, keys) -> int:
        """Rows of the chunks `keys` (a chunk it does not hold has none)."""
        return sum(self.chunks[k][0] for k in keys if k in self.chunks)

    @property
    def rows(self) -> int:
        return self.rows_in(self.chunks)


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]
    published_at: dt.datetime
    data_as_of: dt.date | None
    # Rows written into the new file, per table; an unchanged table is absent.
    written: dict[str, int]
    rewritten_whole: bool


def _warehouse_chunks(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]
) -> dict[str, TableChunks]:
    """Fingerprints of the warehouse's tables in `schemas`, in one scan of each table."""
    columns = con.execute(
        """SELECT table_schema || '.' || table_name, list(column_name ORDER BY ordinal_position),
                  list(data_type ORDER BY ordinal_position)
           FROM information_schema.columns
           WHERE table_catalog = current_database() AND table_schema IN (SELECT unnest(?))
           GROUP BY ALL ORDER BY 1""",
        [list(schemas)],
    ).fetchall()
    tables = {}
    for table, names, types in columns:
        chunk_column = next((n for n, t in zip(names, types, strict=True) if t == "DATE"), None)
        key = f'"{chunk_column}"' if chunk_column else "NULL::DATE"
        rows = con.execute(
            f"SELECT {key}, count(*), sum(hash(t)::HUGEINT) FROM {table} AS t GROUP BY ALL"
        ).fetchall()
        tables[table] = TableChunks(
            shape=",".join(f"{n} {t}" for n, t in zip(names, types, strict=True)),
            chunk_column=chunk_column,
            # An empty table is one empty chunk, so that it is stored and compared too.
            chunks={chunk: (count, int(fingerprint)) for chunk, count, fingerprint in rows}
            or {None: (0, 0)},
        )
    return tables


def _previous(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, TableChunks], int] | None:
    """What the copied previous file (attached as `serving_new`) holds, and its size at its
    last whole rewrite; None when it is not an incremental serving file (or no file)."""
    stored = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = 'serving_new' AND schema_name = 'main'"
        ).fetchall()
    }
    if CHUNKS_TABLE not in stored or PUBLISH_INFO_TABLE not in stored:
        return None
    (compacted,) = con.execute(
        f"SELECT compacted_bytes FROM serving_new.main.{PUBLISH_INFO_TABLE}"
    ).fetchone()
    tables: dict[str, TableChunks] = {}
    for table, shape, chunk_column, chunk, count, fingerprint in con.execute(
        f"""SELECT table_name, shape, chunk_column, chunk, rows, fingerprint
            FROM serving_new.main.{CHUNKS_TABLE}"""
    ).fetchall():
        tables.setdefault(table, TableChunks(shape, chunk_column, {}))
        tables[table].chunks[chunk] = (count, int(fingerprint))
    return tables, compacted


def _changed_chunks(now: TableChunks, before: TableChunks | None) -> list[dt.date | None] | None:
    """The chunks of a table to rewrite, or None to write it whole."""
    if before is None or (before.shape, before.chunk_column) != (now.shape, now.chunk_column):
        return None
    changed = [k for k in now.chunks.keys() | before.chunks.keys()
               if now.chunks.get(k) != before.chunks.get(k)]  # fmt: skip
    if now.chunk_column is None and changed:
        return None
    if now.rows_in(changed) * 2 > now.rows:
        return None
    return changed


def _write_table(
    con: duckdb.DuckDBPyConnection, table: str, now: TableChunks, changed: list | None
) -> int:
    """Write `table` into `serving_new`, whole or `changed` chunks; returns rows written."""
    target = f"serving_new.{table}"
    if changed is None:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS serving_new.{table.split('.')[0]}")
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {table}")
        return now.rows
    days = [k for k in changed if k is not None]
    where = f'"{now.chunk_column}" IN (SELECT unnest(?::DATE[]))'
    if None in changed:
        where = f'({where} OR "{now.chunk_column}" IS NULL)'
    con.execute(f"DELETE FROM {target} WHERE {where}", [days])
    con.execute(f"INSERT INTO {target} SELECT * FROM {table} WHERE {where}", [days])
    return now.rows_in(changed)


def _file_bytes(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(
        "SELECT total_blocks * block_size FROM pragma_database_size() "
        "WHERE database_name = 'serving_new'"
    ).fetchone()[0]


def _write_bookkeeping(
    con: duckdb.DuckDBPyConnection,
    now: dict[str, TableChunks],
    published_at: dt.datetime,
    data_as_of: dt.date | None,
    compacted: int,
) -> None:
    """The raw summary, the publish's time and freshness, and the fingerprints of what the
    new file holds (read by the next publish)."""
    summary = _raw_summary_sql(con)
    con.execute(f"DROP TABLE IF EXISTS serving_new.main.{RAW_SUMMARY_TABLE}")
    if summary:
        con.execute(f"CREATE TABLE serving_new.main.{RAW_SUMMARY_TABLE} AS {summary}")
    con.execute(
        f"""CREATE OR REPLACE TABLE serving_new.main.{PUBLISH_INFO_TABLE} AS
            SELECT ?::TIMESTAMP AS published_at, ?::DATE AS data_as_of,
                   ?::BIGINT AS compacted_bytes""",
        [published_at, data_as_of, compacted],
    )
    rows = [
        (table, t.shape, t.chunk_column, chunk, count, str(fingerprint))
        for table, t in now.items()
        for chunk, (count, fingerprint) in t.chunks.items()
    ]
    columns = list(zip(*rows, strict=True)) if rows else [()] * 6
    con.execute(
        f"""CREATE OR REPLACE TABLE serving_new.main.{CHUNKS_TABLE} AS
            SELECT unnest(?::VARCHAR[]) AS table_name, unnest(?::VARCHAR[]) AS shape,
                   unnest(?::VARCHAR[]) AS chunk_column, unnest(?::DATE[]) AS chunk,
                   unnest(?::BIGINT[]) AS rows, unnest(?::HUGEINT[]) AS fingerprint""",
        [list(c) for c in columns],
    )


def _published_tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> set[str]:
    """`schema.table` of the file attached as `serving_new`, in `schemas`."""
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = 'serving_new' AND schema_name IN (SELECT unnest(?))",
        [list(schemas)],
    ).fetchall()
    return {name for (name,) in rows}


def _fill(
    con: duckdb.DuckDBPyConnection,
    now: dict[str, TableChunks],
    schemas: tuple[str, ...],
    incremental: bool,
) -> tuple[dict[str, int], int] | None:
    """Write the tables into `serving_new`: into the copied previous file (`incremental`) only
    what changed. Returns the rows written per table and the file's size at its last whole
    rewrite, or None when the copy cannot be updated in place (not an incremental serving
    file, or grown past GROWTH_BEFORE_REWRITE)."""
    previous = _previous(con) if incremental else None
    if incremental and previous is None:
        return None
    before, compacted = previous or ({}, 0)
    written = {}
    for table, chunks in now.items():
        changed = _changed_chunks(chunks, before.get(table)) if previous else None
        if changed != []:
            written[table] = _write_table(con, table, chunks, changed)
    for table in _published_tables(con, schemas) - now.keys():
        con.execute(f"DROP TABLE serving_new.{table}")
    con.execute("CHECKPOINT serving_new")
    size = _file_bytes(con)
    if previous is None:
        return written, size
    if size > GROWTH_BEFORE_REWRITE * compacted:
        return None
    return written, compacted


def publish_serving(
    con: duckdb.DuckDBPyConnection,
    serving_path: Path,
    schemas: tuple[str, ...],
    full: bool = False,
) -> PublishResult:
    """Publish `schemas` of the warehouse `con` is attached to as the file `serving_path`:
    the previous file with its changed chunks rewritten, or a new file (`full`, or no
    previous file to update).

    `data_as_of` is the newest landing day a successful warehouse build covered; it is stored
    in the file so readers can show how fresh what they read is.
    """
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_copies(serving_path)
    staging = serving_path.with_name(f".{serving_path.name}.{os.getpid()}.tmp")
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    data_as_of = built_through(con)
    now = _warehouse_chunks(con, schemas)
    # Update a copy of the previous file; when it cannot be updated in place, a new file.
    for incremental in (True, False) if not full and serving_path.exists() else (False,):
        staging.unlink(missing_ok=True)
        if incremental:
            shutil.copyfile(serving_path, staging)
        con.execute(f"ATTACH '{staging}' AS serving_new")
        try:
            filled = _fill(con, now, schemas, incremental)
            if filled is not None:
                _write_bookkeeping(con, now, published_at, data_as_of, compacted=filled[1])
        except Exception:
            con.execute("DETACH serving_new")
            staging.unlink(missing_ok=True)
            raise
        con.execute("DETACH serving_new")
        if filled is not None:
            break
    os.replace(staging, serving_path)
    counts = {table: chunks.rows for table, chunks in now.items()}
    return PublishResult(
        serving_path, counts, published_at, data_as_of, written=filled[0],
        rewritten_whole=not incremental,
    )  # fmt: skip
