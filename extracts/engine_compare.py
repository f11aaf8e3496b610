"""Does a table the spark dbt target built hold the same rows as the DuckDB build?

One comparison for the Spark target's test (tests/test_spark_target.py) and the benchmark's
Spark stage (bench/spark.py), so a fast wrong answer cannot win a timing. Spark's tables are
Parquet files under its warehouse folder (`<schema>.db/<table>/`), so DuckDB reads both
sides: no Spark session is needed to check Spark's answer.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

from extracts.raw_export import sql_path

RELATIVE_TOLERANCE = 1e-9
"""Floats may differ by summation order between the engines, nothing more."""


def table_differences(
    spark_tables: Path, warehouse: Path, schema: str, table: str, limit: int = 20
) -> list[str]:
    """What differs between `schema.table` in the DuckDB file `warehouse` and Spark's copy
    under `spark_tables` (empty when they hold the same rows): the same columns and row
    count, and after sorting both on every non-float column, equal values (floats within a
    relative 1e-9). At most `limit` differences are listed."""
    files = spark_tables / f"{schema}.db" / table
    if not files.is_dir():
        return [f"{schema}.{table}: Spark built no table files at {files}"]
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH '{sql_path(warehouse)}' AS duck (READ_ONLY)")
        columns = con.execute(
            """SELECT column_name, data_type FROM duckdb_columns()
               WHERE database_name = 'duck' AND schema_name = ? AND table_name = ?
               ORDER BY column_index""",
            [schema, table],
        ).fetchall()
        pattern = sql_path(files / "*.parquet")
        spark_columns = [
            r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{pattern}'").fetchall()
        ]
        if sorted(spark_columns) != sorted(name for name, _ in columns):
            return [f"{schema}.{table}: columns differ: DuckDB {columns}, Spark {spark_columns}"]
        floats = {name for name, type_ in columns if type_ in ("DOUBLE", "FLOAT")}
        order = ", ".join(f'"{n}"' for n, _ in columns if n not in floats) or "1"
        # Spark's timestamps come back as TIMESTAMPTZ; cast each column to DuckDB's type.
        spark_select = ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' for n, t in columns)
        names = ", ".join(f'"{n}"' for n, _ in columns)
        duck = con.execute(f"SELECT {names} FROM duck.{schema}.{table} ORDER BY {order}").fetchall()
        spark = con.execute(f"SELECT {spark_select} FROM '{pattern}' ORDER BY {order}").fetchall()
    if len(spark) != len(duck) or not duck:
        return [f"{schema}.{table}: {len(duck)} rows on DuckDB, {len(spark)} on Spark"]
    float_at = [i for i, (name, _) in enumerate(columns) if name in floats]
    differences: list[str] = []
    for duck_row, spark_row in zip(duck, spark, strict=True):
        exact = [v for i, v in enumerate(duck_row) if i not in float_at]
        if [v for i, v in enumerate(spark_row) if i not in float_at] != exact:
            differences.append(f"{schema}.{table} row {exact}: Spark has {spark_row}")
        for i in float_at:
            a, b = duck_row[i], spark_row[i]
            if (a is None) != (b is None) or (
                a is not None and not math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-9)
            ):
                differences.append(f"{schema}.{table} row {exact}, {columns[i][0]}: {a} vs {b}")
        if len(differences) >= limit:
            return differences[:limit]
    return differences
