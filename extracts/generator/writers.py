"""Writing landing files from Arrow tables: JSON lines, CSV with a header, Parquet."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from extracts.contracts import Entity
from extracts.sources.connector import quote


class LandingWriter:
    """Writes each file in its entity's format; JSON lines go through DuckDB's writer."""

    def __init__(self) -> None:
        self._con = duckdb.connect()

    def __enter__(self) -> LandingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._con.close()

    def write(self, entity: Entity, table: pa.Table, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if entity.format == "jsonl":
            self._con.register("landing_batch", table)
            target = str(path).replace("'", "''")
            self._con.execute(f"COPY landing_batch TO '{target}' (FORMAT json)")
            self._con.unregister("landing_batch")
        elif entity.format == "csv":
            pacsv.write_csv(table, path)
        else:
            # Dictionary-encoding random ids and timestamps costs time and saves nothing.
            dictionary = [c for c in table.column_names if c not in ("message_id", "timestamp")]
            pq.write_table(table, path, compression="zstd", use_dictionary=dictionary)


def write_parquet_tables(
    con: duckdb.DuckDBPyConnection, out: Path, tables: dict[str, str]
) -> dict[str, int]:
    """Each `name -> query` as `out/<name>.parquet` (a connector's tables); rows written."""
    rows = {}
    for name, query in tables.items():
        path = quote(str(out / f"{name}.parquet"))
        con.execute(f"COPY ({query}) TO {path} (FORMAT parquet)")
        rows[name] = con.execute(f"SELECT count(*) FROM read_parquet({path})").fetchone()[0]
    return rows
