"""Validate a suite with Great Expectations, on pandas frames pulled from DuckDB.

`validate_gx` pulls a window's rows (the columns the expectations read) as pandas in bounded
batches, split by a hash of the suite's key (so uniqueness stays exact across batches),
validates each batch with GE's pandas datasource in an ephemeral context, one validation per
column set, and folds the batches into one outcome per expectation. GE's SQL datasource over
DuckDB failed on every expectation on this stack, and the pandas path is measured in the
issue note. `quality.sql_engine` is the same suite as one DuckDB query.

Nothing here imports Great Expectations at module import time.
"""

from __future__ import annotations

import math
import time
from typing import Any

import duckdb

from quality.results import Outcome, SuiteResult, jsonable
from quality.sql_engine import where_clause
from quality.suites import SuiteDef, to_gx_suite

DEFAULT_BATCH_ROWS = 2_000_000


class _Gx:
    """One ephemeral GE context per process, a pandas dataframe asset, suites added once."""

    _instance: _Gx | None = None

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.execution_engine import pandas_execution_engine

        # GE fingerprints every pandas batch under 1 GB (an md5 of hash_pandas_object, twice
        # per validation) only to label the batch: measured, 60% of validating 2.3M telemetry
        # rows. We label batches ourselves (suite, window, run id), so skip it.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.context = gx.get_context(mode="ephemeral")
        try:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        except Exception:  # progress bars only; never fail a validation over them
            pass
        asset = self.context.data_sources.add_pandas("supportops").add_dataframe_asset("frame")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        self.suites: dict[str, Any] = {}

    @classmethod
    def get(cls) -> _Gx:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def suite(self, definition: SuiteDef, columns: tuple[str, ...], subset: tuple) -> Any:
        name = f"{definition.name}[{','.join(columns)}]" if columns else definition.name
        if name not in self.suites:
            self.suites[name] = self.context.suites.add(to_gx_suite(definition, subset, name))
        return self.suites[name]

    def validate(self, definition: SuiteDef, frame: Any, empty_table: Any) -> Any:
        """One GE validation per set of columns, each on a frame of only those columns, folded
        into one result for the data docs.

        GE's pandas engine filters and copies its whole batch for every metric it computes;
        on a frame of one or two columns that is a column's worth of work, not the table's
        (measured on the demo's feat_account_daily, 40 expectations over 450k rows: 16-20 s
        validating the whole frame, 3.5-5 s by column set; the demo's nine suites 53 -> 26 s,
        every outcome and observed value equal).
        Table-level expectations (the column set) read no rows: they see `empty_table`, the
        table's columns without rows.
        """
        groups: dict[tuple[str, ...], list] = {}
        for expectation in definition.expectations:
            groups.setdefault(expectation.columns, []).append(expectation)
        results = []
        for columns, subset in groups.items():
            # A column the table lacks is left out: GE then fails its expectations by name.
            part = frame[[c for c in columns if c in frame.columns]] if columns else empty_table
            batch = self.batch_definition.get_batch(batch_parameters={"dataframe": part})
            suite = self.suite(definition, columns, tuple(subset))
            results.append(batch.validate(suite, result_format="SUMMARY"))
        return _folded(definition, results)


def _folded(definition: SuiteDef, results: list[Any]) -> Any:
    """The per-column-set results of one batch as a single suite result (ordered as the
    suite), with GE's statistics recounted."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

    order = {e.label: i for i, e in enumerate(definition.expectations)}
    checks = sorted(
        (r for result in results for r in result.results),
        key=lambda r: order[r.expectation_config.meta["label"]],
    )
    passed = sum(1 for r in checks if r.success)
    return ExpectationSuiteValidationResult(
        success=passed == len(checks),
        results=checks,
        suite_name=definition.name,
        statistics={
            "evaluated_expectations": len(checks),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(checks) - passed,
            "success_percent": 100.0 * passed / len(checks) if checks else None,
        },
        meta=results[0].meta if results else {},
    )


def _vectorisable(frame: Any) -> Any:
    """The frame with dtypes GE's pandas engine compares column-wise.

    GE 1.x vectorises `expect_column_values_to_be_between` only for int64, float64 and
    datetime64[ns] columns; DuckDB hands over int32, nullable Int32 and datetime64[us], which
    GE checks with a Python function per row (measured on the demo's feat_account_daily, 450k
    rows: half of a 20 s validation). Widening keeps every value: nullable integers become
    float64 (nulls as NaN, which GE skips like nulls).
    """
    import pandas as pd

    casts: dict[str, str] = {}
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype):
            continue
        if pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]":
            casts[name] = "datetime64[ns]"
        elif pd.api.types.is_integer_dtype(dtype) and dtype != "int64":
            casts[name] = (
                "float64" if isinstance(dtype, pd.api.extensions.ExtensionDtype) else "int64"
            )
        elif pd.api.types.is_float_dtype(dtype) and dtype != "float64":
            casts[name] = "float64"
    return frame.astype(casts) if casts else frame


def _merge(definition: SuiteDef, gx_results: list[Any], rows: int) -> list[Outcome]:
    """Fold per-batch GE results into one outcome per expectation (counts add up)."""
    merged: dict[str, Outcome] = {}
    for result in gx_results:
        for r in result.results:
            cfg = r.expectation_config
            label = cfg.meta["label"]
            spec = definition.expectation(label)
            res = r.result or {}
            observed = res.get("observed_value")
            if observed is None and res.get("partial_unexpected_list"):
                observed = {"unexpected_sample": res["partial_unexpected_list"][:10]}
            unexpected = res.get("unexpected_count")
            error = (r.exception_info or {}).get("exception_message") if r.exception_info else None
            if error:
                observed = {"error": error}
            current = merged.get(label)
            if current is None:
                merged[label] = Outcome(
                    suite=definition.name,
                    expectation=label,
                    column=spec.column,
                    success=bool(r.success),
                    severity=spec.severity,
                    observed_value=jsonable(observed),
                    unexpected_count=unexpected,
                    element_count=rows,
                )
                continue
            current.success = current.success and bool(r.success)
            if unexpected is not None:
                current.unexpected_count = (current.unexpected_count or 0) + unexpected
            if not r.success and (
                current.observed_value is None or spec.type != "expect_table_columns_to_match_set"
            ):
                current.observed_value = current.observed_value or jsonable(observed)
    return [merged[e.label] for e in definition.expectations if e.label in merged]


def validate_gx(
    con: duckdb.DuckDBPyConnection,
    definition: SuiteDef,
    table: str,
    where_sql: str | None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> SuiteResult:
    """GE on frames of at most `batch_rows` rows, split by a hash of the suite's key so that
    duplicate keys meet in the same batch. An empty window validates an empty frame with the
    table's columns."""
    started = time.perf_counter()
    where = where_clause(where_sql)
    rows = con.execute(f"SELECT count(*) FROM {table} {where}").fetchall()[0][0]
    batches = max(1, math.ceil(rows / batch_rows))
    gx = _Gx.get()
    gx_results = []
    key = ", ".join(f'"{k}"' for k in definition.key)
    empty_table = con.execute(f"SELECT * FROM {table} LIMIT 0").df()
    read = dict.fromkeys(
        c for e in definition.expectations for c in e.columns if c in empty_table.columns
    )
    columns = ", ".join(f'"{c}"' for c in read) or "NULL AS _no_column"
    for i in range(batches):
        if batches == 1:
            sql = f"SELECT {columns} FROM {table} {where}"
        else:
            part = f"hash({key}) % {batches} = {i}"
            sql = f"SELECT {columns} FROM {table} WHERE {part}" + (
                f" AND ({where_sql})" if where_sql else ""
            )
        frame = _vectorisable(con.execute(sql).df())
        gx_results.append(gx.validate(definition, frame, empty_table))
        del frame
    outcomes = _merge(definition, gx_results, rows)
    return SuiteResult(
        suite=definition.name,
        table=table,
        outcomes=outcomes,
        rows=rows,
        batches=batches,
        seconds=time.perf_counter() - started,
        where_sql=where_sql,
        gx_results=gx_results,
    )
