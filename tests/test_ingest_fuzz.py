"""Fuzzed landing files, per entity (Hypothesis): whatever arrives, ingestion either loads or
quarantines every row with a reason (read = loaded + quarantined) or refuses the file by
name, never changes an earlier partition, and never quotes a PII value in a reason or error.

Straight through `extracts.ingest.load_range` (no Dagster): each example is a fresh DuckDB
with one valid earlier day loaded, then one fuzzed day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extracts.contracts import LOADED_ENTITIES, Entity, Field, landing_path
from extracts.ingest import ExtractFileError, load_range

KEY = b"fuzz-key"
EARLIER, DAY = dt.date(2026, 5, 1), dt.date(2026, 5, 2)
# Text DuckDB, CSV and JSON can all carry: any character but lone surrogates.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "1970-01-01T00:00:00Z",
        "2999-01-01T00:00:00Z",
        "31/02/2026",
        "-1",
        "1e309",
        "NaN",
        "'; DROP TABLE raw.helpdesk_tickets; --",
        "x" * 5000,
        '"quoted, with comma"',
        "line\nbreak",
    ]
)


def _valid(f: Field, day: dt.date) -> st.SearchStrategy[str]:
    if f.allowed:
        return st.sampled_from(f.allowed)
    if f.type == "TIMESTAMP":
        return st.times().map(lambda t: f"{day}T{t:%H:%M:%S}Z")
    if f.type == "DATE":
        return st.just(day.isoformat())
    if f.type in ("BIGINT", "INTEGER"):
        low = int(f.min_value) if f.min_value is not None else 0
        high = int(f.max_value) if f.max_value is not None else 10**6
        return st.integers(low, high).map(str)
    if f.type == "DOUBLE":
        return st.floats(0, 10**6, allow_nan=False).map(lambda x: f"{x:.2f}")
    if f.type == "BOOLEAN":
        return st.sampled_from(["true", "false"])
    if f.pii == "email":
        return st.from_regex(r"[a-z]{6,10}@[a-z]{4,8}\.example", fullmatch=True)
    if f.pii:
        return st.from_regex(r"[A-Z][a-z]{6,10}", fullmatch=True)
    return st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True)


def _records(entity: Entity, day: dt.date, fuzzed: bool, max_size: int):
    """Records of `entity` as text; fuzzed ones draw any field from valid, hostile, random
    text or null, and may lack a field altogether."""
    fields = {}
    for f in entity.fields:
        value = _valid(f, day)
        if fuzzed:
            value = st.one_of(value, value, HOSTILE, TEXT, st.none())
        fields[f.name] = value
    record = st.fixed_dictionaries(fields)
    if fuzzed:
        record = st.tuples(record, st.sets(st.sampled_from([f.name for f in entity.fields]))).map(
            lambda pair: {k: v for k, v in pair[0].items() if k not in pair[1] or len(pair[1]) > 3}
        )
    return st.lists(record, min_size=1 if not fuzzed else 0, max_size=max_size)


def _encode(entity: Entity, records: list[dict]) -> bytes:
    names = [f.name for f in entity.fields]
    if entity.format == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in records).encode()
    if entity.format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for r in records:
            writer.writerow(["" if r.get(n) is None else r[n] for n in names])
        return out.getvalue().encode()
    table = pa.table({n: pa.array([r.get(n) for r in records], pa.string()) for n in names})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


CORRUPTIONS = ("none", "truncate", "invalid_utf8", "extra_field", "garbage_line")


def _corrupt(entity: Entity, content: bytes, how: str, at: int) -> bytes:
    """One file-level fault at a drawn position (`at`, scaled to the content)."""
    cut = at % (len(content) + 1)
    if how == "truncate":
        return content[:cut]
    if entity.format == "parquet":  # the text faults below make no sense in a binary file
        return content
    if how == "invalid_utf8":
        return content[:cut] + b"\xff\xfe\xc3" + content[cut:]
    if how == "extra_field":
        lines = content.split(b"\n")
        row = 1 + at % max(len(lines) - 1, 1)
        if row < len(lines) and lines[row]:
            lines[row] += b',"Ann Lee","ann.lee@acme.example","+1-555-123-4567"'
        return b"\n".join(lines)
    if how == "garbage_line":
        return content + b'{"ticket_id": 1, "requester_email": "ann@x.example"\n'
    return content


def _write(root: Path, entity: Entity, day: dt.date, content: bytes) -> Path:
    path = Path(landing_path(str(root), entity, day.isoformat()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _partition(con, entity: Entity, day: dt.date) -> list[tuple]:
    rows = []
    for schema in ("raw", "quarantine"):
        rows += sorted(
            con.execute(
                f"SELECT * EXCLUDE (_loaded_at) FROM {schema}.{entity.table} WHERE _landing_date = ?",
                [day],
            ).fetchall(),
            key=repr,
        )
    return rows


@pytest.mark.parametrize("entity", LOADED_ENTITIES, ids=lambda e: e.table)
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_a_fuzzed_day_is_loaded_quarantined_or_refused_by_name(entity: Entity, data) -> None:
    earlier = data.draw(_records(entity, EARLIER, fuzzed=False, max_size=3), label="earlier")
    records = data.draw(_records(entity, DAY, fuzzed=True, max_size=8), label="records")
    how = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
    at = data.draw(st.integers(0, 10**6), label="at")
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect() as con:
        root = Path(tmp)
        _write(root, entity, EARLIER, _encode(entity, earlier))
        load_range(con, entity, root, EARLIER, EARLIER, KEY)
        before = _partition(con, entity, EARLIER)
        assert len(before) == len(earlier)

        file = _write(root, entity, DAY, _corrupt(entity, _encode(entity, records), how, at))
        pii = {
            str(r[f.name])
            for r in records
            for f in entity.fields
            if f.pii and r.get(f.name) and len(str(r[f.name]).strip()) >= 6
        } | {"Ann Lee", "ann.lee@acme.example", "+1-555-123-4567", "ann@x.example"}
        # A PII value that is also another field's value may be quoted as that field's.
        pii -= {str(v) for r in records for k, v in r.items() if not entity.field(k).pii}
        try:
            result = load_range(con, entity, root, DAY, DAY, KEY)
        except ExtractFileError as exc:
            assert Path(exc.file).resolve() == file.resolve()
            assert exc.problem
            assert not [p for p in pii if p in str(exc)]
        else:
            assert result.rows_read == result.rows_loaded + result.rows_quarantined
            if how == "none" and entity.format != "csv":
                assert result.rows_read == len(records)
            counts = con.execute(
                f"""SELECT (SELECT count(*) FROM raw.{entity.table} WHERE _landing_date = $1),
                           (SELECT count(*) FROM quarantine.{entity.table} WHERE _landing_date = $1
                              AND fault_kind IS NOT NULL AND nullif(reason, '') IS NOT NULL
                              AND _source_line IS NOT NULL)""",
                [DAY],
            ).fetchone()
            assert counts == (result.rows_loaded, result.rows_quarantined)
            reasons = con.execute(
                f"SELECT string_agg(reason, ' | ') FROM quarantine.{entity.table}"
            ).fetchone()[0]
            assert not [p for p in pii if p in (reasons or "")]
        assert _partition(con, entity, EARLIER) == before
