"""Segment track events as a warehouse loader lands them, mapped onto native telemetry.

Segment's warehouse schema (Segment Warehouses; Fivetran and Airbyte land the same tables):
`tracks` has one row per `track` call with the common columns (`id`, the message id;
`user_id`, `anonymous_id`, `event` (the slug), `event_text` (the name), `timestamp`,
`received_at`, `sent_at`, `context_*`); an event's properties are columns of its own table
named by the slug (`feature_used.feature`), or of `tracks` itself when the loader flattens
them there. `pages` and `screens` hold the page and screen calls (page views).
`groups` (`user_id`, `group_id`) and `identifies` (`user_id`, `anonymous_id`, traits as
columns) say who a user is. `convert_to_landing` maps them, set-based in DuckDB,
onto `<landing>/telemetry/<day>/events.parquet`, the file the native generator writes, so
ingestion and dbt see no difference.

Mapping (see `SegmentConfig` for the knobs):

- Segment delivers at least once: of several rows with one message id the earliest
  `received_at` is kept; the sync watermark is the latest `received_at`;
- event names: `event_map` (by name or slug, matched in snake_case), else the snake_case of
  the name when it is a supportops event, else `other` (counted, never quarantined);
  page and screen calls are `page_event` (`page_view`);
- platform: the first non-empty of `platform_columns` through `platform_map` (Segment sets
  `context_device_type` on mobile and `context_library_name` everywhere), unknown values
  `other`;
- user: `user_id`, or for an anonymous event the user its `anonymous_id` was identified as;
- account: the user's latest `groups.group_id` as of the event (or an `identifies` trait);
  events of users with no account, and of never-identified visitors, land nowhere and are
  counted.

Traits (emails, names) are never read beyond the account trait. A `user_id` that is an email
lands as it is and ingestion stores its HMAC (`Field.hash_if_email`), never the address.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from extracts.contracts import PLATFORMS, TELEMETRY_EVENTS, TELEMETRY_EVENTS_ENTITY
from extracts.sources import connector
from extracts.sources.connector import (
    CheckReport,
    Column,
    Export,
    Table,
    columns,
    ident,
    quote,
    sql_list,
)

KIND = "segment"
LANDING_SOURCE = TELEMETRY_EVENTS_ENTITY.source
ACCOUNT_SOURCES = ("groups", "identifies")

DEFAULT_PLATFORM_MAP: dict[str, str] = {
    "web": "web",
    "browser": "web",
    "analytics.js": "web",
    "analytics-next": "web",
    "@segment/analytics-next": "web",
    "ios": "ios",
    "ipados": "ios",
    "analytics-ios": "ios",
    "analytics-swift": "ios",
    "android": "android",
    "analytics-android": "android",
    "analytics-kotlin": "android",
    "api": "api",
    "server": "api",
    "analytics-python": "api",
    "analytics-node": "api",
    "@segment/analytics-node": "api",
    "analytics-ruby": "api",
    "analytics-go": "api",
    "analytics-java": "api",
}
# Segment's own tables: never an event table, whatever an event's slug is.
RESERVED_TABLES = ("tracks", "identifies", "groups", "users", "pages", "screens", "aliases")


@dataclass(frozen=True)
class SegmentConfig(connector.MappingConfig):
    """How a Segment workspace's tracking plan maps onto supportops. Every field has a default."""

    kind = KIND

    event_map: Mapping[str, str] = field(default_factory=dict)
    """Segment event name ("Report Exported") or slug -> supportops event (or `other`)."""
    platform_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PLATFORM_MAP))
    """Lower-cased platform value -> supportops platform; anything else is `other`."""
    platform_columns: tuple[str, ...] = ("platform", "context_device_type", "context_library_name")
    """Columns holding the platform, first non-empty wins (a property, then Segment context)."""
    feature_property: str = "feature"
    error_code_property: str = "error_code"
    account_source: str = "groups"
    """`groups`: the user's latest `group_id` as of the event; `identifies`: the latest value of
    the `account_trait` column of the user's identify calls."""
    account_trait: str = "account_id"
    page_event: str | None = "page_view"
    """The supportops event of Segment's `page` and `screen` calls (tables `pages` and
    `screens`; their properties are columns too). None: those tables are not read."""
    first_account_covers_earlier_events: bool = True
    """Events before a user's first group (identify) call take that call's account: SDKs often
    send `group` just after the first tracks of a sign-up. False: those events are counted as
    having no account."""
    schema: str | None = None
    """For a DuckDB-database source holding several connectors: the schema of this one."""

    def __post_init__(self) -> None:
        known = (*TELEMETRY_EVENTS, "other")
        bad = {k: v for k, v in self.event_map.items() if v not in known}
        if bad:
            raise ValueError(f"event_map: {bad} map to no supportops event; known: {list(known)}")
        bad = {k: v for k, v in self.platform_map.items() if v not in (*PLATFORMS, "other")}
        if bad:
            raise ValueError(f"platform_map: {bad} map to no supportops platform {list(PLATFORMS)}")
        if self.page_event is not None and self.page_event not in known:
            raise ValueError(
                f"page_event {self.page_event!r} is no supportops event: {list(known)}"
            )
        if self.account_source not in ACCOUNT_SOURCES:
            raise ValueError(
                f"account_source {self.account_source!r}: choose from {list(ACCOUNT_SOURCES)}"
            )

    @property
    def property_columns(self) -> tuple[str, ...]:
        """Columns read from `tracks` or the event tables besides the common ones."""
        names = (self.feature_property, self.error_code_property, *self.platform_columns)
        return tuple(dict.fromkeys(n for n in names if n not in _COMMON_NAMES))


_COMMON = (
    "id:VARCHAR message_id:VARCHAR user_id:VARCHAR anonymous_id:VARCHAR "
    "timestamp:TIMESTAMP received_at:TIMESTAMP sent_at:TIMESTAMP"
)
# A row is one delivery: the connector keeps every delivery (and, given the landing's archive,
# every one ever synced); the adapter keeps the earliest received of each message id.
_DELIVERY = ("id", "message_id", "received_at")
_COMMON_NAMES = frozenset(c.name for c in columns(_COMMON + " event:VARCHAR event_text:VARCHAR"))
TRACKS = Table(
    "tracks",
    columns(
        "id:VARCHAR message_id:VARCHAR user_id:VARCHAR anonymous_id:VARCHAR event:VARCHAR! "
        "event_text:VARCHAR timestamp:TIMESTAMP! received_at:TIMESTAMP! sent_at:TIMESTAMP"
    ),
    key=_DELIVERY,
    required=True,
    version_column="received_at",
)
GROUPS = Table(
    "groups",
    columns(
        "id:VARCHAR message_id:VARCHAR user_id:VARCHAR! group_id:VARCHAR! "
        "timestamp:TIMESTAMP! received_at:TIMESTAMP"
    ),
    key=_DELIVERY,
    required=True,
    version_column="received_at",
)
IDENTIFIES = Table(
    "identifies",
    columns(_COMMON),
    key=_DELIVERY,
    version_column="received_at",
    without="anonymous events are not tied to their user (they are counted and dropped)",
)


PAGES = Table(
    "pages",
    columns(_COMMON + " name:VARCHAR"),
    key=_DELIVERY,
    version_column="received_at",
    without="page views come only from track calls",
)
SCREENS = replace(PAGES, name="screens", without="mobile screen views come only from track calls")
VIEW_TABLES = (PAGES, SCREENS)


def tables(config: SegmentConfig) -> tuple[Table, ...]:
    """The tables this config reads: its account source is required."""
    views = VIEW_TABLES if config.page_event else ()
    if config.account_source == "groups":
        return (TRACKS, GROUPS, IDENTIFIES, *views)
    identifies = replace(
        IDENTIFIES,
        columns=(*IDENTIFIES.columns, Column(config.account_trait, "VARCHAR", True)),
        required=True,
    )
    return (TRACKS, identifies, *views)


def open_export(
    con: duckdb.DuckDBPyConnection,
    source: str | Path,
    config: SegmentConfig,
    archive: Path | None = None,
) -> Export:
    """`seg_src_<table>` (as read) and `seg_<table>` (typed), tracks with its property columns.

    With `archive` (the landing's `telemetry/_synced/`) every delivery ever synced is read,
    so an export holding only the latest events still gives the whole history."""
    props = tuple(Column(name, "VARCHAR") for name in config.property_columns)
    extra = {t.name: props for t in (TRACKS, *VIEW_TABLES)}
    return connector.open_export(con, source, tables(config), "seg_", extra, config.schema, archive)


def _open_event_tables(
    con: duckdb.DuckDBPyConnection,
    source: str | Path,
    config: SegmentConfig,
    archive: Path | None = None,
) -> list[str]:
    """Segment's per-event tables (`feature_used`, ...) of the slugs in `tracks`, where present.

    Creates `seg_event_props`: message id -> the property columns, from those tables."""
    slugs = [
        s
        for (s,) in con.execute(
            "SELECT DISTINCT event FROM seg_tracks WHERE event IS NOT NULL ORDER BY 1"
        ).fetchall()
        if re.fullmatch(r"[a-z0-9_]+", s) and s not in RESERVED_TABLES
    ]
    props = tuple(Column(name, "VARCHAR") for name in config.property_columns)
    event_tables = tuple(
        Table(s, columns("id:VARCHAR message_id:VARCHAR received_at:TIMESTAMP") + props,
              key=_DELIVERY, version_column="received_at")
        for s in slugs
    )  # fmt: skip
    found = connector.open_export(
        con, source, event_tables, "seg_event_", None, config.schema, archive
    )
    present = [t.name for t in event_tables if t.name in found.present]
    prop_cols = ", ".join(ident(p.name) for p in props)
    union = " UNION ALL ".join(
        f"SELECT coalesce(id, message_id) AS message_id, received_at, {prop_cols} "
        f"FROM seg_event_{name}"
        for name in present
    )
    if not union:
        union = (
            "SELECT NULL::VARCHAR AS message_id, NULL::TIMESTAMP AS received_at, "
            + ", ".join(f"NULL::VARCHAR AS {ident(p.name)}" for p in props)
            + " WHERE false"
        )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE seg_event_props AS
            SELECT * EXCLUDE (received_at) FROM ({union}) WHERE message_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY message_id
                                       ORDER BY received_at NULLS LAST) = 1"""
    )
    return present


def check_export(source: str | Path, config: SegmentConfig | None = None) -> CheckReport:
    """Missing tables and columns, values of the wrong type, the sync watermark, lost metrics."""
    con = duckdb.connect()
    try:
        return _check(con, source, config or SegmentConfig())
    finally:
        con.close()


def _check(
    con: duckdb.DuckDBPyConnection,
    source: str | Path,
    config: SegmentConfig,
    mapping: bool = True,
) -> CheckReport:
    """`check_export` on `con`: tables, columns and types, then (`mapping`) what the mapping
    loses, which leaves `_seg_events` prepared."""
    report = CheckReport(Path(source))
    try:
        export = open_export(con, source, config)
    except (FileNotFoundError, ValueError, duckdb.Error) as exc:
        report.errors.append(str(exc).splitlines()[0])
        return report
    connector.check_tables(con, export, tables(config), report)
    for table in ("tracks", "pages", "screens"):  # calls that become events need their id
        have = export.present.get(table)
        if have is not None and "id" not in have and "message_id" not in have:
            report.errors.append(
                f"table {table}: column id missing (nor message_id; has: {', '.join(have)})"
            )
    if mapping and not report.errors:
        _prepare(con, source, config)
        _check_semantics(con, config, report)
    return report


def _check_semantics(
    con: duckdb.DuckDBPyConnection, config: SegmentConfig, report: CheckReport
) -> None:
    watermark = con.execute("SELECT max(received_at) FROM _seg_tracks").fetchone()[0]
    report.warnings.append(
        f"synced through {watermark} (the latest received_at of tracks and page calls); "
        "events received later come with the next sync"
    )
    features, platforms, errors, error_codes = con.execute(
        """SELECT count(feature) FILTER (WHERE event = 'feature_used'), count(raw_platform),
                  count(*) FILTER (WHERE event = 'error'), count(error_code)
           FROM _seg_events"""
    ).fetchone()
    if not features:
        report.unavailable.append(
            (
                "feature breadth",
                f"no feature_used event has a {config.feature_property!r} property "
                "(in tracks or the feature_used table): features used are 0",
            )
        )
    if not platforms:
        report.unavailable.append(
            ("platform", f"none of the columns {list(config.platform_columns)} has a value")
        )
    if errors and not error_codes:
        report.unavailable.append(
            ("error codes", f"no error event has a {config.error_code_property!r} property")
        )
    for reason, (events, users) in _dropped(con).items():
        if events:
            report.warnings.append(f"{events:,} events of {users:,} users {reason}: not loaded")


def _snake(expr: str) -> str:
    """snake_case as Segment slugs names ("Report Exported", "reportExported" -> report_exported)."""
    spaced = f"regexp_replace(trim({expr}), '([a-z0-9])([A-Z])', '\\1_\\2', 'g')"
    return f"trim(regexp_replace(lower({spaced}), '[^a-z0-9]+', '_', 'g'), '_')"


def _prepare(
    con: duckdb.DuckDBPyConnection,
    source: str | Path,
    config: SegmentConfig,
    archive: Path | None = None,
) -> None:
    """`_seg_events`: one row per message id, mapped event, platform, user and account."""
    _open_event_tables(con, source, config, archive)
    con.execute("CREATE OR REPLACE TEMP TABLE _seg_event_map (name VARCHAR, event VARCHAR)")
    if config.event_map:
        con.executemany("INSERT INTO _seg_event_map VALUES (?, ?)", list(config.event_map.items()))
    # names are matched by slug, so "Report Exported", "report_exported" and "ReportExported"
    # are one entry
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _seg_event_slugs AS
            SELECT {_snake("name")} AS slug, min(event) AS event
            FROM _seg_event_map GROUP BY ALL"""
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _seg_platform_map (raw VARCHAR, platform VARCHAR)")
    if config.platform_map:
        con.executemany(
            "INSERT INTO _seg_platform_map VALUES (?, ?)",
            [(k.lower(), v) for k, v in config.platform_map.items()],
        )

    def prop(name: str) -> str:
        # a flattened property on tracks, else the event table's column
        return f"nullif(trim(coalesce(t.{ident(name)}, p.{ident(name)})), '')"

    raw_platform = (
        "coalesce("
        + ", ".join([*(f"lower({prop(c)})" for c in config.platform_columns), "NULL"])
        + ")"
    )
    events = sql_list(TELEMETRY_EVENTS)
    calls, account = (
        ("seg_groups", "group_id")
        if config.account_source == "groups"
        else ("seg_identifies", ident(config.account_trait))
    )
    # page and screen calls are events too, named by `page_event`
    page_calls = "".join(
        f"""
        UNION ALL BY NAME
        SELECT coalesce(nullif(trim(id), ''), nullif(trim(message_id), '')) AS message_id,
               * EXCLUDE (id, message_id, name), {quote(config.page_event)} AS event
        FROM seg_{t.name}"""
        for t in VIEW_TABLES
        if config.page_event
    )
    before_first = (
        "coalesce(m.account_id, f.account_id)"
        if config.first_account_covers_earlier_events
        else "m.account_id"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _seg_tracks AS
        SELECT coalesce(nullif(trim(id), ''), nullif(trim(message_id), '')) AS message_id,
               * EXCLUDE (id, message_id)
        FROM seg_tracks{page_calls};

        -- which user an anonymous id was identified as (its latest identify or track)
        CREATE OR REPLACE TEMP TABLE _seg_anonymous AS
        SELECT anonymous_id, arg_max(trim(user_id), timestamp) AS user_id
        FROM (SELECT anonymous_id, user_id, timestamp FROM seg_identifies
              UNION ALL SELECT anonymous_id, user_id, timestamp FROM _seg_tracks)
        WHERE nullif(trim(anonymous_id), '') IS NOT NULL AND nullif(trim(user_id), '') IS NOT NULL
        GROUP BY anonymous_id;

        -- a user's account from a time on; of two calls at one instant the later received
        CREATE OR REPLACE TEMP TABLE _seg_memberships AS
        SELECT trim(user_id) AS user_id, timestamp AS since,
               arg_max(trim(account_id), received_at) AS account_id
        FROM (SELECT user_id, {account} AS account_id, timestamp, received_at FROM {calls}
              QUALIFY row_number() OVER (PARTITION BY coalesce(id, message_id, user_id || timestamp)
                                         ORDER BY received_at NULLS LAST) = 1)
        WHERE nullif(trim(user_id), '') IS NOT NULL AND nullif(trim(account_id), '') IS NOT NULL
          AND timestamp IS NOT NULL
        GROUP BY ALL;

        CREATE OR REPLACE TEMP TABLE _seg_first_membership AS
        SELECT user_id, arg_min(account_id, since) AS account_id
        FROM _seg_memberships GROUP BY user_id;

        CREATE OR REPLACE TEMP TABLE _seg_events AS
        WITH kept AS (
            SELECT * FROM _seg_tracks
            WHERE message_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY message_id
                                       ORDER BY received_at NULLS LAST, timestamp, event) = 1),
        names AS (
            -- slugs of the distinct names only: the regexes stay off the event rows
            SELECT event_text, event, coalesce(nullif(trim(event_text), ''), event) AS raw_event,
                   {_snake("coalesce(nullif(trim(event_text), ''), event)")} AS name_slug,
                   {_snake("event")} AS event_slug
            FROM (SELECT DISTINCT event_text, event FROM kept)),
        slugged AS (
            SELECT t.*, n.raw_event, n.name_slug, n.event_slug
            FROM kept t
            JOIN names n ON n.event_text IS NOT DISTINCT FROM t.event_text
                        AND n.event IS NOT DISTINCT FROM t.event),
        named AS (
            SELECT t.message_id, t.timestamp, t.received_at,
                   coalesce(nullif(trim(t.user_id), ''), a.user_id) AS user_id,
                   t.raw_event,
                   coalesce(by_name.event, by_slug.event,
                            CASE WHEN t.name_slug IN {events} THEN t.name_slug
                                 WHEN t.event_slug IN {events} THEN t.event_slug END,
                            'other') AS event,
                   {prop(config.feature_property)} AS feature,
                   {prop(config.error_code_property)} AS error_code,
                   {raw_platform} AS raw_platform
            FROM slugged t
            LEFT JOIN seg_event_props p USING (message_id)
            LEFT JOIN _seg_anonymous a
                   ON nullif(trim(t.user_id), '') IS NULL AND a.anonymous_id = t.anonymous_id
            LEFT JOIN _seg_event_slugs by_name ON by_name.slug = t.name_slug
            LEFT JOIN _seg_event_slugs by_slug ON by_slug.slug = t.event_slug)
        SELECT n.* EXCLUDE (raw_platform), n.raw_platform,
               CASE WHEN n.raw_platform IS NULL THEN NULL
                    WHEN pm.platform IS NOT NULL THEN pm.platform
                    WHEN n.raw_platform IN {sql_list(PLATFORMS)} THEN n.raw_platform
                    ELSE 'other' END AS platform,
               {before_first} AS account_id
        FROM named n
        LEFT JOIN (SELECT raw, any_value(platform) AS platform FROM _seg_platform_map
                   GROUP BY raw) pm ON pm.raw = n.raw_platform
        ASOF LEFT JOIN _seg_memberships m ON m.user_id = n.user_id AND n.timestamp >= m.since
        LEFT JOIN _seg_first_membership f ON f.user_id = n.user_id;

        CREATE OR REPLACE TEMP VIEW _seg_landed AS
        SELECT * FROM _seg_events
        WHERE user_id IS NOT NULL AND account_id IS NOT NULL AND timestamp IS NOT NULL;
        """
    )


DROP_REASONS = (
    "without a message id (id / message_id)",
    "without a timestamp",
    "anonymous (an anonymous_id never identified)",
    "with no account (no group / account trait as of the event)",
)


def _dropped(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Per reason: events and distinct users that land nowhere."""
    no_id, no_ts = con.execute(
        "SELECT (SELECT count(*) FROM _seg_tracks WHERE message_id IS NULL), "
        "(SELECT count(*) FROM _seg_events WHERE timestamp IS NULL)"
    ).fetchone()
    anonymous, no_account, users_no_account = con.execute(
        """SELECT count(*) FILTER (WHERE user_id IS NULL),
                  count(*) FILTER (WHERE user_id IS NOT NULL AND account_id IS NULL),
                  count(DISTINCT user_id) FILTER (WHERE account_id IS NULL)
           FROM _seg_events WHERE timestamp IS NOT NULL"""
    ).fetchone()
    counts = ((no_id, 0), (no_ts, 0), (anonymous, 0), (no_account, users_no_account))
    return dict(zip(DROP_REASONS, counts, strict=True))


@dataclass
class ConversionResult:
    landing_dir: Path
    first_day: dt.date | None
    last_day: dt.date | None
    events: int
    duplicates: int
    """Repeated deliveries of a message id (the earliest received was kept)."""
    changed_days: list[dt.date]
    """Days written because they are new or changed since the last load of this source."""
    dropped: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Reason -> (events, distinct users) that land nowhere."""
    other_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per attribute (event, platform): source value -> events mapped to `other`."""
    synced_through: dt.datetime | None = None
    """The export's sync watermark: the latest `received_at` of its track and page calls."""

    def summary(self) -> str:
        return (
            f"{self.events:,} events, days {self.first_day}..{self.last_day}; "
            f"{self.duplicates:,} duplicate deliveries dropped"
        )

    def warnings(self) -> list[str]:
        """Events that land nowhere, and values mapped to `other`, per attribute."""
        out = [
            f"{events:,} events{f' of {users:,} users' if users else ''} {reason}: not loaded"
            for reason, (events, users) in self.dropped.items()
            if events
        ]
        return out + [
            f"{attribute}: {sum(counts.values()):,} events mapped to other ({counts})"
            for attribute, counts in self.other_counts.items()
        ]


def convert_to_landing(
    source: str | Path,
    landing_dir: str | Path,
    config: SegmentConfig | None = None,
) -> ConversionResult:
    """Write the export's events as `<landing_dir>/telemetry/<day>/events.parquet`.

    An event lands on the day it happened (UTC `timestamp`), one folder per day from the
    first to the last. Raises ValueError naming the table and column when `check_export`
    finds an error.
    """
    config = config or SegmentConfig()
    con = duckdb.connect()
    try:
        # checked before anything is archived, so a broken export leaves no trace
        report = _check(con, source, config, mapping=False)
        if not report.ok:
            raise ValueError("; ".join(report.errors))
        archive = Path(landing_dir) / LANDING_SOURCE / "_synced"
        open_export(con, source, config, archive)
        _prepare(con, source, config, archive)
        fields = ", ".join(
            "CAST(timestamp AS TIMESTAMPTZ) AS timestamp"
            if f.name == "timestamp"
            else ident(f.name)
            for f in TELEMETRY_EVENTS_ENTITY.fields
        )
        select = (
            f"SELECT {fields}, CAST(timestamp AS DATE) AS _day FROM _seg_landed "
            "ORDER BY timestamp, message_id"
        )
        synced_through = con.execute("SELECT max(received_at) FROM _seg_tracks").fetchone()[0]
        events = con.execute("SELECT count(*) FROM _seg_landed").fetchone()[0]
        duplicates = con.execute(
            "SELECT count(message_id) - count(DISTINCT message_id) FROM _seg_tracks"
        ).fetchone()[0]
        other: dict[str, dict[str, int]] = {}
        for attribute, raw in (("event", "raw_event"), ("platform", "raw_platform")):
            rows = con.execute(
                f"SELECT coalesce({raw}, '(none)'), count(*) FROM _seg_landed "
                f"WHERE {attribute} = 'other' GROUP BY ALL ORDER BY 1"
            ).fetchall()
            if rows:
                other[attribute] = dict(rows)
        dropped = _dropped(con)
        con.execute("SET threads = 1")  # the same export writes the same bytes
        landed = connector.write_landing_days(
            con,
            landing_dir,
            LANDING_SOURCE,
            [(TELEMETRY_EVENTS_ENTITY, select)],
            KIND,
            synced_through,
        )
        return ConversionResult(
            landing_dir=Path(landing_dir),
            first_day=landed.first_day,
            last_day=landed.last_day,
            events=events,
            duplicates=duplicates,
            changed_days=landed.changed,
            dropped=dropped,
            other_counts=other,
            synced_through=synced_through,
        )
    finally:
        con.close()


Config = SegmentConfig
