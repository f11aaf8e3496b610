"""Load landing files into `raw.*` through DuckDB's own readers, enforcing the contracts.

Everything is set-based SQL: per chunk of landing days one statement stages the chunk's
files and validates every row, and one transaction swaps the whole range's partitions in.
CRM snapshots (`Entity.changes_only`) are stored as versions behind a daily view. Bad rows go to
`quarantine.<table>` with file, line, field and reason; PII is hashed (HMAC-SHA256) and
free text reduced to derived features before any table sees them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from extracts.contracts import Entity, Field, landing_path
from extracts.files import fingerprint
from extracts.language import DEFAULT_LANGUAGES, detect_languages
from extracts.ledger import ensure_ledger, record_days, record_load
from extracts.lexicon import load_lexicon_tables, sentiment_sql
from extracts.pii_key import check_key

RAW_SCHEMA = "raw"
QUARANTINE_SCHEMA = "quarantine"
VERSIONS_SCHEMA = "raw_versions"
"""Where `changes_only` snapshots are stored, one row per version; `raw.<table>` reads them."""
VERSION_META = ("_landing_date", "_source_file", "_source_line", "_is_late", "_loaded_at")
"""Raw columns that say where and when a row came, not what it says: never compared."""
EARLIEST_EVENT_DATE = dt.date(2000, 1, 1)
"""Event times before this day are quarantined (`too_early`) unless the caller sets another."""
_HMAC_BLOCK = 64


class ExtractFileError(Exception):
    """A landing file that cannot be read at all; fails the load of its range, nothing written."""

    def __init__(self, file: str | Path, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = str(file)
        self.problem = problem


@dataclass
class LoadResult:
    table: str
    first_day: dt.date
    last_day: dt.date
    files: list[str]
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_late: int
    rows_resent: int = 0
    """Loaded rows whose key another landing day also holds (the newest landing wins)."""
    rows_stored: int | None = None
    """`changes_only` snapshots: the versions the range's days now hold (else None)."""
    quarantined_by_kind: dict[str, int] = field(default_factory=dict)
    unexpected_columns: dict[str, list[str]] = field(default_factory=dict)


def day_range(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def raw_columns(entity: Entity) -> list[tuple[str, str]]:
    """Columns of `raw.<table>`: contract fields with PII hashed and text reduced to features."""
    columns: list[tuple[str, str]] = []
    for f in entity.fields:
        if f.pii:
            columns.append((f"{f.name}_hash", "VARCHAR"))
        elif f.text:
            columns += [
                (f"{f.name}_chars", "INTEGER"),
                (f"{f.name}_sentiment", "DOUBLE"),
                (f"{f.name}_language", "VARCHAR"),
            ]
        else:
            columns.append((f.name, f.type))
    return [
        *columns,
        ("_landing_date", "DATE"),
        ("_source_file", "VARCHAR"),
        ("_source_line", "BIGINT"),
        ("_is_late", "BOOLEAN"),
        ("_loaded_at", "TIMESTAMP"),
    ]


QUARANTINE_COLUMNS = [
    ("_landing_date", "DATE"),
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("field", "VARCHAR"),
    ("fault_kind", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("record", "JSON"),
    ("_loaded_at", "TIMESTAMP"),
]


def ensure_tables(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Create the raw and quarantine tables if they do not exist yet (for a `changes_only`
    snapshot: its versions table and the `raw.<table>` view over it)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {QUARANTINE_SCHEMA}")
    stored = _stored_table(entity)
    if entity.changes_only:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {VERSIONS_SCHEMA}")
    for table, columns in (
        (stored, _stored_columns(entity)),
        (f"{QUARANTINE_SCHEMA}.{entity.table}", QUARANTINE_COLUMNS),
    ):
        cols = ", ".join(f'"{name}" {type_}' for name, type_ in columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")
    # A column added to the contract later (e.g. tickets' schedule_id) joins an existing
    # table; earlier rows read null.
    for name, type_ in _stored_columns(entity):
        con.execute(f'ALTER TABLE {stored} ADD COLUMN IF NOT EXISTS "{name}" {type_}')
    if entity.changes_only:
        _migrate_daily_rows(con, entity)
        con.execute(_snapshot_view_sql(entity))


def _stored_table(entity: Entity) -> str:
    schema = VERSIONS_SCHEMA if entity.changes_only else RAW_SCHEMA
    return f"{schema}.{entity.table}"


def _stored_columns(entity: Entity) -> list[tuple[str, str]]:
    """The raw columns; a version also keeps its last day (`_landing_date` is its first)."""
    extra = [("_valid_to", "DATE")] if entity.changes_only else []
    return raw_columns(entity) + extra


def _snapshot_view_sql(entity: Entity) -> str:
    """`raw.<table>`: each version once per day from its first to its last, so readers (dbt,
    the quality gates, the Spark export) see the daily snapshots the files had. The source
    file and line are where the version was first delivered."""
    cols = ", ".join(
        '_day AS "_landing_date"' if name == "_landing_date" else f'"{name}"'
        for name, _ in raw_columns(entity)
    )
    return f"""CREATE OR REPLACE VIEW {RAW_SCHEMA}.{entity.table} AS
        SELECT {cols} FROM (
            SELECT *, CAST(_landing_date + CAST(unnest(range(0, _valid_to - _landing_date + 1))
                                                AS INTEGER) AS DATE) AS _day
            FROM {VERSIONS_SCHEMA}.{entity.table})"""


def _migrate_daily_rows(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """A warehouse from before `changes_only`: its daily rows become versions, once."""
    kind = con.execute(
        """SELECT table_type FROM information_schema.tables
           WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?""",
        [RAW_SCHEMA, entity.table],
    ).fetchone()
    if not kind or kind[0] != "BASE TABLE":
        return
    versions = f"{VERSIONS_SCHEMA}.{entity.table}"
    cols = ", ".join(f'"{name}"' for name, _ in raw_columns(entity))
    con.execute("BEGIN TRANSACTION")  # all or nothing: a rerun would copy the rows twice
    try:
        bounds = con.execute(
            f"SELECT min(_landing_date), max(_landing_date) FROM {RAW_SCHEMA}.{entity.table}"
        ).fetchone()
        con.execute(
            f"""INSERT INTO {versions} ({cols}, _valid_to)
                SELECT {cols}, _landing_date FROM {RAW_SCHEMA}.{entity.table}"""
        )
        if bounds[0] is not None:
            _merge_versions(con, entity, bounds[0], bounds[1])
        con.execute(f"DROP TABLE {RAW_SCHEMA}.{entity.table}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _same_as_previous(compared: str, adjacent: str, key_cols: str) -> str:
    """SQL: the row continues its key's previous row (same `compared` value, `adjacent` day)."""
    window = f"OVER (PARTITION BY {key_cols} ORDER BY _landing_date)"
    return (
        f"coalesce(lag({adjacent}) {window} + 1 = _landing_date "
        f"AND lag({compared}) {window} IS NOT DISTINCT FROM {compared}, false)"
    )


def _merge_versions(
    con: duckdb.DuckDBPyConnection, entity: Entity, first_day: dt.date, last_day: dt.date
) -> None:
    """Join a key's versions that follow each other day by day with the same stored values,
    among the versions on [first_day - 1, last_day + 1] (the range's own, cut on the text
    as read, and its neighbours across both edges): the rest were joined when loaded.

    A run of equal, adjacent versions becomes its first one, stretched to the run's end."""
    versions = f"{VERSIONS_SCHEMA}.{entity.table}"
    key_cols = ", ".join(f'"{k}"' for k in entity.key)
    values = ", ".join(
        f'"{name}" := "{name}"'
        for name, _ in raw_columns(entity)
        if name not in VERSION_META and name not in entity.key
    )
    same = _same_as_previous("_values", "_valid_to", key_cols)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _merged AS
            WITH affected AS (
                SELECT {key_cols}, _landing_date, _valid_to, struct_pack({values}) AS _values
                FROM {versions}
                WHERE _valid_to >= CAST($1 AS DATE) - 1 AND _landing_date <= CAST($2 AS DATE) + 1),
            marked AS (SELECT *, {same} AS _continues FROM affected),
            runs AS (
                SELECT *, sum(CASE WHEN _continues THEN 0 ELSE 1 END) OVER (
                    PARTITION BY {key_cols} ORDER BY _landing_date ROWS UNBOUNDED PRECEDING) AS _run
                FROM marked)
            SELECT {key_cols}, _landing_date, _continues,
                   max(_valid_to) OVER (PARTITION BY {key_cols}, _run) AS _run_end
            FROM runs""",
        [first_day, last_day],
    )
    match = " AND ".join(f'v."{k}" = m."{k}"' for k in entity.key)
    con.execute(
        f"""UPDATE {versions} AS v SET _valid_to = m._run_end FROM _merged AS m
            WHERE {match} AND v._landing_date = m._landing_date
              AND NOT m._continues AND v._valid_to <> m._run_end"""
    )
    con.execute(
        f"""DELETE FROM {versions} AS v USING _merged AS m
            WHERE {match} AND v._landing_date = m._landing_date AND m._continues"""
    )
    con.execute("DROP TABLE _merged")


def _store_versions(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    first_day: dt.date,
    last_day: dt.date,
    new_versions: str,
) -> None:
    """Replace [first_day, last_day] of a `changes_only` snapshot by `new_versions` (a query
    in the versions table's columns).

    A version reaching across the range's first day ends the day before; one reaching past
    its last day goes on from the day after; then equal neighbours across the edges join."""
    versions = f"{VERSIONS_SCHEMA}.{entity.table}"
    days = [first_day, last_day]
    con.execute(
        f"""INSERT INTO {versions} SELECT * REPLACE (CAST($1 AS DATE) + 1 AS _landing_date)
            FROM {versions} WHERE _landing_date <= $1 AND _valid_to > $1""",
        [last_day],
    )
    con.execute(
        f"""UPDATE {versions} SET _valid_to = CAST($1 AS DATE) - 1
            WHERE _landing_date < $1 AND _valid_to >= $1""",
        [first_day],
    )
    con.execute(f"DELETE FROM {versions} WHERE _landing_date BETWEEN $1 AND $2", days)
    cols = ", ".join(f'"{name}"' for name, _ in _stored_columns(entity))
    con.execute(f"INSERT INTO {versions} ({cols}) {new_versions}")
    _merge_versions(con, entity, first_day, last_day)


def _version_starts(entity: Entity) -> str:
    """Temp table `_version_starts`: the valid rows of `_classified` that start a run of equal
    rows on consecutive days of their key, with the run's last day as `_valid_to`.

    Compared as read (a 64-bit hash of the row's text, in this session only), so only a
    run's first row is typed and hashed; runs that differ in text but not in what is stored
    (an email's case) are joined afterwards by `_merge_versions` on the stored values. One
    sort: a row starts a run unless the day before holds its key with the same text, ends it
    unless the day after does; the start's run ends at the next end. The sort carries only
    key, day and hash; the starts' rows are joined back (sorting whole rows cost 2.5x)."""
    key_cols = ", ".join(f'"{k}"' for k in entity.key)
    text = ", ".join(f'"{f.name}"' for f in entity.fields if f.name not in entity.key)
    window = f"OVER (PARTITION BY {key_cols} ORDER BY _landing_date)"
    return f"""CREATE OR REPLACE TEMP TABLE _version_starts AS
        WITH valid AS (
            SELECT {key_cols}, _landing_date, hash({text}) AS _text_hash
            FROM _classified WHERE _problem IS NULL),
        edges AS (
            SELECT *,
                   coalesce(lag(_landing_date) {window} + 1 = _landing_date
                            AND lag(_text_hash) {window} = _text_hash, false) AS _continues,
                   coalesce(lead(_landing_date) {window} - 1 = _landing_date
                            AND lead(_text_hash) {window} = _text_hash, false) AS _continued
            FROM valid),
        starts AS (
            SELECT {key_cols}, _landing_date,
                   CASE WHEN _continued THEN lead(_landing_date) {window} ELSE _landing_date END
                       AS _valid_to
            FROM edges
            WHERE NOT (_continues AND _continued)
            QUALIFY NOT _continues)
        SELECT c.*, starts._valid_to
        FROM _classified AS c JOIN starts USING (_landing_date, {key_cols})
        WHERE c._problem IS NULL"""


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """Inner and outer HMAC pads, so SQL can compute HMAC-SHA256 with two sha256 calls."""
    if len(key) > _HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_HMAC_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def use_pii_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Give the connection's hashing SQL (`_hmac_sql`) its key, as two session variables."""
    ipad, opad = _hmac_pads(key)
    con.execute("SET VARIABLE pii_ipad = ?", [ipad])
    con.execute("SET VARIABLE pii_opad = ?", [opad])


def _pii_normalised(f: Field, expr: str) -> str:
    """Normalise before hashing so the same person hashes the same across sources."""
    if f.pii == "email":
        return f"lower(trim({expr}))"
    if f.pii == "phone":
        return f"nullif(regexp_replace({expr}, '[^0-9+]', '', 'g'), '')"
    return f"lower(trim(regexp_replace({expr}, '\\s+', ' ', 'g')))"


def _hmac_sql(f: Field, expr: str) -> str:
    value = _pii_normalised(f, expr)
    return f"sha256(getvariable('pii_opad') || unhex(sha256(getvariable('pii_ipad') || encode({value}))))"


EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _email_hashed_sql(f: Field, expr: str) -> str:
    """`expr`, or its email HMAC when it looks like an email: the same hash as an email field
    of that address (so it still joins a contact), never the address itself."""
    as_email = _hmac_sql(Field(f.name, f.type, pii="email"), expr)
    # `contains` first: the regex then runs only on the few values with an @ (an id column)
    looks_like_email = (
        f"contains({expr}, '@') AND regexp_matches(trim({expr}), {_quote(EMAIL_SHAPE)})"
    )
    return f"CASE WHEN {looks_like_email} THEN {as_email} ELSE {expr} END"


def _list(files: list[str]) -> str:
    return "[" + ", ".join(_quote(f) for f in files) + "]"


def _stage_sql(
    entity: Entity, file_columns: dict[str, list[str]], native: frozenset[str] = frozenset()
) -> str:
    """One scan over every file of the range: declared fields as text, file and line number.

    A declared column a file lacks reads as NULL (the contract check then names it). Parquet
    numbers its rows per file itself; JSON lines and CSV are numbered in scan order (one
    ordered window), and `_line` is that number's position within its file. No files (an
    optional entity's window without any): no rows.
    """
    if not file_columns:
        nulls = ", ".join(f'NULL::VARCHAR AS "{f.name}"' for f in entity.fields)
        return f"SELECT NULL::VARCHAR AS _file, NULL::BIGINT AS _line, {nulls} WHERE false"
    if entity.format == "jsonl":
        scan = f"""SELECT filename AS _file, row_number() OVER () AS _rn, json
                   FROM read_json_objects({_list(list(file_columns))},
                                          format='newline_delimited', filename=true)"""
        return _lines_within_files(
            f"SELECT * EXCLUDE (json) FROM ({json_fields_sql(entity, scan)})"
        )
    # CSV and Parquet: files that share a header are read together with the header given,
    # so DuckDB neither sniffs every file nor unions schemas by name.
    by_header: dict[tuple[str, ...], list[str]] = {}
    for file, columns in file_columns.items():
        by_header.setdefault(tuple(columns), []).append(file)
    scans = []
    for header, files in by_header.items():
        select = ", ".join(
            # Fields the files store in the contract's type stay typed (no text round trip).
            f'CAST("{f.name}" AS {f.type if f.name in native else "VARCHAR"}) AS "{f.name}"'
            if f.name in header
            else f'NULL::VARCHAR AS "{f.name}"'
            for f in entity.fields
        )
        if entity.format == "csv":
            types = ", ".join(f"{_quote(c)}: 'VARCHAR'" for c in header)
            source = (
                f"read_csv({_list(files)}, header=true, auto_detect=false, columns={{{types}}}, "
                "filename=true, quote='\"', escape='\"')"
            )
            # The header is line 1.
            scans.append(_lines_within_files(
                f"SELECT filename AS _file, row_number() OVER () AS _rn, {select} FROM {source}",
                header_lines=1,
            ))  # fmt: skip
        else:
            source = f"read_parquet({_list(files)}, filename=true, file_row_number=true)"
            scans.append(
                f"SELECT filename AS _file, file_row_number + 1 AS _line, {select} FROM {source}"
            )
    return "\nUNION ALL\n".join(scans)


def json_fields_sql(entity: Entity, scan: str) -> str:
    """`scan` (a query with a JSON-lines `json` column) plus each contract field as text.

    One extraction of every field's path: each line is parsed once, not once per field."""
    paths = "[" + ", ".join(_quote("$." + f.name) for f in entity.fields) + "]"
    fields = ", ".join(f'_values[{n}] AS "{f.name}"' for n, f in enumerate(entity.fields, 1))
    return f"""SELECT * EXCLUDE (_values), {fields}
               FROM (SELECT *, json_extract_string(json, {paths}) AS _values FROM ({scan}))"""


def _lines_within_files(numbered_scan: str, header_lines: int = 0) -> str:
    """`_rn` (scan order over all files) -> `_line`, the 1-based line within its file.

    Each file's first number is a per-file aggregate joined back: a window partitioned by
    file moves every row (31 days of 1M-scale contacts: 3.1 s numbered that way, 2.3 s so)."""
    return f"""
        SELECT * FROM (
            WITH numbered AS MATERIALIZED ({numbered_scan}),
            file_starts AS (SELECT _file, min(_rn) AS _first_rn FROM numbered GROUP BY _file)
            SELECT numbered.* EXCLUDE (_rn), _rn - _first_rn + 1 + {header_lines} AS _line
            FROM numbered JOIN file_starts USING (_file))"""


def _file_columns(
    con: duckdb.DuckDBPyConnection, entity: Entity, files: list[str]
) -> dict[str, list[str]]:
    """The columns each file actually has, failing on a file DuckDB cannot read at all."""
    if not files:
        return {}
    if entity.format == "jsonl":
        try:
            rows = con.execute(
                f"""SELECT filename, list(DISTINCT key ORDER BY key) FROM (
                        SELECT filename, unnest(json_keys(json)) AS key
                        FROM read_json_objects({_list(files)}, format='newline_delimited',
                                               filename=true))
                    GROUP BY filename"""
            ).fetchall()
        except duckdb.Error:
            bad_file, line = _first_malformed_line(con, entity, files)
            raise ExtractFileError(
                bad_file, f"line {line} is not valid JSON (truncated or malformed file)"
            ) from None  # DuckDB's JSON error quotes the input: none of it goes on
        keys = dict(rows)
        return {f: keys.get(f, []) for f in files}
    if entity.format == "csv":
        headers = {}
        for f in files:
            with open(f, "rb") as handle:
                first = handle.readline()
            try:
                header = first.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ExtractFileError(
                    f, f"line 1 (the header) is not valid UTF-8 (byte {exc.start + 1})"
                ) from exc
            headers[f] = next(csv.reader([header]), [])
        return headers
    columns: dict[str, list[str]] = {}
    for f in files:
        try:
            columns[f] = [
                name
                for (name,) in con.execute(
                    "SELECT name FROM parquet_schema(?) WHERE num_children IS NULL", [f]
                ).fetchall()
            ]
        except duckdb.Error as exc:
            raise ExtractFileError(f, _short(exc)) from exc
    return columns


def _native_fields(
    con: duckdb.DuckDBPyConnection, entity: Entity, files: list[str]
) -> frozenset[str]:
    """Parquet fields that every file stores in the contract's type (a timestamp with a time
    zone counts as a timestamp, read as UTC): staged typed, so no value is printed as text
    and parsed back. Key fields stay text (duplicate reasons quote them)."""
    if entity.format != "parquet" or not files:
        return frozenset()
    accepted = {"TIMESTAMP": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE")}
    native = {f.name for f in entity.fields if f.type != "VARCHAR" and f.name not in entity.key}
    for file in files:
        types = dict(
            con.execute(
                f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet({_quote(file)}))"
            ).fetchall()
        )
        native = {
            n
            for n in native
            if types.get(n) in accepted.get(entity.field(n).type, (entity.field(n).type,))
        }
    return frozenset(native)


def _first_malformed_line(
    con: duckdb.DuckDBPyConnection, entity: Entity, files: list[str]
) -> tuple[str, int]:
    """File and 1-based line of the first line that is not valid JSON.

    DuckDB's own JSON error reports a line number one past the real one, so read the lines
    as plain text and ask `json_valid` instead.
    """
    for f in files:
        try:
            found = con.execute(
                f"""SELECT line FROM (
                        SELECT row_number() OVER () AS line, text
                        FROM read_csv({_quote(f)}, columns={{'text': 'VARCHAR'}}, header=false,
                                      delim=e'\\x1f', quote='', escape='', auto_detect=false))
                    WHERE NOT json_valid(text) LIMIT 1"""
            ).fetchone()
        except duckdb.Error as exc:  # not even text (invalid UTF-8): DuckDB's words, our own
            raise _unreadable(exc, entity, [f]) from None
        if found:
            return f, found[0]
    return files[0], 0


def _unreadable(exc: duckdb.Error, entity: Entity, files: list[str]) -> ExtractFileError:
    """DuckDB's read error as the project's own: the file, the line and what is wrong.

    DuckDB quotes the offending row ("Original Line: ..."), names, emails and phones
    included; none of its text is passed on, so nothing of the row reaches logs or run
    storage."""
    text = str(exc)
    named = [f for f in files if f in text]
    file = named[0] if named else (files[0] if len(files) == 1 else f"one of {len(files)} files")
    line = re.search(r"(?i)\bline:? (\d+)", text)
    where = f"line {line.group(1)}: " if line else ""
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if "unicode" in text.lower() or "utf-8" in text.lower() or "utf8" in text.lower():
        problem = "not valid UTF-8"
    elif columns:
        problem = f"{columns.group(2)} fields where the header has {columns.group(1)}"
    else:
        problem = f"cannot be read as {entity.format} ({type(exc).__name__})"
    return ExtractFileError(file, where + problem)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0].removeprefix("Invalid Input Error: ")


PROBLEM_TYPE = "STRUCT(field VARCHAR, kind VARCHAR, reason VARCHAR)"


def _schema_problem(entity: Entity, columns: list[str]) -> dict[str, str] | None:
    """The problem every row of a file has when it lacks a declared column (a renamed column)."""
    missing = [f.name for f in entity.fields if f.name not in columns and not f.optional]
    if not missing:
        return None
    unexpected = sorted(set(columns) - {f.name for f in entity.fields})
    return {
        "field": missing[0],
        "kind": "missing_column",
        "reason": f"column {missing[0]} missing from file (unexpected: {', '.join(unexpected)})",
    }


def _cast(expr: str, type_: str) -> str:
    """try_cast text to a contract type; timestamps honour an explicit offset, stored as UTC."""
    if type_ == "TIMESTAMP":
        return f"CAST(try_cast({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return f"try_cast({expr} AS {type_})"


def _problem_sql(entity: Entity, earliest: dt.date, native: frozenset[str] = frozenset()) -> str:
    """The row's first contract violation as a {field, kind, reason} struct; NULL when valid.

    A file missing a declared column fails every row on `_schema_problem`, set per file.
    An event time before `earliest` is quarantined, so no single row (a 1970 default from a
    broken export) can stretch the date spine back by decades; one after the file's day or
    after the moment of loading (a clock set wrong) is quarantined as `future_timestamp`.
    `native`: fields staged in their contract type (`_native_fields`), never parsed. The event
    time's checks read `_event_at`, the time parsed once per row (`_event_at_sql`).
    """

    def problem(field_name: str, kind: str, reason_sql: str) -> str:
        return f"{{'field': {_quote(field_name)}, 'kind': {_quote(kind)}, 'reason': {reason_sql}}}"

    checks: list[str] = ["_schema_problem"]
    for f in entity.fields:
        col = f'"{f.name}"'
        text = f"CAST({col} AS VARCHAR)" if f.name in native else col
        if f.required:
            missing = f"{col} IS NULL" if f.name in native else f"nullif(trim({col}), '') IS NULL"
            checks.append(
                f"CASE WHEN {missing} THEN "
                + problem(f.name, "null_required", f"'required field {f.name} is null'")
                + " END"
            )
        if f.type != "VARCHAR" and f.name not in native:
            kind = "bad_timestamp" if f.is_timestamp else "bad_type"
            parsed = "_event_at" if f.name == entity.event_time else _cast(col, f.type)
            checks.append(
                f"CASE WHEN nullif(trim({col}), '') IS NOT NULL AND {parsed} IS NULL THEN "
                + problem(
                    f.name,
                    kind,
                    f"'cannot parse ' || {_quote(f.name)} || ' value ''' || {col} || ''' as {f.type}'",
                )
                + " END"
            )
        if f.allowed:
            allowed = ", ".join(_quote(v) for v in f.allowed)
            checks.append(
                f"CASE WHEN {col} IS NOT NULL AND {col} NOT IN ({allowed}) THEN "
                + problem(
                    f.name,
                    "unknown_enum",
                    f"'value ''' || {col} || ''' of {f.name} is not one of: {', '.join(f.allowed)}'",
                )
                + " END"
            )
        bounds = []
        if f.min_value is not None:
            bounds.append(f"try_cast({col} AS DOUBLE) < {f.min_value}")
        if f.max_value is not None:
            bounds.append(f"try_cast({col} AS DOUBLE) > {f.max_value}")
        if bounds:
            checks.append(
                f"CASE WHEN {' OR '.join(bounds)} THEN "
                + problem(
                    f.name,
                    "out_of_range",
                    f"'{f.name} value ' || {text} || ' out of range [{f.min_value}, {f.max_value}]'",
                )
                + " END"
            )
    if entity.event_time:
        col = f'"{entity.event_time}"'
        text = f"CAST({col} AS VARCHAR)" if entity.event_time in native else col
        checks.append(
            f"CASE WHEN _event_at::DATE < DATE '{earliest.isoformat()}' THEN "
            + problem(
                entity.event_time,
                "too_early",
                f"'{entity.event_time} ' || {text} || ' is before the earliest accepted day "
                f"{earliest.isoformat()} (SUPPORTOPS_EARLIEST_EVENT_DATE)'",
            )
            + " END"
        )
        checks.append(
            "CASE WHEN _event_at::DATE > _landing_date THEN "
            + problem(
                entity.event_time,
                "future_timestamp",
                f"'{entity.event_time} ' || {text} || ' is after the file''s day'",
            )
            + " END"
        )
        checks.append(
            "CASE WHEN _event_at > getvariable('loaded_at') THEN "
            + problem(
                entity.event_time,
                "future_timestamp",
                f"'{entity.event_time} ' || {text} || ' is after the time of loading (UTC)'",
            )
            + " END"
        )
    return "coalesce(" + ",\n ".join(checks) + ")"


def _text_features(
    con: duckdb.DuckDBPyConnection, entity: Entity, languages: tuple[str, ...], first: bool
) -> None:
    """`_text_features(text, sentiment, language)`: one row per distinct valid text of the
    load; a later chunk scores only the texts earlier chunks did not have (templates and
    macros repeat across the whole range)."""
    texts = " UNION ".join(
        f'SELECT "{f.name}" AS text FROM _classified WHERE _problem IS NULL AND "{f.name}" IS NOT NULL'
        for f in entity.fields
        if f.text
    )
    if first:
        score_texts(con, texts, languages)
        return
    new = f"SELECT text FROM ({texts}) AS t WHERE text NOT IN (SELECT text FROM _text_features)"
    score_texts(con, new, languages, into="_text_features_chunk")
    con.execute("INSERT INTO _text_features SELECT * FROM _text_features_chunk")


def score_texts(
    con: duckdb.DuckDBPyConnection,
    texts: str,
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
    into: str = "_text_features",
) -> None:
    """Temp table `into(text, sentiment, language)`, one row per distinct text of the query
    `texts` (a column `text`); needs `load_lexicon_tables` on `con`.

    Sentiment is the lexicon SQL over the distinct texts; language is one parallel batch of
    lingua over the same texts, handed back to DuckDB as an Arrow table. The benchmark's
    floor scores its texts with this too, so both sides do the same work."""
    distinct = con.sql(
        f"SELECT row_number() OVER () AS text_id, text FROM (SELECT DISTINCT text FROM ({texts}))"
    ).to_arrow_table()
    detected = pa.table(
        {
            "text_id": distinct["text_id"],
            "text": distinct["text"],
            "language": detect_languages(distinct["text"].to_pylist(), languages),
        }
    )
    con.register("_text_language_arrow", detected)
    con.execute("CREATE OR REPLACE TEMP TABLE _texts AS SELECT * FROM _text_language_arrow")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {into} AS
            SELECT t.text, s.sentiment, t.language
            FROM _texts t JOIN ({sentiment_sql("_texts")}) AS s USING (text_id)"""
    )
    con.unregister("_text_language_arrow")


def _derived_text_sql(entity: Entity) -> tuple[str, dict[str, str]]:
    """Per text field: character count, sentiment and language from `_text_features`.

    Returns the joins and, per text field, its three derived columns' select list."""
    joins, selects = [], {}
    for f in (f for f in entity.fields if f.text):
        alias = f"t_{f.name}"
        joins.append(f'LEFT JOIN _text_features AS {alias} ON {alias}.text = "{f.name}"')
        selects[f.name] = ", ".join(
            [
                f'length("{f.name}")::INTEGER AS "{f.name}_chars"',
                f'{alias}.sentiment AS "{f.name}_sentiment"',
                f'{alias}.language AS "{f.name}_language"',
            ]
        )
    return "\n".join(joins), selects


def _record_sql(entity: Entity) -> str:
    """The quarantined row as JSON, minimised like the raw table (no PII, no free text)."""
    parts = []
    for f in entity.fields:
        if f.pii:
            parts.append(f"{_quote(f.name + '_hash')}: {_hmac_sql(f, chr(34) + f.name + chr(34))}")
        elif f.text:
            parts.append(f'{_quote(f.name + "_chars")}: length("{f.name}")')
        elif f.hash_if_email:
            parts.append(f"{_quote(f.name)}: {_email_hashed_sql(f, chr(34) + f.name + chr(34))}")
        else:
            parts.append(f'{_quote(f.name)}: "{f.name}"')
    return "to_json({" + ", ".join(parts) + "})"


def _resent_sql(entity: Entity) -> str:
    """Per landing day of the range: rows whose key another landing day also holds.

    Only entities with an event time are records stored once across days (staging keeps the
    newest landing of a key); snapshots (CRM) repeat every key every day by design."""
    table = f"{RAW_SCHEMA}.{entity.table}"
    same_key = " AND ".join(f'other."{k}" = day."{k}"' for k in entity.key)
    return f"""SELECT day._landing_date, count(*) FROM {table} AS day
               WHERE day._landing_date BETWEEN $1 AND $2
                 AND EXISTS (SELECT 1 FROM {table} AS other
                             WHERE {same_key} AND other._landing_date <> day._landing_date)
               GROUP BY ALL"""


CHUNK_DAYS = 31
"""Landing days classified and written at a time: a long backfill's memory is one chunk's."""


def _chunks(first: dt.date, last: dt.date, size: int) -> list[tuple[dt.date, dt.date]]:
    starts = day_range(first, last)[:: max(size, 1)]
    return [(s, min(s + dt.timedelta(days=max(size, 1) - 1), last)) for s in starts]


def _event_at_sql(entity: Entity, native: frozenset[str]) -> str:
    """The row's event time as a timestamp (NULL when it does not parse): staged once as
    `_event_at`, read by the event-time checks and the late flag instead of each parsing it."""
    if not entity.event_time:
        return ""
    col = f'"{entity.event_time}"'
    return f", {col if entity.event_time in native else _cast(col, 'TIMESTAMP')} AS _event_at"


def _classify_sql(
    entity: Entity, file_columns: dict[str, list[str]], problems: str, native: frozenset[str]
) -> list[str]:
    """Statements making temp table `_classified`: the files' rows as text with their first
    problem (NULL: valid). One scan; then a repeated key is marked a duplicate when its
    earlier copy is valid. Marked in place: finding them in the scan's own query would make
    DuckDB keep a second copy of every row (the query would read the scan twice)."""
    key_cols = ", ".join(f'"{k}"' for k in entity.key)
    key_text = " || ', ' || ".join(f"'{k}=' || c.\"{k}\"" for k in entity.key)
    same_key = " AND ".join(f'c."{k}" = d."{k}"' for k in entity.key)
    classify = f"""CREATE OR REPLACE TEMP TABLE _classified AS
            WITH scanned AS ({_stage_sql(entity, file_columns, native)}),
            staged AS (
                SELECT s.*, fs._relative_file, fs._landing_date, fs._schema_problem
                       {_event_at_sql(entity, native)}
                FROM scanned s JOIN _file_schema fs USING (_file))
            SELECT * EXCLUDE (_schema_problem), {problems} AS _problem FROM staged"""
    duplicates = f"""UPDATE _classified AS c
            SET _problem = {{'field': NULL, 'kind': 'duplicate',
                             'reason': 'duplicate of ' || {key_text} || ' earlier in the file'}}
            FROM (SELECT _landing_date, {key_cols}, min(_line) AS _first_line
                  FROM _classified WHERE _problem IS NULL
                  GROUP BY ALL HAVING count(*) > 1) AS d
            WHERE c._problem IS NULL AND c._landing_date = d._landing_date AND {same_key}
              AND c._line > d._first_line"""
    return [classify, duplicates]


def load_range(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    landing_root: str | Path,
    first_day: dt.date,
    last_day: dt.date,
    pii_key: bytes,
    earliest: dt.date | None = None,
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
    chunk_days: int = CHUNK_DAYS,
) -> LoadResult:
    """Replace the partitions [first_day, last_day] of `raw.<table>` and its quarantine.

    `earliest`: event times before it are quarantined (default `EARLIEST_EVENT_DATE`);
    `languages`: the ISO 639-1 codes that text language detection chooses among;
    `chunk_days`: the days read and written at a time, in the one transaction.
    Raises ExtractFileError when a file is missing or unreadable; nothing is written then.
    Refuses an empty `pii_key`, and one other than the key the warehouse's hashes are under.
    """
    days = day_range(first_day, last_day)
    root = Path(landing_root).resolve()
    files = [landing_path(str(root), entity, d.isoformat()) for d in days]
    missing = [f for f in files if not Path(f).is_file()]
    if missing and entity.optional:
        # A source without this reference data: its days load no rows.
        kept = [(f, d) for f, d in zip(files, days, strict=True) if Path(f).is_file()]
        files, days = [f for f, _ in kept], [d for _, d in kept]
    elif missing:
        raise ExtractFileError(
            missing[0], f"landing file not found ({len(missing)} of {len(files)} missing)"
        )

    # Before reading: a file replaced while it is read then differs from its record, and its
    # next load is a correction instead of a silent no-op.
    fingerprints = [fingerprint(f) for f in files]
    # Timestamps are UTC: parse offsets against UTC, whatever the host's time zone.
    con.execute("SET TimeZone = 'UTC'")
    ensure_tables(con, entity)
    ensure_ledger(con)
    check_key(con, pii_key)
    load_lexicon_tables(con)
    use_pii_key(con, pii_key)
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute("SET VARIABLE loaded_at = ?", [loaded_at])

    declared = {f.name for f in entity.fields}
    file_columns = _file_columns(con, entity, files)
    for f, present in file_columns.items():
        # An empty JSON-lines file has no keys to compare: a quiet day, not a broken file.
        if entity.format == "jsonl" and not present:
            continue
        if not declared.intersection(present):
            raise ExtractFileError(
                f,
                f"header or schema does not match the contract: expected columns {sorted(declared)}, "
                f"found {sorted(present)}",
            )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _file_schema (
               _file VARCHAR, _relative_file VARCHAR, _landing_date DATE,
               _schema_problem {PROBLEM_TYPE})"""
    )
    if files:
        con.executemany(
            "INSERT INTO _file_schema VALUES (?, ?, ?, ?)",
            [
                (f, str(Path(f).relative_to(root)), d, _schema_problem(entity, file_columns[f]))
                for f, d in zip(files, days, strict=True)
            ],
        )

    native = _native_fields(con, entity, files)
    text_joins, text_selects = _derived_text_sql(entity)
    typed = []
    for f in entity.fields:
        if f.pii:
            typed.append(f'{_hmac_sql(f, chr(34) + f.name + chr(34))} AS "{f.name}_hash"')
        elif f.text:
            typed.append(text_selects[f.name])
        elif f.name in native:
            typed.append(f'"{f.name}"')
        elif f.name == entity.event_time:
            typed.append(f'_event_at AS "{f.name}"')  # parsed once, when classified
        else:
            column = f"nullif(trim(\"{f.name}\"), '')"
            if f.hash_if_email:
                column = _email_hashed_sql(f, column)
            typed.append(f'{_cast(column, f.type)} AS "{f.name}"')
    late = "_event_at::DATE < _landing_date" if entity.event_time else "false"
    # in raw_columns order: a field added after the text fields lands after their columns
    select_typed = ", ".join(typed)
    raw_cols = ", ".join(f'"{name}"' for name, _ in raw_columns(entity))
    problems = _problem_sql(entity, earliest or EARLIEST_EVENT_DATE, native)

    # The range in chunks of `chunk_days`, all in one transaction: memory holds one chunk's
    # rows, and the range is replaced whole or not at all.
    rows_read, rows_stored = 0, None
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"DELETE FROM {QUARANTINE_SCHEMA}.{entity.table} WHERE _landing_date BETWEEN ? AND ?",
            [first_day, last_day],
        )
        if not entity.changes_only:
            con.execute(
                f"DELETE FROM {RAW_SCHEMA}.{entity.table} WHERE _landing_date BETWEEN ? AND ?",
                [first_day, last_day],
            )
        for n, (chunk_first, chunk_last) in enumerate(_chunks(first_day, last_day, chunk_days)):
            chunk = {
                f: file_columns[f]
                for f, d in zip(files, days, strict=True)
                if chunk_first <= d <= chunk_last
            }
            try:
                for statement in _classify_sql(entity, chunk, problems, native):
                    con.execute(statement)
            except duckdb.Error as exc:
                raise _unreadable(exc, entity, list(chunk)) from None
            if text_selects:
                _text_features(con, entity, languages, first=n == 0)
            if entity.changes_only:
                con.execute(_version_starts(entity))
                _store_versions(
                    con,
                    entity,
                    chunk_first,
                    chunk_last,
                    f"""SELECT {select_typed}, _landing_date, _relative_file, _line, {late},
                               getvariable('loaded_at'), _valid_to
                        FROM _version_starts {text_joins}""",
                )
            else:
                con.execute(
                    f"""INSERT INTO {RAW_SCHEMA}.{entity.table} ({raw_cols})
                        SELECT {select_typed}, _landing_date, _relative_file, _line, {late}, getvariable('loaded_at')
                        FROM _classified {text_joins}
                        WHERE _problem IS NULL"""
                )
            con.execute(
                f"""INSERT INTO {QUARANTINE_SCHEMA}.{entity.table}
                    SELECT _landing_date, _relative_file, _line, _problem.field, _problem.kind, _problem.reason,
                           {_record_sql(entity)}, getvariable('loaded_at')
                    FROM _classified WHERE _problem IS NOT NULL"""
            )
            rows_read += con.execute("SELECT count(*) FROM _classified").fetchone()[0]
        if entity.changes_only:
            (rows_stored,) = con.execute(
                f"""SELECT count(*) FROM {VERSIONS_SCHEMA}.{entity.table}
                    WHERE _valid_to >= $1 AND _landing_date <= $2""",
                [first_day, last_day],
            ).fetchone()
        record_load(con, entity.table, first_day, last_day, loaded_at)
        resent = dict(
            con.execute(_resent_sql(entity), [first_day, last_day]).fetchall()
            if entity.event_time
            else []
        )
        record_days(
            con,
            entity.table,
            [(d, fp, resent.get(d, 0)) for d, fp in zip(days, fingerprints, strict=True)],
            loaded_at,
        )
        counts = con.execute(
            f"""SELECT
                  (SELECT count(*) FROM {RAW_SCHEMA}.{entity.table} WHERE _landing_date BETWEEN $1 AND $2),
                  (SELECT count(*) FROM {QUARANTINE_SCHEMA}.{entity.table} WHERE _landing_date BETWEEN $1 AND $2),
                  (SELECT count(*) FILTER (WHERE _is_late) FROM {RAW_SCHEMA}.{entity.table}
                     WHERE _landing_date BETWEEN $1 AND $2)""",
            [first_day, last_day],
        ).fetchone()
        rows_loaded, rows_quarantined, rows_late = counts
        if rows_read != rows_loaded + rows_quarantined:
            raise RuntimeError(
                f"{entity.table}: rows read {rows_read} != loaded {rows_loaded} + quarantined {rows_quarantined}"
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise

    by_kind = dict(
        con.execute(
            f"""SELECT fault_kind, count(*) FROM {QUARANTINE_SCHEMA}.{entity.table}
                WHERE _landing_date BETWEEN ? AND ? GROUP BY ALL ORDER BY 1""",
            [first_day, last_day],
        ).fetchall()
    )
    unexpected = {
        str(Path(f).relative_to(root)): sorted(set(cols) - declared)
        for f, cols in file_columns.items()
        if set(cols) - declared
    }
    temps = ("_classified", "_file_schema", "_texts", "_text_features", "_text_features_chunk")
    for temp in (*temps, "_version_starts"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return LoadResult(
        table=entity.table,
        first_day=first_day,
        last_day=last_day,
        files=files,
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        rows_late=rows_late,
        rows_resent=sum(resent.values()),
        rows_stored=rows_stored,
        quarantined_by_kind=by_kind,
        unexpected_columns=unexpected,
    )


def raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the tables in the raw schema of the database `con` points at."""
    return [
        name
        for (name,) in con.execute(
            """SELECT table_name FROM information_schema.tables
               WHERE table_catalog = current_database() AND table_schema = ?""",
            [RAW_SCHEMA],
        ).fetchall()
    ]
