"""Validate a suite in DuckDB: the same expectations compiled to one aggregate query.

`validate_sql` gives the outcomes `quality.gx_engine` gives (counts exact, no samples of
unexpected values) in one pass over the window, about 20x faster over a full range (see the
issue note). The small SQL helpers here are shared with `quality.table_checks`.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb

from quality.results import Outcome, SuiteResult
from quality.suites import SuiteDef


def split_table(table: str) -> tuple[str, str]:
    """`schema.table` as (schema, table); an unqualified table is in `main`."""
    schema, _, name = table.rpartition(".")
    return schema or "main", name


def where_clause(where_sql: str | None) -> str:
    return f"WHERE {where_sql}" if where_sql else ""


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """The table's columns and upper-case DuckDB types, in table order."""
    schema, name = split_table(table)
    return dict(
        con.execute(
            "SELECT column_name, upper(data_type) FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
    )


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'" if isinstance(value, str) else repr(value)


def _violations_sql(spec: Any) -> str:
    """The count of rows breaking a (batch-safe) expectation, as a DuckDB aggregate."""
    k = spec.kwargs
    if spec.type == "expect_column_values_to_not_be_null":
        return f"count(*) FILTER (WHERE {_q(k['column'])} IS NULL)"
    if spec.type == "expect_column_values_to_be_between":
        bad = []
        if k.get("min_value") is not None:
            bad.append(f"{_q(k['column'])} < {k['min_value']}")
        if k.get("max_value") is not None:
            bad.append(f"{_q(k['column'])} > {k['max_value']}")
        return f"count(*) FILTER (WHERE {' OR '.join(bad)})"
    if spec.type == "expect_column_values_to_be_in_set":
        values = ", ".join(_literal(v) for v in k["value_set"])
        return f"count(*) FILTER (WHERE {_q(k['column'])} NOT IN ({values}))"
    if spec.type == "expect_column_pair_values_a_to_be_greater_than_b":
        op = "<" if k.get("or_equal") else "<="
        return f"count(*) FILTER (WHERE {_q(k['column_A'])} {op} {_q(k['column_B'])})"
    if spec.type in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        cols = [k["column"]] if "column" in k else k["column_list"]
        # GE counts every row of a duplicated key as unexpected; so does this.
        key = ", ".join(_q(c) for c in cols)
        return (
            f"(SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM __window "
            f"WHERE {' AND '.join(_q(c) + ' IS NOT NULL' for c in cols)} GROUP BY {key} HAVING n > 1))"
        )
    raise ValueError(spec.type)


def validate_sql(
    con: duckdb.DuckDBPyConnection, definition: SuiteDef, table: str, where_sql: str | None
) -> SuiteResult:
    """The suite's expectations over `table` rows matching `where_sql`, as one query."""
    started = time.perf_counter()
    actual = list(table_columns(con, table))
    specs = [e for e in definition.expectations if e.type != "expect_table_columns_to_match_set"]
    present = [e for e in specs if all(c in actual for c in (e.column or "").split(",") if c)]
    aggregates = ", ".join(_violations_sql(e) for e in present) or "0"
    row = con.execute(
        f"WITH __window AS (SELECT * FROM {table} {where_clause(where_sql)}) "
        f"SELECT count(*), {aggregates} FROM __window"
    ).fetchall()[0]
    rows, counts = row[0], dict(zip([e.label for e in present], row[1:], strict=False))
    outcomes = []
    for e in definition.expectations:
        if e.type == "expect_table_columns_to_match_set":
            ok = set(actual) == set(e.kwargs["column_set"])
            outcomes.append(
                Outcome(definition.name, e.label, None, ok, e.severity, actual, None, rows)
            )
        elif e.label in counts:
            n = int(counts[e.label])
            outcomes.append(
                Outcome(definition.name, e.label, e.column, n == 0, e.severity, None, n, rows)
            )
        else:
            outcomes.append(
                Outcome(
                    definition.name,
                    e.label,
                    e.column,
                    False,
                    e.severity,
                    {"error": "column missing"},
                    None,
                    rows,
                )
            )
    return SuiteResult(
        definition.name, table, outcomes, rows, 1, time.perf_counter() - started, where_sql
    )
