"""Zendesk Support as Fivetran lands it, mapped onto the native helpdesk landing layout.

A connector export is a folder with one file per connector table or a DuckDB database with
the connector's schema (read by `extracts.sources.connector`). `check_export` says whether
an export can be loaded and which metrics it cannot give; `convert_to_landing` maps it, set-based in DuckDB SQL, into
`<landing>/helpdesk/<day>/tickets.jsonl` and `ticket_events.jsonl`: the files the native
generator writes. Ingestion then applies the same contracts, quarantine, PII hashing
(HMAC-SHA256 keyed by `SUPPORTOPS_PII_KEY`) and text reduction as for native files, so dbt
and everything after it see no difference.

Mapping (see `ZendeskFivetranConfig` for the knobs):

- a ticket keeps its Zendesk id; tickets with `_fivetran_deleted` or status `deleted` are
  dropped with all their events, and so are tickets merged into another one (tag
  `closed_by_merge`: the work lives on in the target ticket); of several synced versions of
  a row the latest `_fivetran_synced` wins;
- channel from `via_channel`, category from a ticket column or a tag prefix, tier `vip` when
  the ticket's organization carries a VIP tag; values outside the known sets become `other`
  (counted in the result, never quarantined); priority is the first one the ticket had;
- events: `created` (the submitter; the first comment is the description, not a reply),
  comments (public agent -> agent_reply, public bot -> bot_reply, private agent or bot ->
  internal_note, end-user -> requester_reply; author role from `user.role`, a bot by id or
  name), field history (status -> status_change / solved / reopened / closed, assignee ->
  agent_assigned, a group change by the bot -> bot_handoff, a group change to a tier-2/3
  group -> escalated, a time-tracking field -> the reply's handle seconds) and
  `satisfaction_rating` (good/bad -> csat_response with a configured 1-5 score);
- business hours: `schedule` / `schedule_holiday` become the helpdesk's schedule snapshots
  and a ticket takes the schedule of its first `ticket_schedule` row
  (extracts/sources/zendesk_schedules.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from extracts.contracts import CATEGORIES, CHANNELS, HELPDESK_TICKET_EVENTS, HELPDESK_TICKETS
from extracts.contracts import PRIORITIES as PRIORITY_VALUES
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
from extracts.sources.zendesk_schedules import (
    attach_ticket_schedules,
    check_schedules,
    schedule_outputs,
)

KIND = "zendesk_fivetran"
LANDING_SOURCE = HELPDESK_TICKETS.source
MERGED_TAG = "closed_by_merge"
"""The tag Zendesk puts on a ticket it closes by merging it into another."""

DEFAULT_CHANNEL_MAP: dict[str, str] = {
    "email": "email",
    "web": "web",
    "web_form": "web",
    "web_widget": "web",
    "help_center": "web",
    "chat": "chat",
    "native_messaging": "chat",
    "messaging": "chat",
    "voice": "phone",
    "phone": "phone",
    "answer_bot": "bot",
    "answer_bot_for_web_widget": "bot",
    "answer_bot_for_sdk": "bot",
    "answer_bot_api": "bot",
    "ai_agent": "bot",
}


@dataclass(frozen=True)
class ZendeskFivetranConfig(connector.MappingConfig):
    """How a Zendesk account's conventions map onto supportops. Every field has a default."""

    kind = KIND

    bot_user_ids: tuple[str, ...] = ()
    """Zendesk user ids (or user external ids) of bots and AI agents."""
    bot_name_pattern: str = r"(?i)\b(answer ?bot|ai agent|bot)\b"
    """A user whose name matches this (RE2) pattern is a bot too. Empty string: ids only."""
    channel_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CHANNEL_MAP))
    """`ticket.via_channel` -> supportops channel; anything else is `other`."""
    category_field: str | None = None
    """A `ticket` column holding the category (a custom field Fivetran lands as a column)."""
    category_tag_prefix: str = "category_"
    """Without `category_field`: the ticket tag `<prefix><category>` gives the category."""
    category_map: Mapping[str, str] = field(default_factory=dict)
    """Your category values -> supportops categories; unknown values are `other`."""
    vip_organization_tags: tuple[str, ...] = ("vip",)
    """An organization carrying one of these tags is tier `vip`; every other one `standard`."""
    tier_group_pattern: str = r"(?i)tier[ _-]?([1-3])"
    """A group whose name matches gives the support tier (capture group 1); a move to tier
    2 or 3 is an escalation."""
    handle_time_field: str = "time_spent_last_update_sec"
    """`ticket_field_history.field_name` of the Time Tracking app's "time spent last
    update" field (on real accounts its numeric custom field id): handle seconds of the
    public agent comment made in the same update."""
    csat_good_score: int = 5
    csat_bad_score: int = 1
    default_priority: str = "normal"
    """Priority of a ticket that never had one (Zendesk allows none); counted."""
    description_window_seconds: int = 60
    """A ticket's first comment within this many seconds of its creation is the description."""
    schema: str | None = None
    """For a DuckDB-database source holding several connectors: the schema of this one."""


_SYNC = " _fivetran_synced:TIMESTAMP _fivetran_deleted:BOOLEAN"
TABLES: tuple[Table, ...] = (
    Table(
        "ticket",
        columns(
            "id:BIGINT! created_at:TIMESTAMP! updated_at:TIMESTAMP status:VARCHAR! "
            "priority:VARCHAR requester_id:BIGINT! submitter_id:BIGINT assignee_id:BIGINT "
            "group_id:BIGINT organization_id:BIGINT via_channel:VARCHAR! subject:VARCHAR "
            "description:VARCHAR" + _SYNC
        ),
        key=("id",),
        required=True,
    ),
    Table(
        "user",
        columns(
            "id:BIGINT! name:VARCHAR email:VARCHAR phone:VARCHAR role:VARCHAR! "
            "external_id:VARCHAR organization_id:BIGINT" + _SYNC
        ),
        key=("id",),
        required=True,
    ),
    Table(
        "ticket_comment",
        columns(
            "id:BIGINT! ticket_id:BIGINT! user_id:BIGINT! created:TIMESTAMP! public:BOOLEAN! body:VARCHAR"
            + _SYNC
        ),
        key=("id",),
        required=True,
    ),
    Table(
        "ticket_field_history",
        columns(
            "ticket_id:BIGINT! field_name:VARCHAR! updated:TIMESTAMP! value:VARCHAR user_id:BIGINT _fivetran_synced:TIMESTAMP"
        ),
        key=("ticket_id", "field_name", "updated"),
        required=True,
    ),
    Table(
        "organization",
        columns("id:BIGINT! external_id:VARCHAR name:VARCHAR" + _SYNC),
        key=("id",),
        without="account_id is 'zendesk-org-<organization_id>' (no CRM join) and every ticket is tier standard",
    ),
    Table(
        "organization_tag",
        columns(
            "organization_id:BIGINT! tag:VARCHAR! _fivetran_synced:TIMESTAMP _fivetran_deleted:BOOLEAN"
        ),
        key=("organization_id", "tag"),
        without="every ticket is tier standard: VIP SLA targets and VIP business hours never apply",
    ),
    Table(
        "ticket_tag",
        columns(
            "ticket_id:BIGINT! tag:VARCHAR! _fivetran_synced:TIMESTAMP _fivetran_deleted:BOOLEAN"
        ),
        key=("ticket_id", "tag"),
        without="category is 'other' for every ticket unless category_field is set: no breakdown by category",
    ),
    Table(
        "group",
        columns("id:BIGINT! name:VARCHAR!" + _SYNC),
        key=("id",),
        without="escalations are unavailable (escalation rate, tier-3 label of the escalation model)",
    ),
    Table(
        "satisfaction_rating",
        columns(
            "id:BIGINT! ticket_id:BIGINT! score:VARCHAR! created_at:TIMESTAMP! updated_at:TIMESTAMP requester_id:BIGINT"
            + _SYNC
        ),
        key=("id",),
        without="CSAT is unavailable (responses, satisfied share, CSAT score)",
    ),
    # Business hours (extracts/sources/zendesk_schedules.py). Zendesk's time_zone and
    # daylight_time tables are not needed: DuckDB's ICU time zones give the offsets.
    Table(
        "schedule",
        columns(
            "id:BIGINT! name:VARCHAR time_zone:VARCHAR! start_time:BIGINT! end_time:BIGINT!" + _SYNC
        ),
        key=("id", "start_time"),
        without="business minutes follow the per-tier clock (dbt_project/seeds/business_hours.csv), "
        "not your Zendesk schedules",
    ),
    Table(
        "schedule_holiday",
        columns(
            "id:BIGINT schedule_id:BIGINT! start_date:DATE! end_date:DATE! name:VARCHAR" + _SYNC
        ),
        key=("schedule_id", "start_date", "end_date"),
        without="schedule holidays count as business days",
    ),
    Table(
        "ticket_schedule",
        columns(
            "ticket_id:BIGINT! created_at:TIMESTAMP! schedule_id:BIGINT! _fivetran_synced:TIMESTAMP"
        ),
        key=("ticket_id", "created_at"),
        without="no ticket is linked to a schedule: business minutes follow the per-tier clock",
    ),
)
TABLES_BY_NAME = {t.name: t for t in TABLES}


def open_export(
    con: duckdb.DuckDBPyConnection,
    source: str | Path,
    config: ZendeskFivetranConfig,
    archive: Path | None = None,
) -> Export:
    """`zd_src_<table>` (as read) and `zd_<table>` (typed, latest synced version)."""
    extra = {"ticket": (Column(config.category_field, "VARCHAR"),)} if config.category_field else {}
    return connector.open_export(con, source, TABLES, "zd_", extra, config.schema, archive)


def check_export(folder: str | Path, config: ZendeskFivetranConfig | None = None) -> CheckReport:
    """Missing tables and columns, values of the wrong type, and the metrics that will be lost."""
    config = config or ZendeskFivetranConfig()
    report = CheckReport(Path(folder))
    con = duckdb.connect()
    try:
        try:
            export = open_export(con, folder, config)
        except (FileNotFoundError, ValueError, duckdb.Error) as exc:
            report.errors.append(str(exc).splitlines()[0])
            return report
        connector.check_tables(con, export, TABLES, report)
        ticket_columns = export.present.get("ticket", [])
        if config.category_field and ticket_columns and config.category_field not in ticket_columns:
            report.errors.append(
                f"table ticket: column {config.category_field} missing (the configured "
                "category_field)"
            )
        if report.errors:
            return report
        _check_semantics(con, config, report)
        check_schedules(con, report)
        return report
    finally:
        con.close()


def _check_semantics(
    con: duckdb.DuckDBPyConnection, config: ZendeskFivetranConfig, report: CheckReport
) -> None:
    """Mapping-level availability: bot users, handle times, categories, account ids."""
    _prepare(con, config)
    bots = con.execute("SELECT count(*) FROM _zd_users WHERE actor_type = 'bot'").fetchone()[0]
    if not bots:
        report.unavailable.append(
            (
                "bot containment",
                "no user is a bot (bot_user_ids / bot_name_pattern): no ticket is bot-handled",
            )
        )
    handle = con.execute(
        "SELECT count(*) FROM zd_ticket_field_history WHERE field_name = ?",
        [config.handle_time_field],
    ).fetchone()[0]
    if not handle:
        report.unavailable.append(
            (
                "handle time",
                f"no ticket_field_history rows for field {config.handle_time_field!r} "
                "(Time Tracking app): AHT and agent cost are 0",
            )
        )
    tickets, other_category, no_external = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE category = 'other'), "
        "count(*) FILTER (WHERE account_id LIKE 'zendesk-%') FROM _zd_ticket_rows"
    ).fetchone()
    if tickets and other_category == tickets and "ticket_tag" in report.rows:
        report.unavailable.append(
            (
                "category",
                f"no ticket tag starts with {config.category_tag_prefix!r} and no "
                "category_field is set: every ticket is category 'other'",
            )
        )
    if no_external:
        report.warnings.append(
            f"{no_external} of {tickets} tickets have no organization external_id: their "
            "account_id does not join the CRM (churn features miss their tickets)"
        )


def _prepare(con: duckdb.DuckDBPyConnection, config: ZendeskFivetranConfig) -> None:
    """Users with their actor type, and the kept tickets mapped to the native ticket shape."""
    bot_ids = sql_list(config.bot_user_ids)
    pattern = (
        f"regexp_matches(coalesce(name, ''), {quote(config.bot_name_pattern)})"
        if config.bot_name_pattern
        else "false"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _zd_users AS
            SELECT id AS user_id,
                   coalesce(nullif(trim(external_id), ''), id::VARCHAR) AS actor_id,
                   email, name, phone, organization_id,
                   CASE WHEN id::VARCHAR IN {bot_ids} OR external_id IN {bot_ids} OR {pattern}
                        THEN 'bot'
                        WHEN lower(role) IN ('agent', 'admin') THEN 'agent'
                        ELSE 'requester' END AS actor_type
            FROM zd_user"""
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _zd_channel_map (via VARCHAR, channel VARCHAR)")
    if config.channel_map:
        con.executemany(
            "INSERT INTO _zd_channel_map VALUES (?, ?)",
            [(k.lower(), v) for k, v in config.channel_map.items()],
        )
    con.execute("CREATE OR REPLACE TEMP TABLE _zd_category_map (raw VARCHAR, category VARCHAR)")
    if config.category_map:
        con.executemany(
            "INSERT INTO _zd_category_map VALUES (?, ?)",
            [(k.lower(), v) for k, v in config.category_map.items()],
        )
    prefix = config.category_tag_prefix
    if config.category_field:
        raw_category = f"lower(trim(t.{ident(config.category_field)}))"
        category_join = ""
    else:
        raw_category = "tags.raw_category"
        category_join = f"""LEFT JOIN (
                SELECT ticket_id, min(substr(lower(tag), {len(prefix) + 1})) AS raw_category
                FROM zd_ticket_tag
                WHERE starts_with(lower(tag), {quote(prefix.lower())})
                  AND NOT coalesce(_fivetran_deleted, false)
                GROUP BY ticket_id) AS tags ON tags.ticket_id = t.id"""
    vip_tags = sql_list(tuple(t.lower() for t in config.vip_organization_tags))
    # Deleted and merged-away tickets are no work of their own: kept out of every count
    # (no NULL ids in _zd_merged: one would make NOT IN drop every ticket).
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _zd_merged AS
            SELECT DISTINCT ticket_id FROM zd_ticket_tag
            WHERE lower(trim(tag)) = {quote(MERGED_TAG)} AND ticket_id IS NOT NULL
              AND NOT coalesce(_fivetran_deleted, false)"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _zd_tickets AS
            SELECT * FROM zd_ticket
            WHERE NOT coalesce(_fivetran_deleted, false)
              AND coalesce(lower(status), '') <> 'deleted' AND id IS NOT NULL
              AND id NOT IN (SELECT ticket_id FROM _zd_merged)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _zd_ticket_rows AS
            WITH first_priority AS (
                SELECT ticket_id, arg_min(lower(value), updated) AS priority
                FROM zd_ticket_field_history
                WHERE field_name = 'priority' AND nullif(trim(value), '') IS NOT NULL
                GROUP BY ticket_id),
            vip AS (
                SELECT DISTINCT organization_id FROM zd_organization_tag
                WHERE lower(tag) IN {vip_tags} AND NOT coalesce(_fivetran_deleted, false)),
            mapped AS (
                SELECT t.id AS ticket_id, t.created_at,
                       lower(t.via_channel) AS raw_channel,
                       coalesce(cm.channel, CASE WHEN lower(t.via_channel) IN {sql_list(CHANNELS)}
                                                 THEN lower(t.via_channel) END) AS channel,
                       {raw_category} AS raw_category,
                       coalesce(fp.priority, lower(t.priority)) AS raw_priority,
                       vip.organization_id IS NOT NULL AS is_vip,
                       coalesce(t.organization_id, r.organization_id) AS organization_id,
                       o.external_id AS organization_external_id,
                       coalesce(r.actor_id, t.requester_id::VARCHAR) AS requester_id,
                       r.email AS requester_email, r.name AS requester_name,
                       r.phone AS requester_phone, t.subject, t.description
                FROM _zd_tickets t
                LEFT JOIN _zd_users r ON r.user_id = t.requester_id
                LEFT JOIN zd_organization o ON o.id = coalesce(t.organization_id, r.organization_id)
                LEFT JOIN vip ON vip.organization_id = coalesce(t.organization_id, r.organization_id)
                LEFT JOIN first_priority fp ON fp.ticket_id = t.id
                LEFT JOIN _zd_channel_map cm ON cm.via = lower(t.via_channel)
                {category_join})
            SELECT m.ticket_id, m.created_at,
                   CASE WHEN m.channel IN {sql_list(CHANNELS)} THEN m.channel ELSE 'other' END
                       AS channel,
                   CASE WHEN coalesce(ca.category, m.raw_category) IN {sql_list(CATEGORIES)}
                        THEN coalesce(ca.category, m.raw_category) ELSE 'other' END AS category,
                   CASE WHEN m.raw_priority IN {sql_list(PRIORITY_VALUES)} THEN m.raw_priority
                        ELSE {quote(config.default_priority)} END AS priority,
                   m.raw_priority IN {sql_list(PRIORITY_VALUES)} AS priority_known,
                   m.raw_channel, m.raw_category, m.raw_priority,
                   CASE WHEN m.is_vip THEN 'vip' ELSE 'standard' END AS tier,
                   coalesce(nullif(trim(m.organization_external_id), ''),
                            'zendesk-org-' || m.organization_id::VARCHAR,
                            'zendesk-no-organization') AS account_id,
                   m.requester_id, m.requester_email, m.requester_name, m.requester_phone,
                   m.subject, m.description
            FROM mapped m
            LEFT JOIN _zd_category_map ca ON ca.raw = m.raw_category"""
    )


def _events_sql(config: ZendeskFivetranConfig) -> str:
    """Every native event of the kept tickets, one SELECT per source, as one UNION."""
    window = int(config.description_window_seconds)
    return f"""
        WITH kept AS (
            SELECT id AS ticket_id, created_at, coalesce(submitter_id, requester_id) AS opener_id,
                   requester_id
            FROM _zd_tickets),
        history AS (
            SELECT h.* FROM zd_ticket_field_history h JOIN kept USING (ticket_id)),
        status AS (
            SELECT ticket_id, updated, user_id, norm,
                   lag(norm) OVER (PARTITION BY ticket_id ORDER BY updated) AS previous,
                   row_number() OVER (PARTITION BY ticket_id ORDER BY updated) AS n
            FROM (SELECT ticket_id, updated, user_id,
                         CASE lower(trim(value)) WHEN 'hold' THEN 'on_hold'
                              WHEN 'on-hold' THEN 'on_hold' ELSE lower(trim(value)) END AS norm
                  FROM history WHERE field_name = 'status')),
        opening_status AS (
            -- the status set when the ticket was created belongs to the `created` event
            SELECT s.ticket_id, s.updated, s.norm FROM status s JOIN kept k USING (ticket_id)
            WHERE s.n = 1 AND abs(epoch(s.updated) - epoch(k.created_at)) <= {window}),
        comments AS (
            SELECT c.*, row_number() OVER (PARTITION BY c.ticket_id ORDER BY c.created, c.id) AS n
            FROM zd_ticket_comment c JOIN kept USING (ticket_id)
            WHERE NOT coalesce(c._fivetran_deleted, false)),
        handle AS (
            SELECT ticket_id, updated, max(try_cast(value AS DOUBLE)) AS seconds
            FROM history WHERE field_name = {quote(config.handle_time_field)}
            GROUP BY ALL),
        tiers AS (
            SELECT id AS group_id,
                   try_cast(regexp_extract(name, {quote(config.tier_group_pattern)}, 1) AS INTEGER)
                       AS tier
            FROM zd_group),
        events AS (
            SELECT k.ticket_id, 'created' AS event_type, k.created_at AS event_at,
                   coalesce(u.actor_type, 'requester') AS actor_type, u.actor_id,
                   NULL::INTEGER AS handle_seconds, NULL::INTEGER AS to_tier,
                   coalesce(CASE WHEN os.norm IN ('new', 'open', 'pending', 'on_hold')
                                 THEN os.norm END, 'new') AS status,
                   NULL::INTEGER AS csat_score, NULL::VARCHAR AS body,
                   'created:' || k.ticket_id AS event_key
            FROM kept k
            LEFT JOIN _zd_users u ON u.user_id = k.opener_id
            LEFT JOIN opening_status os USING (ticket_id)

            UNION ALL
            SELECT c.ticket_id,
                   CASE WHEN u.actor_type = 'bot' AND c.public THEN 'bot_reply'
                        WHEN u.actor_type = 'agent' AND c.public THEN 'agent_reply'
                        WHEN u.actor_type IN ('bot', 'agent') THEN 'internal_note'
                        ELSE 'requester_reply' END,
                   c.created, coalesce(u.actor_type, 'requester'),
                   coalesce(u.actor_id, c.user_id::VARCHAR),
                   CASE WHEN u.actor_type = 'agent' AND c.public AND h.seconds >= 0
                        THEN round(h.seconds)::INTEGER END,
                   NULL, NULL, NULL, c.body, 'comment:' || c.id
            FROM comments c
            JOIN kept k USING (ticket_id)
            LEFT JOIN _zd_users u ON u.user_id = c.user_id
            LEFT JOIN handle h ON h.ticket_id = c.ticket_id AND h.updated = c.created
            WHERE NOT (c.n = 1 AND abs(epoch(c.created) - epoch(k.created_at)) <= {window})

            UNION ALL
            SELECT s.ticket_id,
                   CASE WHEN s.norm = 'solved' THEN 'solved'
                        WHEN s.norm = 'closed' THEN 'closed'
                        WHEN s.norm = 'open' AND s.previous IN ('solved', 'closed') THEN 'reopened'
                        ELSE 'status_change' END,
                   s.updated, coalesce(u.actor_type, 'system'), u.actor_id,
                   NULL, NULL, s.norm, NULL, NULL,
                   'status:' || s.ticket_id || ':' || s.updated
            FROM status s
            LEFT JOIN opening_status os ON os.ticket_id = s.ticket_id AND os.updated = s.updated
            LEFT JOIN _zd_users u ON u.user_id = s.user_id
            WHERE os.ticket_id IS NULL
              AND s.norm IN ('open', 'pending', 'on_hold', 'solved', 'closed')

            UNION ALL
            SELECT h.ticket_id, 'agent_assigned', h.updated,
                   coalesce(a.actor_type, 'agent'), coalesce(a.actor_id, h.value),
                   NULL, NULL, NULL, NULL, NULL,
                   'assignee:' || h.ticket_id || ':' || h.updated
            FROM history h
            LEFT JOIN _zd_users a ON a.user_id = try_cast(h.value AS BIGINT)
            WHERE h.field_name = 'assignee_id' AND nullif(trim(h.value), '') IS NOT NULL

            UNION ALL
            SELECT h.ticket_id,
                   CASE WHEN u.actor_type = 'bot' THEN 'bot_handoff' ELSE 'escalated' END,
                   h.updated, coalesce(u.actor_type, 'system'), u.actor_id,
                   NULL, CASE WHEN u.actor_type = 'bot' THEN NULL ELSE g.tier END,
                   NULL, NULL, NULL,
                   'group:' || h.ticket_id || ':' || h.updated
            FROM history h
            LEFT JOIN _zd_users u ON u.user_id = h.user_id
            LEFT JOIN tiers g ON g.group_id = try_cast(h.value AS BIGINT)
            WHERE h.field_name = 'group_id' AND nullif(trim(h.value), '') IS NOT NULL
              AND (u.actor_type = 'bot' OR g.tier >= 2)

            UNION ALL
            SELECT r.ticket_id, 'csat_response', coalesce(r.updated_at, r.created_at),
                   'requester', coalesce(u.actor_id, r.requester_id::VARCHAR),
                   NULL, NULL, NULL,
                   CASE WHEN starts_with(lower(r.score), 'good') THEN {int(config.csat_good_score)}
                        ELSE {int(config.csat_bad_score)} END,
                   NULL, 'csat:' || r.id
            FROM zd_satisfaction_rating r
            JOIN kept k USING (ticket_id)
            LEFT JOIN _zd_users u ON u.user_id = coalesce(r.requester_id, k.requester_id)
            WHERE NOT coalesce(r._fivetran_deleted, false)
              AND (starts_with(lower(r.score), 'good') OR starts_with(lower(r.score), 'bad')))
        SELECT ('0x' || left(md5(event_key), 15))::BIGINT AS event_id, * EXCLUDE (event_key)
        FROM events"""


@dataclass
class ConversionResult:
    landing_dir: Path
    first_day: dt.date | None
    last_day: dt.date | None
    tickets: int
    events: int
    deleted_tickets: int
    changed_days: list[dt.date]
    """Days written because they are new or changed since the last load of this source."""
    merged_tickets: int = 0
    """Tickets closed by a merge into another ticket (tag `closed_by_merge`): dropped like
    deleted ones, counted apart."""
    events_by_type: dict[str, int] = field(default_factory=dict)
    other_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per attribute (channel, category, priority): source value -> tickets mapped to a fallback."""
    synced_through: dt.datetime | None = None
    """The export's sync watermark: the latest `_fivetran_synced` of its tickets, comments
    and field history."""

    def summary(self) -> str:
        return (
            f"{self.tickets:,} tickets and {self.events:,} events, days "
            f"{self.first_day}..{self.last_day}; {self.deleted_tickets:,} deleted "
            + (f"and {self.merged_tickets:,} merged " if self.merged_tickets else "")
            + "tickets dropped"
        )

    def warnings(self) -> list[str]:
        """The values mapped to a fallback, per attribute."""
        return [
            f"{attribute}: {sum(counts.values()):,} tickets mapped to "
            f"{'the default priority' if attribute == 'priority' else 'other'} ({counts})"
            for attribute, counts in self.other_counts.items()
        ]


_TS = "strftime({}, '%Y-%m-%dT%H:%M:%SZ')"


def convert_to_landing(
    folder: str | Path,
    landing_dir: str | Path,
    config: ZendeskFivetranConfig | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> ConversionResult:
    """Map the export onto `<landing_dir>/helpdesk/`, the native layout.

    One folder per day from the first ticket's day to the last event's day, each with a
    `tickets.jsonl` (tickets created that day) and `ticket_events.jsonl` (events that day);
    only the days whose rows changed since the last load are rewritten (see
    `connector.write_landing_days`), so `changed_days` is what ingestion must reload.
    Raises ValueError naming the table and column when `check_export` finds an error.
    """
    config = config or ZendeskFivetranConfig()
    report = check_export(folder, config)
    if not report.ok:
        raise ValueError("; ".join(report.errors))
    own = con is None
    con = con or duckdb.connect()
    try:
        export = open_export(con, folder, config, Path(landing_dir) / LANDING_SOURCE / "_synced")
        _prepare(con, config)
        attach_ticket_schedules(con)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _zd_events AS {_events_sql(config)}")
        deleted, merged = con.execute(
            """SELECT count(*) FILTER (WHERE is_deleted),
                      count(*) FILTER (WHERE NOT is_deleted AND id IN (SELECT ticket_id FROM _zd_merged))
               FROM (SELECT id, coalesce(_fivetran_deleted, false)
                                OR coalesce(lower(status), '') = 'deleted' AS is_deleted
                     FROM zd_ticket)"""
        ).fetchone()
        other: dict[str, dict[str, int]] = {}
        for attribute, condition, raw in (
            ("channel", "channel = 'other'", "raw_channel"),
            ("category", "category = 'other'", "raw_category"),
            ("priority", "NOT coalesce(priority_known, false)", "raw_priority"),
        ):
            rows = con.execute(
                f"SELECT coalesce({raw}, '(none)'), count(*) FROM _zd_ticket_rows "
                f"WHERE {condition} GROUP BY ALL ORDER BY 1"
            ).fetchall()
            if rows:
                other[attribute] = dict(rows)
        synced_through = con.execute(
            """SELECT max(s) FROM (
                   SELECT max(_fivetran_synced) AS s FROM zd_ticket
                   UNION ALL SELECT max(_fivetran_synced) FROM zd_ticket_comment
                   UNION ALL SELECT max(_fivetran_synced) FROM zd_ticket_field_history)"""
        ).fetchone()[0]
        ticket_cols = ", ".join(
            _TS.format("created_at") + " AS created_at" if f.name == "created_at" else f.name
            for f in HELPDESK_TICKETS.fields
        )
        event_cols = ", ".join(
            _TS.format("event_at") + " AS created_at" if f.name == "created_at" else f.name
            for f in HELPDESK_TICKET_EVENTS.fields
        )
        landed = connector.write_landing_days(
            con,
            landing_dir,
            LANDING_SOURCE,
            [
                (
                    HELPDESK_TICKETS,
                    f"SELECT {ticket_cols}, created_at::DATE AS _day FROM _zd_ticket_rows "
                    "ORDER BY _zd_ticket_rows.created_at, ticket_id",
                ),
                (
                    HELPDESK_TICKET_EVENTS,
                    f"SELECT {event_cols}, event_at::DATE AS _day FROM _zd_events "
                    "ORDER BY _zd_events.event_at, ticket_id, event_id",
                ),
                # the schedule snapshots, on every day, when the export has schedules
                *(schedule_outputs(con) if "schedule" in export.present else []),
            ],
            KIND,
            synced_through,
            {"deleted_tickets": deleted, "merged_tickets": merged},
        )
        tickets = con.execute("SELECT count(*) FROM _zd_ticket_rows").fetchone()[0]
        by_type = dict(
            con.execute(
                "SELECT event_type, count(*) FROM _zd_events GROUP BY ALL ORDER BY 1"
            ).fetchall()
        )
        return ConversionResult(
            landing_dir=Path(landing_dir),
            first_day=landed.first_day,
            last_day=landed.last_day,
            changed_days=landed.changed,
            tickets=tickets,
            events=sum(by_type.values()),
            deleted_tickets=deleted,
            merged_tickets=merged,
            events_by_type=by_type,
            other_counts=other,
            synced_through=synced_through,
        )
    finally:
        if own:
            con.close()


Config = ZendeskFivetranConfig
