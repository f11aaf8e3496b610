"""Export the warehouse's raw tables as Parquet folders partitioned by landing day.

The same raw rows then feed dbt on any engine: DuckDB reads `raw.*` in its own file, Spark
reads these folders (dbt_project/macros/raw_sources.sql registers them). Ingestion stays
DuckDB-only and engine-independent; this is one set-based COPY per table, no row loop.
Layout: `<out>/<raw table>/_landing_date=YYYY-MM-DD/*.parquet` (Hive-style, so every engine
prunes days by the folder name and a day's export replaces that folder alone).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from extracts.actions import WAREHOUSE_SCHEMA as ACTIONS_SCHEMA
from extracts.ingest import RAW_SCHEMA, raw_tables

PARTITION_COLUMN = "_landing_date"
EMPTY_FILE = "empty.parquet"
"""An unpartitioned table's one file; an empty table's folder holds it row-less, so readers
still find its columns."""


def export_raw(con: duckdb.DuckDBPyConnection, out_dir: Path) -> dict[str, int]:
    """Write every `raw.*` table of `con`'s database under `out_dir` (partitioned by landing
    day), and the `actions.*` tables the actions store was copied into (whole: a few
    thousand human decisions), replacing what an earlier export left there; returns the
    rows written per table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = {table: (f"{RAW_SCHEMA}.{table}", PARTITION_COLUMN) for table in raw_tables(con)}
    copied_actions = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ?",
        [ACTIONS_SCHEMA],
    ).fetchall()
    sources |= {table: (f"{ACTIONS_SCHEMA}.{table}", None) for (table,) in copied_actions}
    return {
        table: _export_table(con, source, out_dir / table, partition)
        for table, (source, partition) in sorted(sources.items())
    }


def _export_table(
    con: duckdb.DuckDBPyConnection, source: str, folder: Path, partition: str | None
) -> int:
    if folder.exists():
        shutil.rmtree(folder)
    (rows,) = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    if rows and partition:
        con.execute(
            f"COPY (SELECT * FROM {source}) TO '{sql_path(folder)}' "
            f"(FORMAT parquet, PARTITION_BY ({partition}))"
        )
    else:
        folder.mkdir()
        limit = "" if rows else " LIMIT 0"
        con.execute(
            f"COPY (SELECT * FROM {source}{limit}) TO '{sql_path(folder / EMPTY_FILE)}' "
            "(FORMAT parquet)"
        )
    return rows


def export_raw_from(warehouse: Path, out_dir: Path) -> dict[str, int]:
    """`export_raw` from the warehouse file `warehouse`, opened read-only."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the pipeline first")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return export_raw(con, out_dir)


def sql_path(path: Path) -> str:
    """`path` inside a single-quoted SQL string literal."""
    return str(path).replace("'", "''")
