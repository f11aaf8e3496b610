"""Source contracts: the declared shape of every landing file.

One `Entity` per extract file. The generator writes to these shapes, ingestion validates
against them, and quarantine reasons refer to their field names. Adding a source means
adding an `Entity` here; nothing else hard-codes column lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FileFormat = Literal["jsonl", "csv", "parquet"]
PiiKind = Literal["email", "name", "phone"]

CHANNELS = ("email", "chat", "phone", "web", "bot")
CATEGORIES = (
    "billing",
    "technical",
    "account_access",
    "how_to",
    "bug",
    "integration",
    "feature_request",
)
OTHER = "other"
# What a raw ticket may carry: the generator's sets plus `other`, the bucket a source adapter
# maps an unknown channel or category to (counted, never quarantined). The generator indexes
# CHANNELS and CATEGORIES by position, so `other` stays out of those tuples.
CHANNEL_VALUES = (*CHANNELS, OTHER)
CATEGORY_VALUES = (*CATEGORIES, OTHER)
PRIORITIES = ("low", "normal", "high", "urgent")
TIERS = ("vip", "standard")
TICKET_EVENT_TYPES = (
    "created",
    "bot_reply",
    "bot_handoff",
    "agent_assigned",
    "agent_reply",
    "requester_reply",
    "internal_note",
    "escalated",
    "status_change",
    "solved",
    "reopened",
    "closed",
    "csat_response",
)
ACTOR_TYPES = ("requester", "bot", "agent", "system")
TICKET_STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
SEGMENTS = ("smb", "mid_market", "enterprise")
REGIONS = ("na", "emea", "apac", "latam")
INDUSTRIES = ("software", "retail", "finance", "healthcare", "education", "manufacturing")
PLANS = ("starter", "growth", "pro", "enterprise")
SUBSCRIPTION_STATUSES = ("active", "cancelled", "expired")
ACCOUNT_STATUSES = ("active", "churned")
TELEMETRY_EVENTS = (
    "login",
    "page_view",
    "feature_used",
    "report_exported",
    "invite_sent",
    "integration_synced",
    "error",
)
PLATFORMS = ("web", "ios", "android", "api")
# As for channels: a telemetry adapter maps an unknown event name or platform to `other`.
TELEMETRY_EVENT_VALUES = (*TELEMETRY_EVENTS, OTHER)
PLATFORM_VALUES = (*PLATFORMS, OTHER)


@dataclass(frozen=True)
class Field:
    """One declared column. `type` is the DuckDB type the raw table stores."""

    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    pii: PiiKind | None = None
    text: bool = False
    min_value: float | None = None
    max_value: float | None = None
    hash_if_email: bool = False
    """An id that is sometimes an email (Segment's `user_id`): a value shaped like an email
    is stored as its email HMAC, any other value as it is."""
    optional: bool = False
    """A file may leave the column out (it reads as null): added to a contract later, so
    landing files written before it still load."""

    @property
    def is_timestamp(self) -> bool:
        return self.type in ("TIMESTAMP", "DATE")


@dataclass(frozen=True)
class Entity:
    """One extract file per landing day, loaded into `raw.<source>_<name>`."""

    source: str
    name: str
    file_name: str
    format: FileFormat
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    event_time: str | None = None
    """Column whose value places a row in time; rows stamped before the landing day are late."""
    optional: bool = False
    """Reference data a source may not have: a landing day without the file loads no rows
    (instead of failing the load), and the ingestion sensor does not wait for it."""
    changes_only: bool = False
    """A daily full snapshot stored as versions (`raw_versions.<table>`: a row's first and
    last day), a row equal to its key's version of the day before not stored again;
    `raw.<table>` is the view that repeats each version on its days, one row per key and
    landing day as the file had it. The CRM resends every account and contact every day."""

    @property
    def table(self) -> str:
        return f"{self.source}_{self.name}"

    @property
    def asset_name(self) -> str:
        return f"raw_{self.table}"

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


HELPDESK_TICKETS = Entity(
    source="helpdesk",
    name="tickets",
    file_name="tickets.jsonl",
    format="jsonl",
    key=("ticket_id",),
    event_time="created_at",
    fields=(
        Field("ticket_id", "BIGINT", required=True),
        Field("created_at", "TIMESTAMP", required=True),
        Field("channel", "VARCHAR", required=True, allowed=CHANNEL_VALUES),
        Field("category", "VARCHAR", required=True, allowed=CATEGORY_VALUES),
        Field("priority", "VARCHAR", required=True, allowed=PRIORITIES),
        Field("tier", "VARCHAR", required=True, allowed=TIERS),
        Field("account_id", "VARCHAR", required=True),
        Field("requester_id", "VARCHAR", required=True),
        Field("requester_email", "VARCHAR", required=True, pii="email"),
        Field("requester_name", "VARCHAR", pii="name"),
        Field("requester_phone", "VARCHAR", pii="phone"),
        Field("subject", "VARCHAR", text=True),
        Field("description", "VARCHAR", text=True),
        # The source's business-hours schedule of the ticket (helpdesk_schedules); absent or
        # null: the per-tier clock.
        Field("schedule_id", "VARCHAR", optional=True),
    ),
)

HELPDESK_TICKET_EVENTS = Entity(
    source="helpdesk",
    name="ticket_events",
    file_name="ticket_events.jsonl",
    format="jsonl",
    key=("event_id",),
    event_time="created_at",
    fields=(
        Field("event_id", "BIGINT", required=True),
        Field("ticket_id", "BIGINT", required=True),
        Field("event_type", "VARCHAR", required=True, allowed=TICKET_EVENT_TYPES),
        Field("created_at", "TIMESTAMP", required=True),
        Field("actor_type", "VARCHAR", required=True, allowed=ACTOR_TYPES),
        Field("actor_id", "VARCHAR"),
        Field("handle_seconds", "INTEGER", min_value=0),
        Field("to_tier", "INTEGER", min_value=1, max_value=3),
        Field("status", "VARCHAR", allowed=TICKET_STATUSES),
        Field("csat_score", "INTEGER", min_value=1, max_value=5),
        Field("body", "VARCHAR", text=True),
    ),
)

CRM_ACCOUNTS = Entity(
    source="crm",
    name="accounts",
    file_name="accounts.csv",
    format="csv",
    key=("account_id",),
    changes_only=True,
    fields=(
        Field("account_id", "VARCHAR", required=True),
        Field("account_name", "VARCHAR", required=True),
        Field("industry", "VARCHAR", allowed=INDUSTRIES),
        Field("segment", "VARCHAR", required=True, allowed=SEGMENTS),
        Field("region", "VARCHAR", allowed=REGIONS),
        Field("tier", "VARCHAR", required=True, allowed=TIERS),
        Field("owner", "VARCHAR"),
        Field("created_date", "DATE", required=True),
        Field("status", "VARCHAR", required=True, allowed=ACCOUNT_STATUSES),
        Field("billing_email", "VARCHAR", pii="email"),
    ),
)

CRM_CONTACTS = Entity(
    source="crm",
    name="contacts",
    file_name="contacts.csv",
    format="csv",
    key=("contact_id",),
    changes_only=True,
    fields=(
        Field("contact_id", "VARCHAR", required=True),
        Field("account_id", "VARCHAR", required=True),
        Field("first_name", "VARCHAR", pii="name"),
        Field("last_name", "VARCHAR", pii="name"),
        Field("email", "VARCHAR", required=True, pii="email"),
        Field("phone", "VARCHAR", pii="phone"),
        Field("title", "VARCHAR"),
        Field("is_primary", "BOOLEAN"),
    ),
)

CRM_SUBSCRIPTIONS = Entity(
    source="crm",
    name="subscriptions",
    file_name="subscriptions.csv",
    format="csv",
    key=("subscription_id",),
    changes_only=True,
    fields=(
        Field("subscription_id", "VARCHAR", required=True),
        Field("account_id", "VARCHAR", required=True),
        Field("plan", "VARCHAR", required=True, allowed=PLANS),
        Field("seats", "INTEGER", required=True, min_value=0),
        Field("arr", "DOUBLE", required=True, min_value=0),
        Field("start_date", "DATE", required=True),
        Field("renewal_date", "DATE", required=True),
        Field("status", "VARCHAR", required=True, allowed=SUBSCRIPTION_STATUSES),
        Field("cancelled_at", "DATE"),
        Field("auto_renew", "BOOLEAN"),
    ),
)

TELEMETRY_EVENTS_ENTITY = Entity(
    source="telemetry",
    name="events",
    file_name="events.parquet",
    format="parquet",
    key=("message_id",),
    event_time="timestamp",
    fields=(
        Field("message_id", "VARCHAR", required=True),
        Field("timestamp", "TIMESTAMP", required=True),
        Field("account_id", "VARCHAR", required=True),
        Field("user_id", "VARCHAR", required=True, hash_if_email=True),
        Field("event", "VARCHAR", required=True, allowed=TELEMETRY_EVENT_VALUES),
        Field("feature", "VARCHAR"),
        Field("platform", "VARCHAR", allowed=PLATFORM_VALUES),
        Field("error_code", "VARCHAR"),
    ),
)

# Business-hours schedules of the source (Zendesk's `schedule` / `schedule_holiday`), as a
# daily snapshot like the CRM's: every landing day carries the whole current set. Optional:
# the native helpdesk has none (its tickets follow the per-tier clock of the business_hours
# seed). Minutes are minutes of the week from Sunday 00:00 in the schedule's IANA zone.
HELPDESK_SCHEDULES = Entity(
    source="helpdesk",
    name="schedules",
    file_name="schedules.csv",
    format="csv",
    key=("schedule_id", "start_minute"),
    optional=True,
    fields=(
        Field("schedule_id", "VARCHAR", required=True),
        Field("schedule_name", "VARCHAR"),
        Field("time_zone", "VARCHAR", required=True),
        Field("start_minute", "INTEGER", required=True, min_value=0, max_value=10080),
        Field("end_minute", "INTEGER", required=True, min_value=0, max_value=10080),
    ),
)

HELPDESK_SCHEDULE_HOLIDAYS = Entity(
    source="helpdesk",
    name="schedule_holidays",
    file_name="schedule_holidays.csv",
    format="csv",
    key=("schedule_id", "start_date"),
    optional=True,
    fields=(
        Field("schedule_id", "VARCHAR", required=True),
        Field("start_date", "DATE", required=True),
        Field("end_date", "DATE", required=True),
        Field("holiday_name", "VARCHAR"),
    ),
)

# Optional reference entities: loaded by their own ingestion assets, not part of the
# generated world (ENTITIES), so quality suites and the generator's shapes are unchanged.
REFERENCE_ENTITIES: tuple[Entity, ...] = (HELPDESK_SCHEDULES, HELPDESK_SCHEDULE_HOLIDAYS)

ENTITIES: tuple[Entity, ...] = (
    HELPDESK_TICKETS,
    HELPDESK_TICKET_EVENTS,
    CRM_ACCOUNTS,
    CRM_CONTACTS,
    CRM_SUBSCRIPTIONS,
    TELEMETRY_EVENTS_ENTITY,
)
ENTITIES_BY_TABLE = {e.table: e for e in ENTITIES}
LOADED_ENTITIES: tuple[Entity, ...] = (*ENTITIES, *REFERENCE_ENTITIES)
"""Every entity with an ingestion asset."""
LANDING_SOURCES = tuple(dict.fromkeys(e.source for e in ENTITIES))


def landing_path(landing_root: str, entity: Entity, day: str) -> str:
    """`<root>/<source>/<YYYY-MM-DD>/<file>`: the one place the landing layout is spelled."""
    return f"{landing_root}/{entity.source}/{day}/{entity.file_name}"


# Fault kinds the generator can inject, and the quarantine reason code each must produce.
# `late_arrival` rows are valid data: they load (flagged late), they are not quarantined.
FAULT_KINDS = (
    "duplicate",
    "null_required",
    "bad_timestamp",
    "unknown_enum",
    "renamed_column",
    "late_arrival",
)
