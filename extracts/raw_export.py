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

from extracts.ingest import RAW_SCHEMA, raw_tables

PARTITION_COLUMN = "_landing_date"
EMPTY_FILE = "empty.parquet"
"""An empty table's folder holds one row-less file, so readers still find its columns."""


def export_raw(con: duckdb.DuckDBPyConnection, out_dir: Path) -> dict[str, int]:
    """Write every `raw.*` table of `con`'s database under `out_dir`, replacing what an
    earlier export left there; returns the rows written per table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for table in sorted(raw_tables(con)):
        folder = out_dir / table
        if folder.exists():
            shutil.rmtree(folder)
        source = f"{RAW_SCHEMA}.{table}"
        (rows,) = con.execute(f"SELECT count(*) FROM {source}").fetchone()
        if rows:
            con.execute(
                f"COPY (SELECT * FROM {source}) TO '{_sql_path(folder)}' "
                f"(FORMAT parquet, PARTITION_BY ({PARTITION_COLUMN}))"
            )
        else:
            folder.mkdir()
            con.execute(
                f"COPY (SELECT * FROM {source} LIMIT 0) TO '{_sql_path(folder / EMPTY_FILE)}' "
                "(FORMAT parquet)"
            )
        written[table] = rows
    return written


def export_raw_from(warehouse: Path, out_dir: Path) -> dict[str, int]:
    """`export_raw` from the warehouse file `warehouse`, opened read-only."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the pipeline first")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return export_raw(con, out_dir)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
