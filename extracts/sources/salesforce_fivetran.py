"""Salesforce as Fivetran lands it, mapped onto the native CRM daily snapshots.

The native CRM source is a daily full snapshot (`crm/<day>/accounts.csv`, `contacts.csv`,
`subscriptions.csv`); Salesforce is a set of current records plus, with Fivetran's history
mode, dated versions. `convert_to_landing` rebuilds one snapshot per day, set-based in DuckDB,
from the connector tables `account`, `contact` and `opportunity` (Fivetran's column names:
lower case, a custom field `Segment__c` lands as `segment_c`). Ingestion then applies the
native contracts and hashes the `pii=` fields (names, emails, phones pass through to the
landing files unchanged and are never logged here).

Mapping (the knobs are in `SalesforceFivetranConfig`):

- Accounts. With history mode (`_fivetran_start`/`_fivetran_end`/`_fivetran_active` on
  `account`) the snapshot of day D holds each account's version active at the end of D, so
  a tier change lands on the day it happened. Without it every day gets the latest version:
  account changes are dated at the sync, not when they happened. A version with
  `is_deleted` or `_fivetran_deleted` is no account. The landing `account_id` is the
  Salesforce `id` unless `account_id_field` names another column (it must be what the
  helpdesk's organizations carry, e.g. Zendesk `organization.external_id`; an account
  lands with its latest value on every day, empty -> the Salesforce id, counted). Segment, tier
  and region come from configurable custom fields, industry from the standard picklist
  (`Technology` -> `software`); unknown values fall back, counted in the result: segment to
  the `number_of_employees` band, else `default_segment` (the contract has no `other`
  segment and segment is required); tier to `standard` (a VIP SLA is only promised when the
  CRM says so); region and industry to empty (both are optional, so empty is the honest
  "unknown"). `owner` is the owner's Salesforce user id (not the user's name: that would put
  a person's name in the warehouse in clear). An account is in a day's snapshot once it was
  created and has a subscription (a closed-won opportunity): prospects are not customers.
  Its status is `churned` when none of its subscriptions is active that day; its contacts
  and subscriptions are in the snapshots of the days it is.
- Contacts: current, not deleted, with an email (the contract requires one; others are
  counted and skipped), of an account in that day's snapshot, from their created day.
- Subscriptions from opportunities, one subscription per `subscription_id_field` value
  (default: one per account). Opportunity `type` gives its kind: new business, renewal or a
  mid-term change (upgrade/downgrade); other types are ignored (counted). On day D:
  plan, seats, ARR and auto-renew come from the latest closed-won opportunity of any kind
  closed by D; the term (start and renewal date) from the latest closed-won new or renewal
  one (its start/renewal fields, else close date and close date + `term_months`). A
  closed-lost renewal closed by D and not before the term's deal churns the subscription:
  `cancelled` (cancelled_at = close date) when it closed before the renewal date or its stage
  is one of `cancel_stages`, else `expired` (a non-renewal at the term's end, no
  cancelled_at). A term past its renewal date with the renewal still open stays `active`.
  ARR is the opportunity's `arr_field` (default `amount`), else the account's
  `account_arr_field`, else 0 (counted); unknown plans become `default_plan`, missing seats 0 (counted).
- Days: every day from the first to the last day the export covers: `first_day` and
  `last_day` when configured, else from the history start (the earliest `_fivetran_start`;
  without history mode the earliest account `created_date`) to the sync day (the latest
  `_fivetran_synced`). Only days whose rows changed since the last load are rewritten.
- Syncs: every synced row is archived under `<landing>/crm/_synced/` (the shared
  connector archive), so an export holding only the latest changes (an incremental drop)
  adds to the earlier syncs; of several copies of a record (or of a history-mode version)
  the latest `_fivetran_synced` wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from extracts.contracts import (
    CRM_ACCOUNTS,
    CRM_CONTACTS,
    CRM_SUBSCRIPTIONS,
    INDUSTRIES,
    PLANS,
    REGIONS,
    SEGMENTS,
    TIERS,
    Entity,
)
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

KIND = "salesforce_fivetran"
LANDING_SOURCE = CRM_ACCOUNTS.source

DEFAULT_SEGMENT_MAP: dict[str, str] = {
    "small business": "smb",
    "small": "smb",
    "mid-market": "mid_market",
    "mid market": "mid_market",
    "midmarket": "mid_market",
    "commercial": "mid_market",
    "large enterprise": "enterprise",
}
DEFAULT_INDUSTRY_MAP: dict[str, str] = {
    "technology": "software",
    "banking": "finance",
    "financial services": "finance",
    "insurance": "finance",
}
DEFAULT_TIER_MAP: dict[str, str] = {"premium": "vip", "platinum": "vip", "basic": "standard"}
DEFAULT_REGION_MAP: dict[str, str] = {"north america": "na", "amer": "na", "latin america": "latam"}


@dataclass(frozen=True)
class SalesforceFivetranConfig(connector.MappingConfig):
    """How a Salesforce org's conventions map onto supportops. Every field has a default."""

    kind = KIND

    account_id_field: str = "id"
    """`account` column holding the id the helpdesk knows the account by."""
    segment_field: str = "segment_c"
    segment_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SEGMENT_MAP))
    employee_bands: tuple[int, int] = (100, 1000)
    """Segment fallback from `number_of_employees`: below the first smb, below the second
    mid_market, else enterprise."""
    default_segment: str = "smb"
    tier_field: str = "support_tier_c"
    tier_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TIER_MAP))
    region_field: str = "region_c"
    region_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_REGION_MAP))
    industry_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_INDUSTRY_MAP))
    billing_email_field: str = "billing_email_c"
    account_arr_field: str = "arr_c"
    """ARR kept on the account: the fallback of an opportunity without ARR."""
    primary_contact_field: str = "is_primary_c"
    subscription_id_field: str = "subscription_id_c"
    """Opportunity column grouping opportunities into subscriptions; absent or empty: one
    subscription per account, its id the account id."""
    plan_field: str = "plan_c"
    plan_map: Mapping[str, str] = field(default_factory=dict)
    default_plan: str = "starter"
    """Plan of a won opportunity whose plan is unknown (the contract has no `other` plan):
    the entry plan claims no entitlement the customer may not have. Counted."""
    seats_field: str = "seats_c"
    arr_field: str = "amount"
    start_date_field: str = "start_date_c"
    renewal_date_field: str = "renewal_date_c"
    term_months: int = 12
    auto_renew_field: str = "auto_renew_c"
    new_types: tuple[str, ...] = ("New Customer", "New Business")
    renewal_types: tuple[str, ...] = ("Renewal", "Existing Customer - Renewal")
    change_types: tuple[str, ...] = (
        "Existing Customer - Upgrade",
        "Existing Customer - Downgrade",
        "Upgrade",
        "Downgrade",
        "Expansion",
    )
    cancel_stages: tuple[str, ...] = ("Closed Lost - Cancelled", "Cancelled")
    first_day: str | dt.date | None = None
    last_day: str | dt.date | None = None
    schema: str | None = None
    """For a DuckDB-database source holding several connectors: the schema of this one."""


Config = SalesforceFivetranConfig

_SYNC = (
    " is_deleted:BOOLEAN _fivetran_synced:TIMESTAMP _fivetran_deleted:BOOLEAN"
    " _fivetran_start:TIMESTAMP _fivetran_end:TIMESTAMP _fivetran_active:BOOLEAN"
)
# Keyed by (id, _fivetran_start): the reader keeps one row per history-mode version (the
# latest synced copy of it) and, without history mode (no _fivetran_start), one per record.
TABLES: tuple[Table, ...] = (
    Table(
        "account",
        columns(
            "id:VARCHAR! name:VARCHAR! created_date:TIMESTAMP! industry:VARCHAR type:VARCHAR "
            "owner_id:VARCHAR number_of_employees:BIGINT" + _SYNC
        ),
        key=("id", "_fivetran_start"),
        required=True,
    ),
    Table(
        "contact",
        columns(
            "id:VARCHAR! account_id:VARCHAR! first_name:VARCHAR last_name:VARCHAR email:VARCHAR "
            "phone:VARCHAR title:VARCHAR created_date:TIMESTAMP" + _SYNC
        ),
        key=("id", "_fivetran_start"),
        required=True,
    ),
    Table(
        "opportunity",
        columns(
            "id:VARCHAR! account_id:VARCHAR! amount:DOUBLE close_date:TIMESTAMP! "
            "stage_name:VARCHAR is_won:BOOLEAN! is_closed:BOOLEAN! type:VARCHAR "
            "created_date:TIMESTAMP" + _SYNC
        ),
        key=("id", "_fivetran_start"),
        required=True,
    ),
)

# (table, config knob, type, what is lost without the column)
_CUSTOM: tuple[tuple[str, str, str, str], ...] = (
    ("account", "segment_field", "VARCHAR", "segment from number_of_employees, else the default"),
    ("account", "tier_field", "VARCHAR", "every account is tier standard (no VIP SLA)"),
    ("account", "region_field", "VARCHAR", "region is empty: no breakdown by region"),
    ("account", "billing_email_field", "VARCHAR", "billing_email is empty"),
    ("account", "account_arr_field", "DOUBLE", "no account-level ARR fallback"),
    ("contact", "primary_contact_field", "VARCHAR", "is_primary is empty"),
    ("opportunity", "subscription_id_field", "VARCHAR", "one subscription per account"),
    ("opportunity", "plan_field", "VARCHAR", "every subscription gets the default plan"),
    ("opportunity", "seats_field", "DOUBLE", "seats are 0: no seat-based features"),
    ("opportunity", "start_date_field", "TIMESTAMP", "a term starts at its close date"),
    ("opportunity", "renewal_date_field", "TIMESTAMP", "renewal = start + term_months"),
    ("opportunity", "auto_renew_field", "VARCHAR", "auto_renew is empty"),
    ("opportunity", "arr_field", "DOUBLE", "ARR from the account's ARR field, else 0"),
)


def _custom_columns(config: SalesforceFivetranConfig) -> dict[str, list[Column]]:
    """Configured columns per table, leaving out the ones a table declares already."""
    extra: dict[str, list[Column]] = {}
    declared = {t.name: {c.name for c in t.columns} for t in TABLES}
    for table, knob, type_, _ in _CUSTOM:
        name = getattr(config, knob)
        if (
            name
            and name not in declared[table]
            and name not in {c.name for c in extra.get(table, [])}
        ):
            extra.setdefault(table, []).append(Column(name, type_))
    if config.account_id_field not in declared["account"]:
        extra.setdefault("account", []).append(Column(config.account_id_field, "VARCHAR"))
    return extra


def _tables(config: SalesforceFivetranConfig) -> tuple[Table, ...]:
    """The declared tables with the configured columns (checked for type like the others)."""
    extra = _custom_columns(config)
    return tuple(replace(t, columns=t.columns + tuple(extra.get(t.name, ()))) for t in TABLES)


def open_export(
    con: duckdb.DuckDBPyConnection,
    source: str | Path,
    config: SalesforceFivetranConfig,
    archive: Path | None = None,
) -> Export:
    """`sf_src_<table>` (as read) and `sf_<table>` (typed, one row per version); with
    `archive`, every synced row is kept there, so an incremental drop still gives the whole
    state (see `connector.open_export`)."""
    return connector.open_export(con, source, _tables(config), "sf_", None, config.schema, archive)


def _config_errors(config: SalesforceFivetranConfig) -> list[str]:
    """Map targets and defaults outside the contract's values, named by knob."""
    errors = []
    for name, allowed in (
        ("segment_map", SEGMENTS),
        ("tier_map", TIERS),
        ("region_map", REGIONS),
        ("industry_map", INDUSTRIES),
        ("plan_map", PLANS),
    ):
        bad = sorted({v for v in getattr(config, name).values() if v not in allowed})
        if bad:
            errors.append(f"config {name}: {bad} not among {list(allowed)}")
    for name, allowed in (("default_segment", SEGMENTS), ("default_plan", PLANS)):
        if getattr(config, name) not in allowed:
            errors.append(f"config {name}: {getattr(config, name)!r} not among {list(allowed)}")
    return errors


def _history_mode(export: Export) -> bool:
    return "_fivetran_start" in export.present.get("account", [])


def check_export(source: str | Path, config: SalesforceFivetranConfig | None = None) -> CheckReport:
    """Missing tables and columns, bad types, and what the mapping will lack."""
    config = config or SalesforceFivetranConfig()
    report = CheckReport(Path(source))
    report.errors += _config_errors(config)
    if report.errors:
        return report
    con = duckdb.connect()
    try:
        try:
            export = open_export(con, source, config)
        except (FileNotFoundError, duckdb.Error, ValueError) as exc:
            report.errors.append(str(exc).splitlines()[0])
            return report
        connector.check_tables(con, export, _tables(config), report)
        if config.account_id_field != "id" and config.account_id_field not in export.present.get(
            "account", [config.account_id_field]
        ):
            report.errors.append(
                f"table account: column {config.account_id_field} missing (the configured "
                "account_id_field)"
            )
        if report.errors:
            return report
        for table, knob, _, without in _CUSTOM:
            name = getattr(config, knob)
            if name not in export.present.get(table, []):
                report.unavailable.append((f"{table}.{name}", without))
        if not _history_mode(export):
            report.unavailable.append(
                (
                    "account history",
                    "no history mode on table account (_fivetran_start/_fivetran_end): "
                    "account changes are dated at the sync, not when they happened",
                )
            )
        _prepare(con, config, _history_mode(export))
        no_subscription, unknown_types = con.execute(
            """SELECT (SELECT count(DISTINCT sf_id) FROM _sf_account_versions
                       WHERE sf_id NOT IN (SELECT sf_account_id FROM _sf_won)),
                      (SELECT count(*) FROM _sf_opps WHERE kind IS NULL)"""
        ).fetchone()
        if no_subscription:
            report.warnings.append(
                f"{no_subscription} account(s) have no closed-won opportunity of a known type: "
                "not customers, left out of the snapshots"
            )
        if unknown_types:
            report.warnings.append(
                f"{unknown_types} opportunity(ies) have a type that is neither new business, "
                "renewal nor change (new_types, renewal_types, change_types): ignored"
            )
        first, last = _day_range(con, config, _history_mode(export))
        if first is not None and last is not None:
            report.warnings.append(f"days {first}..{last}: {(last - first).days + 1} snapshots")
        return report
    finally:
        con.close()


def _map_case(raw: str, mapping: Mapping[str, str], allowed: tuple[str, ...]) -> str:
    """SQL: the mapped value of `raw` (lower-cased), or `raw` when allowed, else NULL."""
    whens = " ".join(f"WHEN {quote(k.lower())} THEN {quote(v)}" for k, v in mapping.items())
    mapped = f"CASE {raw} {whens} END" if whens else "NULL"
    return f"coalesce({mapped}, CASE WHEN {raw} IN {sql_list(allowed)} THEN {raw} END)"


def _prepare(
    con: duckdb.DuckDBPyConnection, config: SalesforceFivetranConfig, history: bool
) -> None:
    """Account versions with their mapped attributes, current contacts, typed opportunities."""
    low = "lower(trim({}))"
    raw_segment = low.format(ident(config.segment_field))
    raw_tier = low.format(ident(config.tier_field))
    raw_region = low.format(ident(config.region_field))
    small, large = (int(x) for x in config.employee_bands)
    if history:
        versions = """
            SELECT *, _fivetran_start AS valid_from,
                   coalesce(_fivetran_end, TIMESTAMP '9999-12-31 23:59:59') AS valid_to
            FROM sf_account"""
    else:
        versions = """
            SELECT *, TIMESTAMP '0001-01-01' AS valid_from, TIMESTAMP '9999-12-31 23:59:59' AS valid_to
            FROM sf_account"""
    # A version is the account at the end of the days from its start to the day before the
    # next version starts; a deleted record's last version ends at the deletion.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _sf_account_versions AS
            WITH v AS ({versions}),
            spans AS (
                SELECT *, lead(valid_from) OVER (PARTITION BY id ORDER BY valid_from) AS next_from
                FROM v WHERE id IS NOT NULL)
            SELECT id AS sf_id,
                   coalesce(nullif(trim({ident(config.account_id_field)}::VARCHAR), ''), id)
                       AS account_id,
                   nullif(trim({ident(config.account_id_field)}::VARCHAR), '') IS NULL
                       AS no_account_id,
                   name AS account_name, created_date::DATE AS created_date,
                   {low.format("industry")} AS raw_industry,
                   {_map_case(low.format("industry"), config.industry_map, INDUSTRIES)} AS industry,
                   {raw_segment} AS raw_segment,
                   {_map_case(raw_segment, config.segment_map, SEGMENTS)} AS field_segment,
                   CASE WHEN number_of_employees < {small} THEN 'smb'
                        WHEN number_of_employees < {large} THEN 'mid_market'
                        WHEN number_of_employees >= {large} THEN 'enterprise' END AS band_segment,
                   {raw_region} AS raw_region,
                   {_map_case(raw_region, config.region_map, REGIONS)} AS region,
                   {raw_tier} AS raw_tier,
                   {_map_case(raw_tier, config.tier_map, TIERS)} AS tier,
                   owner_id AS owner,
                   {ident(config.billing_email_field)}::VARCHAR AS billing_email,
                   {ident(config.account_arr_field)}::DOUBLE AS account_arr,
                   coalesce(is_deleted, false) OR coalesce(_fivetran_deleted, false) AS deleted,
                   (CASE WHEN valid_from = TIMESTAMP '0001-01-01' THEN DATE '0001-01-01'
                         ELSE valid_from::DATE END) AS from_day,
                   least(coalesce(next_from - INTERVAL 1 DAY, TIMESTAMP '9999-12-30'),
                         valid_to + INTERVAL 1 MILLISECOND - INTERVAL 1 DAY)::DATE AS to_day
            FROM spans"""
    )
    current = (
        "QUALIFY row_number() OVER (PARTITION BY id ORDER BY coalesce(_fivetran_active, true) DESC, "
        "_fivetran_start DESC NULLS LAST, _fivetran_synced DESC NULLS LAST) = 1"
    )
    alive = (
        "NOT coalesce(is_deleted, false) AND NOT coalesce(_fivetran_deleted, false) "
        "AND coalesce(_fivetran_active, true)"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _sf_contacts AS
            SELECT * FROM (
                SELECT id AS contact_id, account_id AS sf_account_id, first_name, last_name,
                       email, phone, title,
                       CASE lower(trim({ident(config.primary_contact_field)}::VARCHAR))
                            WHEN 'true' THEN true WHEN '1' THEN true
                            WHEN 'false' THEN false WHEN '0' THEN false END AS is_primary,
                       created_date::DATE AS created_day,
                       {alive} AS alive
                FROM sf_contact WHERE id IS NOT NULL {current})"""
    )

    def kinds(types: tuple[str, ...]) -> str:
        return sql_list(tuple(t.lower() for t in types))

    start = f"coalesce({ident(config.start_date_field)}::DATE, close_date::DATE)"
    raw_plan = f"lower(trim({ident(config.plan_field)}::VARCHAR))"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _sf_opps AS
            SELECT id AS opp_id, account_id AS sf_account_id,
                   nullif(trim({ident(config.subscription_id_field)}::VARCHAR), '') AS sub_field,
                   CASE WHEN lower(trim(type)) IN {kinds(config.new_types)} THEN 'new'
                        WHEN lower(trim(type)) IN {kinds(config.renewal_types)} THEN 'renewal'
                        WHEN lower(trim(type)) IN {kinds(config.change_types)} THEN 'change'
                   END AS kind,
                   coalesce(is_won, false) AND coalesce(is_closed, true) AS won,
                   coalesce(is_closed, false) AND NOT coalesce(is_won, false) AS lost,
                   stage_name IN {sql_list(config.cancel_stages)} AS cancel_stage,
                   close_date::DATE AS close_day, created_date,
                   {raw_plan} AS raw_plan,
                   {_map_case(raw_plan, config.plan_map, PLANS)}
                       AS plan,
                   round({ident(config.seats_field)}::DOUBLE)::INTEGER AS seats,
                   {ident(config.arr_field)}::DOUBLE AS arr,
                   {start} AS start_date,
                   coalesce({ident(config.renewal_date_field)}::DATE,
                            ({start} + INTERVAL {int(config.term_months)} MONTH)::DATE) AS renewal_date,
                   CASE lower(trim({ident(config.auto_renew_field)}::VARCHAR))
                        WHEN 'true' THEN true WHEN '1' THEN true
                        WHEN 'false' THEN false WHEN '0' THEN false END AS auto_renew
            FROM sf_opportunity
            WHERE id IS NOT NULL AND {alive} {current}"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _sf_account_ids AS
           SELECT sf_id, arg_max(account_id, from_day) AS account_id
           FROM _sf_account_versions GROUP BY sf_id"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _sf_won AS
           SELECT o.*, coalesce(o.sub_field, a.account_id) AS subscription_id
           FROM _sf_opps o
           JOIN _sf_account_ids a
             ON a.sf_id = o.sf_account_id
           WHERE o.won AND o.kind IS NOT NULL"""
    )


def _synced_through(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The export's sync watermark: the latest `_fivetran_synced` of its three tables."""
    return con.execute(
        """SELECT max(s) FROM (
               SELECT max(_fivetran_synced) AS s FROM sf_account
               UNION ALL SELECT max(_fivetran_synced) FROM sf_contact
               UNION ALL SELECT max(_fivetran_synced) FROM sf_opportunity)"""
    ).fetchone()[0]


def _day_range(
    con: duckdb.DuckDBPyConnection, config: SalesforceFivetranConfig, history: bool
) -> tuple[dt.date | None, dt.date | None]:
    """Configured days, else history start (or first created day) to the sync day."""
    start = "min(_fivetran_start)" if history else "min(created_date)"
    first = con.execute(f"SELECT {start}::DATE FROM sf_account").fetchone()[0]
    synced = _synced_through(con)
    last = synced.date() if synced else None
    if config.first_day:
        first = dt.date.fromisoformat(str(config.first_day))
    if config.last_day:
        last = dt.date.fromisoformat(str(config.last_day))
    return first, last


def _snapshots(con: duckdb.DuckDBPyConnection, config: SalesforceFivetranConfig) -> None:
    """`_sf_subscription_days`, `_sf_account_days`, `_sf_contact_days`: the daily snapshots."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _sf_subscription_days AS
            WITH ordered AS (
                SELECT *, row_number() OVER (
                           PARTITION BY subscription_id ORDER BY close_day, created_date, opp_id) AS n
                FROM _sf_won),
            deals AS (
                SELECT *, coalesce(lead(close_day) OVER w - 1, DATE '9999-12-30') AS until_day
                FROM ordered WINDOW w AS (PARTITION BY subscription_id ORDER BY n)),
            terms AS (
                SELECT subscription_id, close_day AS term_day, start_date, renewal_date,
                       coalesce(lead(close_day) OVER w - 1, DATE '9999-12-30') AS until_day
                FROM ordered WHERE kind IN ('new', 'renewal')
                WINDOW w AS (PARTITION BY subscription_id ORDER BY n)),
            daily AS (
                SELECT d._day, s.subscription_id, s.sf_account_id, s.plan, s.seats, s.arr,
                       s.auto_renew, s.close_day AS deal_day,
                       coalesce(t.term_day, s.close_day) AS term_day,
                       coalesce(t.start_date, s.start_date) AS start_date,
                       coalesce(t.renewal_date, s.renewal_date) AS renewal_date
                FROM _sf_days d
                JOIN deals s ON d._day BETWEEN s.close_day AND s.until_day
                LEFT JOIN terms t ON t.subscription_id = s.subscription_id
                                 AND d._day BETWEEN t.term_day AND t.until_day),
            lost AS (
                SELECT coalesce(o.sub_field, a.account_id) AS subscription_id, o.close_day,
                       o.cancel_stage
                FROM _sf_opps o
                JOIN _sf_account_ids a
                  ON a.sf_id = o.sf_account_id
                WHERE o.lost AND o.kind = 'renewal'),
            churn AS (
                SELECT y._day, y.subscription_id,
                       arg_min(l.close_day, l.close_day) AS lost_day,
                       arg_min(l.cancel_stage, l.close_day) AS cancel_stage
                FROM daily y JOIN lost l
                  ON l.subscription_id = y.subscription_id
                 AND l.close_day BETWEEN y.term_day AND y._day
                GROUP BY ALL)
            SELECT y.*, a.account_id, c.lost_day,
                   CASE WHEN c.lost_day IS NULL THEN 'active'
                        WHEN c.cancel_stage OR c.lost_day < y.renewal_date THEN 'cancelled'
                        ELSE 'expired' END AS status,
                   CASE WHEN c.cancel_stage OR c.lost_day < y.renewal_date THEN c.lost_day END
                       AS cancelled_at
            FROM daily y
            JOIN _sf_account_ids a
              ON a.sf_id = y.sf_account_id
            LEFT JOIN churn c USING (_day, subscription_id)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _sf_account_days AS
            -- one landing id per account on every day (the latest), as its contacts and
            -- subscriptions carry
            SELECT d._day, v.* REPLACE (i.account_id AS account_id),
                   coalesce(v.field_segment, v.band_segment, {quote(config.default_segment)})
                       AS segment,
                   CASE WHEN s.all_ended THEN 'churned' ELSE 'active' END AS status
            FROM _sf_days d
            JOIN _sf_account_versions v ON d._day BETWEEN v.from_day AND v.to_day
            JOIN _sf_account_ids i ON i.sf_id = v.sf_id
            JOIN (SELECT _day, sf_account_id, bool_and(status <> 'active') AS all_ended
                  FROM _sf_subscription_days GROUP BY ALL) s
              ON s._day = d._day AND s.sf_account_id = v.sf_id
            WHERE NOT v.deleted AND v.created_date <= d._day"""
    )
    # a deleted (or not yet created) account takes its subscriptions with it
    con.execute(
        """DELETE FROM _sf_subscription_days s WHERE NOT EXISTS (
               SELECT 1 FROM _sf_account_days a WHERE a._day = s._day AND a.sf_id = s.sf_account_id)"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _sf_contact_days AS
           SELECT a._day, a.account_id, c.*
           FROM _sf_contacts c
           JOIN _sf_account_days a ON a.sf_id = c.sf_account_id
           WHERE c.alive AND nullif(trim(c.email), '') IS NOT NULL
             AND coalesce(c.created_day, DATE '0001-01-01') <= a._day"""
    )


def _outputs() -> list[tuple[Entity, str]]:
    """One SELECT per CRM entity: its contract fields in order, then `_day`."""

    def select(entity: Entity, table: str, exprs: Mapping[str, str]) -> str:
        cols = ", ".join(f"{exprs.get(f.name, f.name)} AS {f.name}" for f in entity.fields)
        return f"SELECT {cols}, _day FROM {table}"

    return [
        (
            CRM_ACCOUNTS,
            select(CRM_ACCOUNTS, "_sf_account_days", {"tier": "coalesce(tier, 'standard')"}),
        ),
        (CRM_CONTACTS, select(CRM_CONTACTS, "_sf_contact_days", {})),
        (
            CRM_SUBSCRIPTIONS,
            select(CRM_SUBSCRIPTIONS, "_sf_subscription_days", {}),
        ),
    ]


@dataclass
class ConversionResult:
    landing_dir: Path
    first_day: dt.date | None
    last_day: dt.date | None
    synced_through: dt.datetime | None
    history_mode: bool
    changed_days: list[dt.date]
    """Days written because they are new or changed since the last load of this source."""
    accounts: int
    """Accounts in the last day's snapshot (likewise contacts and subscriptions)."""
    contacts: int
    subscriptions: int
    skipped: dict[str, int] = field(default_factory=dict)
    """Why rows were left out (deleted records, contacts without email, ...) -> count."""
    fallbacks: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per attribute: source value -> records mapped to the fallback."""

    def summary(self) -> str:
        mode = "history mode" if self.history_mode else "no history mode"
        return (
            f"{self.accounts:,} accounts, {self.contacts:,} contacts and "
            f"{self.subscriptions:,} subscriptions on the last day, days "
            f"{self.first_day}..{self.last_day} ({mode})"
        )

    def warnings(self) -> list[str]:
        """Values mapped to a fallback, and rows left out, with counts."""
        out = [
            f"{attribute}: {sum(counts.values()):,} mapped to the fallback ({counts})"
            for attribute, counts in self.fallbacks.items()
        ]
        out += [f"{why}: {n:,}" for why, n in self.skipped.items() if n]
        if not self.history_mode:
            out.append(
                "no history mode: account changes are dated at the sync, not when they happened"
            )
        return out


def _fallbacks(con: duckdb.DuckDBPyConnection, config: SalesforceFivetranConfig) -> dict:
    """Source value -> count of accounts (or won opportunities) given a fallback."""
    checks = (
        (
            "segment",
            "the number_of_employees band",
            "_sf_account_versions",
            "raw_segment",
            "field_segment IS NULL AND band_segment IS NOT NULL",
            "sf_id",
        ),
        (
            "segment",
            f"default segment {config.default_segment!r}",
            "_sf_account_versions",
            "raw_segment",
            "field_segment IS NULL AND band_segment IS NULL",
            "sf_id",
        ),
        (
            "account_id",
            "the Salesforce id",
            "_sf_account_versions",
            "'(none)'",
            "no_account_id",
            "sf_id",
        ),
        ("tier", "standard", "_sf_account_versions", "raw_tier", "tier IS NULL", "sf_id"),
        (
            "region",
            "empty",
            "_sf_account_versions",
            "raw_region",
            "region IS NULL AND raw_region IS NOT NULL",
            "sf_id",
        ),
        (
            "industry",
            "empty",
            "_sf_account_versions",
            "raw_industry",
            "industry IS NULL AND raw_industry IS NOT NULL",
            "sf_id",
        ),
        (
            "plan",
            f"default plan {config.default_plan!r}",
            "_sf_won",
            "raw_plan",
            "plan IS NULL",
            "opp_id",
        ),
        ("seats", "0", "_sf_won", "'(none)'", "seats IS NULL", "opp_id"),
        ("arr", "the account's ARR, else 0", "_sf_won", "'(none)'", "arr IS NULL", "opp_id"),
    )
    out: dict[str, dict[str, int]] = {}
    for attribute, fallback, table, raw, condition, key in checks:
        rows = con.execute(
            f"SELECT coalesce({raw}, '(none)'), count(DISTINCT {key}) FROM {table} "
            f"WHERE {condition} GROUP BY ALL HAVING count(*) > 0 ORDER BY 1"
        ).fetchall()
        if rows:
            out[f"{attribute} -> {fallback}"] = dict(rows)
    return out


def convert_to_landing(
    source: str | Path,
    landing_dir: str | Path,
    config: SalesforceFivetranConfig | None = None,
) -> ConversionResult:
    """Write the export as native CRM snapshots under `<landing_dir>/crm/<day>/`.

    Only days whose rows changed since the last load are rewritten
    (`connector.write_landing_days`); `changed_days` is what ingestion must reload.
    Raises ValueError naming the table and column when `check_export` finds an error."""
    config = config or SalesforceFivetranConfig()
    report = check_export(source, config)
    if not report.ok:
        raise ValueError("; ".join(report.errors))
    con = duckdb.connect()
    try:
        export = open_export(con, source, config, Path(landing_dir) / LANDING_SOURCE / "_synced")
        history = _history_mode(export)
        _prepare(con, config, history)
        fallbacks = _fallbacks(con, config)
        _apply_fallbacks(con, config)
        first, last = _day_range(con, config, history)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _sf_days AS SELECT CAST(d AS DATE) AS _day "
            "FROM generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY) AS g(d)",
            [first, last],
        )
        _snapshots(con, config)
        synced = _synced_through(con)
        skipped = dict(
            zip(
                (
                    "deleted accounts left out",
                    "deleted contacts left out",
                    "contacts without email left out",
                    "opportunities of an unknown type ignored",
                ),
                con.execute(
                    """SELECT
                         (SELECT count(*) FROM (
                              SELECT sf_id FROM _sf_account_versions GROUP BY sf_id
                              HAVING NOT bool_or(NOT deleted AND to_day >= DATE '9999-01-01'))),
                         (SELECT count(*) FROM _sf_contacts WHERE NOT alive),
                         (SELECT count(*) FROM _sf_contacts
                          WHERE alive AND nullif(trim(email), '') IS NULL),
                         (SELECT count(*) FROM _sf_opps WHERE kind IS NULL)"""
                ).fetchone(),
                strict=True,
            )
        )
        landed = connector.write_landing_days(
            con,
            landing_dir,
            LANDING_SOURCE,
            _outputs(),
            KIND,
            synced,
            {
                "deleted_accounts": skipped["deleted accounts left out"],
                "deleted_contacts": skipped["deleted contacts left out"],
            },
        )
        counts = con.execute(
            """SELECT (SELECT count(*) FROM _sf_account_days WHERE _day = $last),
                      (SELECT count(*) FROM _sf_contact_days WHERE _day = $last),
                      (SELECT count(*) FROM _sf_subscription_days WHERE _day = $last)""",
            {"last": last},
        ).fetchone()
        return ConversionResult(
            landing_dir=Path(landing_dir),
            first_day=landed.first_day,
            last_day=landed.last_day,
            changed_days=landed.changed,
            synced_through=synced,
            history_mode=history,
            accounts=counts[0],
            contacts=counts[1],
            subscriptions=counts[2],
            skipped=skipped,
            fallbacks=fallbacks,
        )
    finally:
        con.close()


def _apply_fallbacks(con: duckdb.DuckDBPyConnection, config: SalesforceFivetranConfig) -> None:
    """Unknown plan -> default plan, no seats -> 0, no ARR -> the account's ARR, else 0."""
    con.execute(
        f"""UPDATE _sf_won SET
                plan = coalesce(plan, {quote(config.default_plan)}),
                seats = coalesce(seats, 0),
                arr = coalesce(arr, (SELECT max_by(v.account_arr, v.from_day)
                                     FROM _sf_account_versions v
                                     WHERE v.sf_id = _sf_won.sf_account_id), 0)"""
    )
