"""Publish the read-only serving database that dashboards and the CLI open.

DuckDB lets no reader open a file a writer holds, so readers never touch the warehouse:
the pipeline copies the serving schemas into a new file and `os.replace`s it in, which
is atomic. A failed publish leaves the previous serving file in place.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from extracts.files import process_exists
from extracts.ingest import raw_tables
from extracts.ledger import built_through

PUBLISH_INFO_TABLE = "serving_info"
RAW_SUMMARY_TABLE = "raw_summary"


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
class PublishResult:
    path: Path
    tables: dict[str, int]
    published_at: dt.datetime
    data_as_of: dt.date | None


def publish_serving(
    con: duckdb.DuckDBPyConnection, serving_path: Path, schemas: tuple[str, ...]
) -> PublishResult:
    """Copy `schemas` from the warehouse `con` is attached to into a fresh file at `serving_path`.

    `data_as_of` is the newest landing day a successful warehouse build covered; it is stored
    in the file so readers can show how fresh what they read is.
    """
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_copies(serving_path)
    staging = serving_path.with_name(f".{serving_path.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    tables = con.execute(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_catalog = current_database() AND table_schema IN (SELECT unnest(?))
           ORDER BY 1, 2""",
        [list(schemas)],
    ).fetchall()
    data_as_of = built_through(con)
    counts: dict[str, int] = {}
    con.execute(f"ATTACH '{staging}' AS serving_new")
    try:
        for schema, name in tables:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS serving_new.{schema}")
            con.execute(
                f"CREATE TABLE serving_new.{schema}.{name} AS SELECT * FROM {schema}.{name}"
            )
            counts[f"{schema}.{name}"] = con.execute(
                f"SELECT count(*) FROM serving_new.{schema}.{name}"
            ).fetchone()[0]
        summary = _raw_summary_sql(con)
        if summary:
            con.execute(f"CREATE TABLE serving_new.main.{RAW_SUMMARY_TABLE} AS {summary}")
        con.execute(
            f"""CREATE TABLE serving_new.main.{PUBLISH_INFO_TABLE} AS
                SELECT ?::TIMESTAMP AS published_at, ?::DATE AS data_as_of""",
            [published_at, data_as_of],
        )
    except Exception:
        con.execute("DETACH serving_new")
        staging.unlink(missing_ok=True)
        raise
    con.execute("DETACH serving_new")
    os.replace(staging, serving_path)
    return PublishResult(serving_path, counts, published_at, data_as_of)
