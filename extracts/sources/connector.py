"""Reading a connector's tables, whatever the adapter: the part every source shares.

A connector export is either a folder with one file per table, named as the connector names
the table (`ticket.parquet`, `ticket.csv` or `ticket.jsonl`, or a folder `ticket/` of such
files), or a DuckDB database file with the connector's schema (Fivetran's and Airbyte's
DuckDB destinations write one). `open_export` makes two views per declared table:
`<prefix>src_<table>` as read, and `<prefix><table>`, typed to the declared columns (absent
ones NULL) and reduced to the latest synced version of each key. `check_tables` reports
missing tables and columns and values of the wrong type, naming the table and column.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Self

import duckdb

from extracts.contracts import Entity
from extracts.files import atomic_write, write_text

FORMATS = ("parquet", "csv", "jsonl")
DATABASE_SUFFIXES = (".duckdb", ".db")
SOURCE_ALIAS = "connector_source"


class MappingConfig:
    """Base of an adapter's mapping knobs (a frozen dataclass): built from YAML or a mapping."""

    kind: ClassVar[str]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown {cls.kind} settings {unknown}; known: {sorted(known)}")
        kwargs = {
            k: tuple(str(x) for x in v) if isinstance(v, list) else v for k, v in values.items()
        }
        return cls(**kwargs)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Self:
        """A file with a `<kind>:` section, or with the knobs at the top level."""
        import yaml

        data = yaml.safe_load(Path(path).read_text()) or {}
        return cls.from_mapping(data.get(cls.kind, data))


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False
    without: str = ""
    """What is lost when an optional table is absent."""
    version_column: str | None = "_fivetran_synced"
    """Of several rows with one key, the one with the newest value here is the current one."""


def columns(spec: str) -> tuple[Column, ...]:
    """'id:BIGINT! name:VARCHAR' -> columns; `!` marks a required column."""
    out = []
    for item in spec.split():
        name, type_ = item.split(":")
        out.append(Column(name, type_.rstrip("!"), type_.endswith("!")))
    return tuple(out)


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_list(values: list[str] | tuple[str, ...]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")" if values else "(NULL)"


def is_database(source: Path) -> bool:
    return source.is_file() and source.suffix in DATABASE_SUFFIXES


def locate(folder: Path, table: str) -> list[Path]:
    """The files of one connector table: `<table>.<fmt>`, or `<table>/` holding such files."""
    for fmt in FORMATS:
        single = folder / f"{table}.{fmt}"
        if single.is_file():
            return [single]
    sub = folder / table
    if sub.is_dir():
        for fmt in FORMATS:
            files = sorted(sub.glob(f"*.{fmt}"))
            if files:
                return files
    return []


def reader(files: list[Path]) -> str:
    names = "[" + ", ".join(quote(str(f)) for f in files) + "]"
    suffix = files[0].suffix
    if suffix == ".parquet":
        return f"read_parquet({names}, union_by_name=true)"
    if suffix == ".csv":
        return f"read_csv({names}, header=true, all_varchar=true, union_by_name=true)"
    return f"read_json({names}, format='newline_delimited', union_by_name=true)"


def typed(column: Column, present: bool) -> str:
    if not present:
        return f"NULL::{column.type} AS {ident(column.name)}"
    col = ident(column.name)
    if column.type == "TIMESTAMP":
        # An explicit offset is honoured; naive values are UTC (the session zone).
        return f"CAST(try_cast({col} AS TIMESTAMPTZ) AS TIMESTAMP) AS {col}"
    if column.type == "VARCHAR":
        return f"CAST({col} AS VARCHAR) AS {col}"
    return f"try_cast({col} AS {column.type}) AS {col}"


@dataclass
class Export:
    """An opened connector export."""

    source: Path
    prefix: str
    present: dict[str, list[str]]
    """Tables found -> their columns."""
    locations: dict[str, str]
    """Tables found -> where they were read (files, or `schema.table` in the database)."""

    def raw(self, table: str) -> str:
        return f"{self.prefix}src_{table}"


def _database_tables(con: duckdb.DuckDBPyConnection, schema: str | None) -> dict[str, str]:
    """Table name -> `schema.table` in the attached connector database."""
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
        "WHERE database_name = ? AND NOT internal",
        [SOURCE_ALIAS, SOURCE_ALIAS],
    ).fetchall()
    found: dict[str, list[str]] = {}
    for table_schema, table in rows:
        if schema is None or table_schema == schema:
            found.setdefault(table.lower(), []).append(table_schema)
    ambiguous = {t: s for t, s in found.items() if len(s) > 1}
    if ambiguous:
        table, schemas = next(iter(ambiguous.items()))
        raise ValueError(
            f"table {table} is in several schemas ({', '.join(sorted(schemas))}): "
            "set `schema` in the source's config"
        )
    return {t: f"{SOURCE_ALIAS}.{ident(s[0])}.{ident(t)}" for t, s in found.items()}


def open_export(
    con: duckdb.DuckDBPyConnection,
    source: str | Path,
    tables: tuple[Table, ...],
    prefix: str,
    extra_columns: dict[str, tuple[Column, ...]] | None = None,
    schema: str | None = None,
    archive: Path | None = None,
) -> Export:
    """Create `<prefix>src_<table>` (as read) and `<prefix><table>` (typed, current version).

    `extra_columns` adds configured columns (a custom field) to a table's declared ones;
    `schema` picks the schema of a database source holding several connectors. With
    `archive`, each versioned table's rows synced after the archive's watermark are appended
    to `<archive>/<table>/` first, and the table is read from there: every synced version is
    kept, the same sync re-loaded adds nothing, and an export holding only the latest
    changes (an incremental file drop) still gives the whole current state."""
    source = Path(source)
    con.execute("SET TimeZone = 'UTC'")
    if is_database(source):
        con.execute(f"DETACH DATABASE IF EXISTS {SOURCE_ALIAS}")
        con.execute(f"ATTACH {quote(str(source))} AS {SOURCE_ALIAS} (READ_ONLY)")
        in_database = _database_tables(con, schema)
    elif source.is_dir():
        in_database = None
    else:
        raise FileNotFoundError(
            f"{source}: not a folder of connector tables nor a DuckDB database "
            f"({', '.join(DATABASE_SUFFIXES)})"
        )
    present: dict[str, list[str]] = {}
    locations: dict[str, str] = {}
    extra_columns = extra_columns or {}
    for table in tables:
        if in_database is None:
            files = locate(source, table.name)
            relation = reader(files) if files else None
            where = ", ".join(str(f) for f in files)
        else:
            relation = in_database.get(table.name)
            where = relation or ""
        declared = table.columns + extra_columns.get(table.name, ())
        raw = f"{prefix}src_{table.name}"
        if relation:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {raw} AS SELECT * FROM {relation}")
            have = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall()]
            if archive is not None and table.version_column in have:
                relation = _archive_versions(con, raw, table.version_column, archive / table.name)
                con.execute(f"CREATE OR REPLACE TEMP VIEW {raw} AS SELECT * FROM {relation}")
                have = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall()]
            present[table.name] = have
            locations[table.name] = where
            scan = raw
        else:
            have = []
            scan = "(SELECT 1 WHERE false)"
        select = ", ".join(typed(c, c.name in have) for c in declared)
        latest = ""
        if table.version_column:
            # One row per key: the latest synced version (any one of exact copies without it).
            keys = ", ".join(ident(k) for k in table.key)
            latest = (
                f" QUALIFY row_number() OVER (PARTITION BY {keys} "
                f"ORDER BY {ident(table.version_column)} DESC NULLS LAST) = 1"
            )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {prefix}{table.name} AS "
            f"SELECT * FROM (SELECT {select} FROM {scan}){latest}"
        )
    return Export(source, prefix, present, locations)


def _archive_versions(
    con: duckdb.DuckDBPyConnection, raw: str, version_column: str, folder: Path
) -> str:
    """Append the rows of `raw` synced after the archive's newest version; return a reader
    over every archived batch. Rows without a version are archived with the first batch."""
    version = typed(Column(version_column, "TIMESTAMP"), True).rsplit(" AS ", 1)[0]
    folder.mkdir(parents=True, exist_ok=True)
    batches = sorted(folder.glob("*.parquet"))
    watermark = (
        con.execute(f"SELECT max({version}) FROM {reader(batches)}").fetchone()[0]
        if batches
        else None
    )
    newer = f"{version} > ?" if watermark else "true"
    newest = con.execute(
        f"SELECT count(*), max({version}) FROM {raw} WHERE {newer}",
        [watermark] if watermark else [],
    ).fetchone()
    if newest[0]:
        name = (newest[1] or dt.datetime(1970, 1, 1)).strftime("%Y%m%dT%H%M%S%f")
        atomic_write(
            folder / f"{name}.parquet",
            lambda tmp: con.execute(
                f"COPY (SELECT * FROM {raw} WHERE {newer}) TO {quote(str(tmp))} (FORMAT parquet)",
                [watermark] if watermark else [],
            ),
        )
        batches = sorted(folder.glob("*.parquet"))
    if not batches:
        # A table exported with no rows (e.g. no schedule holidays): nothing archived yet.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw}_empty AS SELECT * FROM {raw} WHERE false")
        return f"{raw}_empty"
    return reader(batches)


@dataclass
class CheckReport:
    source: Path
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unavailable: list[tuple[str, str]] = field(default_factory=list)
    """(metric, why) pairs."""
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_tables(
    con: duckdb.DuckDBPyConnection,
    export: Export,
    tables: tuple[Table, ...],
    report: CheckReport,
) -> None:
    """Missing tables and required columns, values of the wrong type, empty required cells."""
    for table in tables:
        if table.name not in export.present:
            if table.required:
                report.errors.append(
                    f"table {table.name}: missing (expected {table.name}.parquet, "
                    f"{table.name}.csv, {table.name}.jsonl, a folder {table.name}/ "
                    "or a table in the database)"
                )
            else:
                report.unavailable.append((f"(no table {table.name})", table.without))
            continue
        have = export.present[table.name]
        missing = [c.name for c in table.columns if c.required and c.name not in have]
        for name in missing:
            report.errors.append(
                f"table {table.name}: column {name} missing (has: {', '.join(have)})"
            )
        if missing:
            continue
        raw = export.raw(table.name)
        report.rows[table.name] = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
        for column in table.columns:
            if column.name not in have or column.type == "VARCHAR":
                continue
            col = ident(column.name)
            cast = typed(column, True).rsplit(" AS ", 1)[0]
            bad, example = con.execute(
                f"SELECT count(*), any_value({col}::VARCHAR) FROM {raw} "
                f"WHERE {col} IS NOT NULL AND trim({col}::VARCHAR) <> '' AND {cast} IS NULL"
            ).fetchone()
            if bad:
                report.errors.append(
                    f"table {table.name}: column {column.name} has {bad} value(s) that are "
                    f"not {column.type} (e.g. {example!r})"
                )
        for column in (c for c in table.columns if c.required):
            nulls = con.execute(
                f"SELECT count(*) FROM {raw} WHERE {ident(column.name)} IS NULL"
            ).fetchone()[0]
            if nulls:
                report.warnings.append(
                    f"table {table.name}: column {column.name} is empty in {nulls} row(s); "
                    "those rows are quarantined or skipped"
                )


_COPY_OPTIONS = {"jsonl": "FORMAT json", "csv": "FORMAT csv, HEADER", "parquet": "FORMAT parquet"}
MANIFEST_NAME = "_connector.json"


@dataclass
class LandedDays:
    """What one conversion wrote under `<landing>/<source>/`."""

    first_day: dt.date | None
    last_day: dt.date | None
    changed: list[dt.date]
    """Days written because they are new or their rows differ from the last conversion."""
    removed: list[dt.date]
    """Day folders deleted because the export no longer reaches them."""


def read_manifest(landing_dir: str | Path, source: str) -> dict[str, Any]:
    """The last conversion's record for a landing source ({} when none)."""
    path = Path(landing_dir) / source / MANIFEST_NAME
    return json.loads(path.read_text()) if path.is_file() else {}


FULL_REFRESH_KEY = "deleted_since_last_build"


def _write_manifest(landing_dir: str | Path, source: str, manifest: dict[str, Any]) -> None:
    write_text(
        Path(landing_dir) / source / MANIFEST_NAME, json.dumps(manifest, indent=1, default=str)
    )


def sources_with_deletions(landing_dir: str | Path, sources: Sequence[str]) -> list[str]:
    return [s for s in sources if read_manifest(landing_dir, s).get(FULL_REFRESH_KEY)]


def clear_deletions(landing_dir: str | Path, sources: Sequence[str]) -> None:
    """After a successful full build: the deleted rows are gone from the marts."""
    for source in sources:
        manifest = read_manifest(landing_dir, source)
        manifest.pop(FULL_REFRESH_KEY, None)
        _write_manifest(landing_dir, source, manifest)


def write_landing_days(
    con: duckdb.DuckDBPyConnection,
    landing_dir: str | Path,
    source: str,
    outputs: Sequence[tuple[Entity, str]],
    kind: str,
    synced_through: dt.datetime | None,
    dropped: Mapping[str, int] | None = None,
) -> LandedDays:
    """Write `(entity, SELECT ... , _day)` outputs as `<landing>/<source>/<day>/<file>`.

    Every day from the first to the last `_day` gets every entity's file (empty when the day
    has no rows). A day is rewritten only when its rows changed since the last conversion
    (a per-day fingerprint kept in `<source>/_connector.json`) or its files are not the
    ones written then (someone else wrote the folder), and replaced as a whole
    folder by a rename, so re-loading the same sync writes nothing and a reader never sees
    half a day. Day folders the export no longer reaches are removed.

    `dropped` counts the rows the source deleted, per kind (deleted tickets, merged
    tickets, ...). When one grows since the last conversion, the source is flagged until a
    full build clears it (`sources_with_deletions`): incremental models replace keys but
    never drop one.
    """
    root = Path(landing_dir) / source
    root.mkdir(parents=True, exist_ok=True)
    manifest_before = read_manifest(landing_dir, source)
    previous = manifest_before.get("days", {})
    dropped = dict(dropped or {})
    dropped_before = manifest_before.get("dropped", {})
    deletions_pending = manifest_before.get(FULL_REFRESH_KEY, False) or any(
        n > dropped_before.get(k, 0) for k, n in dropped.items()
    )
    written = manifest_before.get("files", {})
    # Materialised in the query's order, which a filtered scan keeps (insertion order is
    # preserved), so each day's file lists its rows in that order (line numbers are provenance).
    for entity, sql in outputs:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _landing_{entity.name} AS {sql}")
    fingerprint_sql = " UNION ALL ".join(
        f"SELECT {quote(entity.name)} AS entity, _day, count(*) AS n, "
        f"sum(hash(t)::HUGEINT)::VARCHAR AS h FROM _landing_{entity.name} AS t GROUP BY _day"
        for entity, _ in outputs
    )
    rows = con.execute(
        f"SELECT _day, string_agg(entity || ':' || n || ':' || h, ',' ORDER BY entity) "
        f"FROM ({fingerprint_sql}) GROUP BY _day"
    ).fetchall()
    fingerprints = {day.isoformat(): fp for day, fp in rows if day is not None}
    if not fingerprints:
        first = last = None
        days: list[dt.date] = []
    else:
        first = dt.date.fromisoformat(min(fingerprints))
        last = dt.date.fromisoformat(max(fingerprints))
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    current = {d.isoformat(): fingerprints.get(d.isoformat(), "") for d in days}
    changed = [
        d
        for d in days
        if previous.get(d.isoformat()) != current[d.isoformat()]
        or written.get(d.isoformat()) != _file_stats(root / d.isoformat())
    ]
    staging = root.parent / f".{source}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for day in changed:
            folder = staging / day.isoformat()
            folder.mkdir()
            for entity, _ in outputs:
                con.execute(
                    f"COPY (SELECT * EXCLUDE (_day) FROM _landing_{entity.name} WHERE _day = ?) "
                    f"TO {quote(str(folder / entity.file_name))} "
                    f"({_COPY_OPTIONS[entity.format]})",
                    [day],
                )
            _replace_dir(folder, root / day.isoformat())
        keep = {d.isoformat() for d in days}
        removed = sorted(
            dt.date.fromisoformat(p.name)
            for p in root.iterdir()
            if p.is_dir() and _is_day(p.name) and p.name not in keep
        )
        for day in removed:
            shutil.rmtree(root / day.isoformat())
        manifest = {
            "kind": kind,
            "synced_through": synced_through.isoformat() if synced_through else None,
            "converted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "first_day": first.isoformat() if first else None,
            "last_day": last.isoformat() if last else None,
            "dropped": dropped,
            "days": current,
            # what was written, so a day edited or replaced by anyone else is rewritten
            "files": {d: _file_stats(root / d) for d in current},
            FULL_REFRESH_KEY: deletions_pending,
        }
        _write_manifest(landing_dir, source, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return LandedDays(first, last, changed, removed)


def _file_stats(folder: Path) -> list[list]:
    """Name, size and modification time of each file of a day folder ([] when absent)."""
    if not folder.is_dir():
        return []
    return [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in sorted(folder.iterdir())]


def _is_day(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return True


def _replace_dir(new: Path, target: Path) -> None:
    """Swap `new` in at `target` with renames (the old folder goes only after the swap)."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
