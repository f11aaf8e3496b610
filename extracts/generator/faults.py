"""Fault injection: the defects real exports have, each one listed in a manifest.

Faults are applied to a file's clean table just before it is written, from their own
random streams, so the underlying clean data is the same whatever the fault settings.
A row carries at most one fault. Renamed columns are a whole-file fault (one file per
10-day block); late arrivals are valid rows held back from their own day's file and
appended to a file 1-3 days later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extracts.contracts import (
    CRM_ACCOUNTS,
    ENTITIES,
    HELPDESK_TICKET_EVENTS,
    TELEMETRY_EVENTS_ENTITY,
    Entity,
)
from extracts.generator.config import GeneratorConfig, stream

DUPLICATE = "duplicate"
NULL_REQUIRED = "null_required"
BAD_TIMESTAMP = "bad_timestamp"
UNKNOWN_ENUM = "unknown_enum"
RENAMED_COLUMN = "renamed_column"
LATE_ARRIVAL = "late_arrival"

RENAMES: dict[str, tuple[str, str]] = {
    "helpdesk_tickets": ("priority", "ticket_priority"),
    "helpdesk_ticket_events": ("handle_seconds", "handle_time_seconds"),
    "crm_accounts": ("segment", "customer_segment"),
    "crm_contacts": ("email", "email_address"),
    "crm_subscriptions": ("arr", "annual_recurring_revenue"),
}
BAD_TIMESTAMPS = ("2026-13-45T25:61:00Z", "not a date", "31/02/2026")
UNKNOWN_ENUMS = ("carrier_pigeon", "platinum", "fax_machine", "tbd")
LATE_ENTITIES = (HELPDESK_TICKET_EVENTS, TELEMETRY_EVENTS_ENTITY)
_RENAME_BLOCK = 10
_FIRST_RENAME_DAY = 2  # days 0-1 carry the guaranteed row faults and late arrivals
_GUARANTEE_DAY = 1
_GUARANTEE_ENTITY = CRM_ACCOUNTS

MANIFEST_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("source", pa.string()),
        ("entity", pa.string()),
        ("table", pa.string()),
        ("day", pa.date32()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("field", pa.string()),
        ("key", pa.string()),
        ("detail", pa.string()),
    ]
)


def row_kinds(entity: Entity, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """Requested row-level kinds (other than late arrival) that this entity can carry."""
    applicable = {
        DUPLICATE: True,
        NULL_REQUIRED: bool(_required_fields(entity)),
        BAD_TIMESTAMP: entity.format != "parquet" and bool(_timestamp_fields(entity)),
        UNKNOWN_ENUM: any(f.allowed for f in entity.fields),
    }
    return tuple(k for k in kinds if applicable.get(k, False))


def _required_fields(entity: Entity) -> list[str]:
    return [f.name for f in entity.fields if f.required and f.name not in entity.key]


def _timestamp_fields(entity: Entity) -> list[str]:
    return [f.name for f in entity.fields if f.is_timestamp]


@dataclass
class _FileFaults:
    """Manifest rows of one file, gathered as columns.

    `rows` index the file's source rows: the clean rows, then late rows appended, then one
    entry per duplicate copy.
    """

    rows: list[np.ndarray] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    fields: list[str | None] = field(default_factory=list)
    details: list[pa.Array] = field(default_factory=list)

    def add(self, rows: np.ndarray, kind: str, column: str | None, detail: pa.Array) -> None:
        if len(rows):
            self.rows.append(rows)
            self.kinds.append(kind)
            self.fields.append(column)
            self.details.append(detail)


class FaultInjector:
    """Applies the fault plan file by file and accumulates the manifest."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.rate = config.fault_rate
        self.kinds = config.fault_kinds if config.fault_rate > 0 else ()
        self.renamed = self._plan_renames()
        self.held: dict[tuple[str, int], list[pa.Table]] = {}
        self.manifest: list[pa.Table] = []
        self.counts = dict.fromkeys(config.fault_kinds, 0)

    def _plan_renames(self) -> dict[tuple[str, int], tuple[str, str]]:
        """One renamed file per 10-day block (a trailing block shorter than 5 days has none)."""
        if RENAMED_COLUMN not in self.kinds:
            return {}
        rng = stream(self.config.seed, "faults", len(ENTITIES))
        tables = sorted(RENAMES)
        plan = {}
        for lo in range(0, self.config.days, _RENAME_BLOCK):
            first = max(lo, _FIRST_RENAME_DAY)
            last = min(lo + _RENAME_BLOCK, self.config.days)
            if last - lo >= 5 and first < last:
                table = tables[rng.integers(len(tables))]
                plan[(table, int(rng.integers(first, last)))] = RENAMES[table]
        return plan

    def _late_share(self, entity: Entity) -> float:
        """Per-row probability of a late arrival: one kind's share of the fault rate."""
        if LATE_ARRIVAL not in self.kinds or entity not in LATE_ENTITIES:
            return 0.0
        return self.rate / (len(row_kinds(entity, self.kinds)) + 1)

    def hold_back(self, entity: Entity, day: int, table: pa.Table) -> pa.Table:
        """Remove rows that will arrive late, stashing them for a file 1-3 days later."""
        share = self._late_share(entity)
        n = table.num_rows
        if share == 0.0 or n == 0:
            return table
        rng = stream(self.config.seed, "faults", ENTITIES.index(entity), day, 0)
        late = rng.random(n) < share
        lag = rng.integers(1, 4, n)
        blocked = np.array(
            [
                (entity.table, day + k) in self.renamed or day + k >= self.config.days
                for k in range(4)
            ]
        )
        late &= ~blocked[lag]
        if day == 0 and not late.any() and not blocked[1]:
            first = rng.integers(n)  # guarantee: every requested kind occurs at least once
            late[first], lag[first] = True, 1
        for k in (1, 2, 3):
            rows = np.flatnonzero(late & (lag == k))
            if len(rows):
                self.held.setdefault((entity.table, day + k), []).append(table.take(rows))
        return table.filter(pa.array(~late))

    def inject(
        self, entity: Entity, day: int, date: dt.date, file: str, table: pa.Table
    ) -> pa.Table:
        """The table as it will be written, with this file's faults; records the manifest."""
        held = self.held.pop((entity.table, day), [])
        n_clean = table.num_rows
        if held:
            table = pa.concat_tables([table, *held])
        n = table.num_rows
        faults = _FileFaults()
        if held and entity.event_time:
            late = np.arange(n_clean, n)
            event_time = table[entity.event_time].combine_chunks().take(pa.array(late))
            faults.add(late, LATE_ARRIVAL, entity.event_time, event_time)

        duplicates = after = np.zeros(0, dtype=np.int64)
        rename = self.renamed.get((entity.table, day))
        if rename:
            original, new = rename
            detail = pa.repeat(pa.scalar(f"{original} -> {new}"), n)
            faults.add(np.arange(n), RENAMED_COLUMN, original, detail)
        elif n_clean:
            rng = stream(self.config.seed, "faults", ENTITIES.index(entity), day, 1)
            table, duplicates = self._row_faults(rng, entity, day, table, n_clean, faults)
            after = rng.integers(duplicates, n) if len(duplicates) else duplicates
        if not faults.rows and not len(duplicates):
            return table
        # Each copy goes right after a random row at or after its original, so it follows it.
        sources = np.concatenate([np.arange(n), duplicates])
        order = np.argsort(np.concatenate([np.arange(n) * 2, after * 2 + 1]), kind="stable")
        line = np.empty(len(order), dtype=np.int64)
        line[order] = np.arange(1, len(order) + 1) + (entity.format == "csv")
        copies = np.arange(n, len(sources))
        original_line = pc.cast(pa.array(line[duplicates]), pa.string())
        detail = pc.binary_join_element_wise("copy of line ", original_line, "")
        faults.add(copies, DUPLICATE, None, detail)
        self._record(entity, date, file, faults, table[entity.key[0]].take(pa.array(sources)), line)
        written = table.take(pa.array(sources[order])) if len(duplicates) else table
        if rename:
            written = written.rename_columns(
                [rename[1] if c == rename[0] else c for c in written.column_names]
            )
        return written

    def _row_faults(
        self,
        rng: np.random.Generator,
        entity: Entity,
        day: int,
        table: pa.Table,
        n_clean: int,
        faults: _FileFaults,
    ) -> tuple[pa.Table, np.ndarray]:
        """Nulls, bad timestamps and unknown enums in place; returns the rows to duplicate."""
        kinds = row_kinds(entity, self.kinds)
        if not kinds:
            return table, np.zeros(0, dtype=np.int64)
        share = self.rate * len(kinds) / (len(kinds) + (self._late_share(entity) > 0))
        faulty = np.flatnonzero(rng.random(n_clean) < share)
        kind = rng.integers(0, len(kinds), len(faulty))
        if day == _GUARANTEE_DAY and entity is _GUARANTEE_ENTITY:
            faulty, kind = _guarantee(rng, faulty, kind, len(kinds), n_clean)
        rows_of = {name: np.sort(faulty[kind == k]) for k, name in enumerate(kinds)}
        enums = [f.name for f in entity.fields if f.allowed and table[f.name].null_count == 0]
        required = _required_fields(entity)
        for name, rows in rows_of.items():
            if name == NULL_REQUIRED:
                table = _corrupt(rng, table, required, None, rows, faults, name)
            elif name == BAD_TIMESTAMP:
                columns = _timestamp_fields(entity)
                table = _corrupt(rng, table, columns, BAD_TIMESTAMPS, rows, faults, name)
            elif name == UNKNOWN_ENUM and enums:
                table = _corrupt(rng, table, enums, UNKNOWN_ENUMS, rows, faults, name)
        return table, rows_of.get(DUPLICATE, np.zeros(0, dtype=np.int64))

    def _record(
        self,
        entity: Entity,
        date: dt.date,
        file: str,
        faults: _FileFaults,
        keys: pa.ChunkedArray,
        line: np.ndarray,
    ) -> None:
        """Manifest rows for `faults`; `keys` and `line` are indexed by source row."""
        if not faults.rows:
            return
        rows = np.concatenate(faults.rows)
        sizes = [len(r) for r in faults.rows]
        m = len(rows)
        self.manifest.append(
            pa.table(
                {
                    "kind": pa.array(np.repeat(faults.kinds, sizes)),
                    "source": pa.repeat(pa.scalar(entity.source), m),
                    "entity": pa.repeat(pa.scalar(entity.name), m),
                    "table": pa.repeat(pa.scalar(entity.table), m),
                    "day": pa.repeat(pa.scalar(date, pa.date32()), m),
                    "file": pa.repeat(pa.scalar(file), m),
                    "line": pa.array(line[rows], pa.int64()),
                    "field": pa.array(np.repeat(np.array(faults.fields, dtype=object), sizes)),
                    "key": pc.cast(keys.take(pa.array(rows)), pa.string()),
                    "detail": pa.concat_arrays([pc.cast(d, pa.string()) for d in faults.details]),
                },
                schema=MANIFEST_SCHEMA,
            )
        )
        for kind, size in zip(faults.kinds, sizes, strict=True):
            self.counts[kind] += size

    def drain_manifest(self) -> pa.Table:
        """Manifest rows recorded since the last drain."""
        table = pa.concat_tables(self.manifest) if self.manifest else MANIFEST_SCHEMA.empty_table()
        self.manifest = []
        return table


def _guarantee(
    rng: np.random.Generator, faulty: np.ndarray, kind: np.ndarray, n_kinds: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Add one clean row for every kind that did not occur, so each kind shows up."""
    missing = np.setdiff1d(np.arange(n_kinds), kind)
    clean = np.setdiff1d(np.arange(n), faulty)
    extra = rng.choice(clean, size=min(len(missing), len(clean)), replace=False)
    return np.concatenate([faulty, extra]), np.concatenate([kind, missing[: len(extra)]])


def _corrupt(
    rng: np.random.Generator,
    table: pa.Table,
    columns: list[str],
    values: tuple[str, ...] | None,
    rows: np.ndarray,
    faults: _FileFaults,
    kind: str,
) -> pa.Table:
    """Set one random column of each row in `rows` to one of `values` (None: to null)."""
    column_of = rng.integers(0, len(columns), len(rows))
    value_of = rng.integers(0, len(values or ("",)), len(rows))
    for c, name in enumerate(columns):
        picked = rows[column_of == c]
        if not len(picked):
            continue
        column = table[name].combine_chunks()
        mask = np.zeros(len(column), dtype=bool)
        mask[picked] = True
        if values is None:
            updated = pc.if_else(pa.array(mask), pa.scalar(None, column.type), column)
            detail = pa.repeat(pa.scalar("null"), len(picked))
        else:
            detail = pa.array(values).take(pa.array(value_of[column_of == c]))
            updated = pc.replace_with_mask(column, pa.array(mask), detail.cast(column.type))
        table = table.set_column(table.schema.get_field_index(name), name, updated)
        faults.add(picked, kind, name, detail)
    return table
