"""Where ML outputs are kept: warehouse tables in schema `ml`, and files written atomically.

Tables are written inside one transaction each, so a dashboard or the serving publish
reading at the same time sees the whole of a write or none of it. Files (models, cards,
drift reports, the outreach CSV) are written to a temporary name beside their final one
and renamed in, so a reader never sees half a file. The caller owns the DuckDB connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from extracts.files import atomic_write

ML_SCHEMA = "ml"


def write_csv(frame: pd.DataFrame, path: Path | str) -> Path:
    """`frame` as a CSV export without its index, never half-written."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


@contextmanager
def _with_frame(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> Iterator[None]:
    """`frame` as `_frame` inside one transaction: readers see all of a write or none of it."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ML_SCHEMA}")
    con.register("_frame", frame)
    try:
        con.execute("BEGIN")
        yield
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_frame")


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Swap a whole `ml.<table>` (scores, outreach list, model versions: current state)."""
    with _with_frame(con, frame):
        con.execute(f"CREATE OR REPLACE TABLE {ML_SCHEMA}.{table} AS SELECT * FROM _frame")


def append_rows(
    con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, key: dict[str, Any]
) -> None:
    """Replace the rows of one key (a task's version, a check time) in an append-only table
    (evaluations, calibration, drift: history), so re-running one key does not duplicate it."""
    where = " AND ".join(f"{column} = ?" for column in key)
    with _with_frame(con, frame):
        con.execute(f"CREATE TABLE IF NOT EXISTS {ML_SCHEMA}.{table} AS FROM _frame LIMIT 0")
        _add_new_columns(con, table)
        con.execute(f"DELETE FROM {ML_SCHEMA}.{table} WHERE {where}", list(key.values()))
        con.execute(f"INSERT INTO {ML_SCHEMA}.{table} BY NAME SELECT * FROM _frame")


def _add_new_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Columns of `_frame` the history table lacks (a metric added since), added as nulls
    for the older rows so the insert by name still fits."""
    have = {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ?", [ML_SCHEMA, table]).fetchall()}  # fmt: skip
    for name, kind in con.execute(
        "SELECT column_name, column_type FROM (DESCRIBE _frame)"
    ).fetchall():
        if name not in have:
            con.execute(f'ALTER TABLE {ML_SCHEMA}.{table} ADD COLUMN "{name}" {kind}')


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """All of `ml.<table>`."""
    return con.execute(f"SELECT * FROM {ML_SCHEMA}.{table}").df()


def record_training(
    con: duckdb.DuckDBPyConnection,
    task: str,
    version: str,
    scorers: pd.DataFrame,
    calibration: pd.DataFrame,
    versions: pd.DataFrame,
) -> None:
    """A training run's evaluation and calibration rows (tagged with task and version) and
    the registry's current `model_versions` table."""
    tagged = {"task": task, "version": version}
    append_rows(con, "evaluations", scorers.assign(**tagged), tagged)
    append_rows(con, "calibration", calibration.assign(**tagged), tagged)
    replace_table(con, "model_versions", versions)
