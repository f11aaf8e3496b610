"""The floor of the benchmark: the KPI mart from one DuckDB script over the landing files.

`bench/floor.sql` computes `marts.fct_support_kpis_daily` straight from the helpdesk and
CRM extracts and the dbt seeds, the fastest honest way to get the same table. The pipeline's
build time is judged against its run time, and `compare_with_mart` proves it is the same
table, so the comparison is like for like.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from extracts.ingest import score_texts
from extracts.lexicon import load_lexicon_tables

REPO = Path(__file__).resolve().parent.parent
FLOOR_SQL = Path(__file__).resolve().parent / "floor.sql"
SEEDS = REPO / "dbt_project" / "seeds"
GRAIN = ["kpi_date", "channel", "category", "tier", "segment", "handling_path"]
FLOAT_TOLERANCE = 1e-6
_EXAMPLES = 5


@dataclass(frozen=True)
class FloorResult:
    frame: pd.DataFrame
    """The KPI mart's rows, ordered by its grain."""
    seconds: float
    """Wall time of running the script and fetching its (small) result."""


def _landing_glob(landing_dir: Path) -> str:
    """The helpdesk tickets' files, as a SQL string literal's content (quotes doubled)."""
    return str(Path(landing_dir).resolve() / "helpdesk" / "*" / "tickets.jsonl").replace("'", "''")


def floor_sql(landing_dir: Path, seeds_dir: Path = SEEDS) -> str:
    """The script with its placeholders filled: the landing and seeds folders.

    Plain substitution rather than str.format, because the SQL has braces of its own
    (struct literals, the regex `\\p{L}`). Folder paths sit inside SQL string literals, so
    their quotes are doubled.
    """
    return (
        FLOOR_SQL.read_text()
        .replace("{landing}", str(Path(landing_dir).resolve()).replace("'", "''"))
        .replace("{seeds}", str(Path(seeds_dir).resolve()).replace("'", "''"))
    )


def run_floor(
    landing_dir: Path,
    seeds_dir: Path = SEEDS,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> FloorResult:
    """Run the floor on a fresh in-memory DuckDB, timing the text scoring, the SQL and its
    fetch.

    Description sentiment needs each text's language (lingua, in Python), so the distinct
    descriptions are scored first into `_text_features`, as ingestion scores them; the
    script joins that table. Building the script text and opening the connection are left
    out of `seconds`: the pipeline's own start-up is what the benchmark measures on the
    other side.
    """
    config: dict[str, str | int] = {}
    if threads is not None:
        config["threads"] = threads
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    sql = floor_sql(landing_dir, seeds_dir)
    with duckdb.connect(":memory:", config=config) as con:
        started = time.perf_counter()
        load_lexicon_tables(con)
        descriptions = (
            f"SELECT description AS text FROM read_json('{_landing_glob(landing_dir)}', "
            "format = 'newline_delimited', columns = {description: 'VARCHAR'}) "
            "WHERE description IS NOT NULL"
        )
        score_texts(con, descriptions)
        frame = con.execute(sql).df()
        seconds = time.perf_counter() - started
    return FloorResult(frame=frame, seconds=seconds)


def compare_with_mart(floor_frame: pd.DataFrame, mart_frame: pd.DataFrame) -> list[str]:
    """Human-readable differences between the floor and the mart; empty when they agree.

    Rows are matched on the grain; every mart column is compared: integers exactly, floats
    within 1e-6 (relative or absolute: the mart rounds its sums to 6 decimals, and
    summation order may move the last digit), anything else by equality; null equals null.
    """
    problems = [
        f"column {column} of the mart is missing from the floor"
        for column in mart_frame.columns
        if column not in floor_frame.columns
    ]
    if any(column not in frame.columns for column in GRAIN for frame in (floor_frame, mart_frame)):
        return [*problems, f"rows cannot be matched without every grain column {GRAIN}"]
    keyed: dict[str, pd.DataFrame] = {}
    for name, frame in (("floor", floor_frame), ("mart", mart_frame)):
        indexed = _keyed(frame)
        repeated = indexed.index.duplicated(keep=False)
        if repeated.any():
            problems.append(
                f"grain keys repeat in the {name}, e.g. {_keys(indexed.index[repeated].unique())}"
            )
        keyed[name] = indexed[~repeated]
    floor_keyed, mart_keyed = keyed["floor"], keyed["mart"]

    only_floor = floor_keyed.index.difference(mart_keyed.index)
    only_mart = mart_keyed.index.difference(floor_keyed.index)
    if len(only_floor):
        problems.append(f"{len(only_floor)} grain rows only in the floor, e.g. {_keys(only_floor)}")
    if len(only_mart):
        problems.append(f"{len(only_mart)} grain rows only in the mart, e.g. {_keys(only_mart)}")

    shared = floor_keyed.index.intersection(mart_keyed.index)
    for column in mart_keyed.columns:
        if column not in floor_keyed.columns:
            continue
        floor_values = floor_keyed.loc[shared, column]
        mart_values = mart_keyed.loc[shared, column]
        same = [
            _same(f, m, pd.api.types.is_float_dtype(mart_values.dtype))
            for f, m in zip(floor_values, mart_values, strict=True)
        ]
        differing = shared[[not s for s in same]]
        if len(differing):
            examples = "; ".join(
                f"{key}: floor {floor_values[key]!r}, mart {mart_values[key]!r}"
                for key in differing[:_EXAMPLES]
            )
            problems.append(f"{column}: {len(differing)} rows differ, e.g. {examples}")
    return problems


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame indexed by its grain, with kpi_date as a plain date either way it was read."""
    keyed = frame.assign(kpi_date=pd.to_datetime(frame["kpi_date"]).dt.date)
    return keyed.set_index(GRAIN)


def _keys(index: pd.Index) -> str:
    return ", ".join(str(key) for key in index[:_EXAMPLES])


def _same(floor_value: object, mart_value: object, is_float: bool) -> bool:
    if pd.isna(floor_value) or pd.isna(mart_value):
        return bool(pd.isna(floor_value) and pd.isna(mart_value))
    if is_float:
        return math.isclose(
            float(floor_value),
            float(mart_value),
            rel_tol=FLOAT_TOLERANCE,
            abs_tol=FLOAT_TOLERANCE,
        )
    return bool(floor_value == mart_value)
