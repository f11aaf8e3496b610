"""The generated CRM as Fivetran's Salesforce connector would land it, with history mode.

Reads the native daily snapshots `landing/crm/<day>/accounts.csv`, `contacts.csv` and
`subscriptions.csv` and writes `account.parquet`, `contact.parquet` and
`opportunity.parquet`, set-based in DuckDB. `extracts.sources.salesforce_fivetran` maps them
back to the same snapshots:

- `account` keeps the native `account_id` as its Salesforce `id` (so the Zendesk generator's
  organizations still join) and has one version per change between consecutive snapshots
  (`_fivetran_start` at noon of the day the change shows, the first version at midnight of
  the first day: the day history mode was switched on). Segment, tier and region ride on the
  custom fields `segment_c`, `support_tier_c` and `region_c` as picklist labels, industry on
  the standard picklist (`Technology` for software), `type` is `Customer` or
  `Former Customer` (so churn makes a version, as it would in a real org); the owner label is
  the owner's user id.
- `contact`: one row per contact, created the first day it shows; one that disappears is
  soft-deleted.
- `opportunity`: the subscription state of the first day is a closed-won `New Customer` (or
  `Renewal` when the term began a year or more after the account was created) closed at the
  term start; a later term start is a closed-won `Renewal`; a plan, seat or ARR change
  within a term an `Existing Customer - Upgrade`/`- Downgrade`, closed the day it shows; a
  cancellation a `Closed Lost - Cancelled` renewal closed on the cancellation day; a
  non-renewal a `Closed Lost` renewal closed on the renewal date.

Deterministic: the same landing files give the same tables (one thread, ordered writes).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from extracts.contracts import CRM_ACCOUNTS, CRM_CONTACTS, CRM_SUBSCRIPTIONS, Entity
from extracts.generator.writers import write_parquet_tables
from extracts.sources.connector import quote


def _read_native(con: duckdb.DuckDBPyConnection, landing: Path, entity: Entity, name: str) -> None:
    files = sorted((landing / entity.source).glob(f"*/{entity.file_name}"))
    if not files:
        raise FileNotFoundError(f"no {entity.file_name} under {landing / entity.source}")
    types = ", ".join(f"{quote(f.name)}: {quote(f.type)}" for f in entity.fields)
    listed = "[" + ", ".join(quote(str(f)) for f in files) + "]"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT * EXCLUDE (filename),
                   CAST(regexp_extract(filename, '/(\\d{{4}}-\\d{{2}}-\\d{{2}})/[^/]*$', 1) AS DATE)
                       AS day
            FROM read_csv({listed}, header=true, auto_detect=false, columns={{{types}}},
                          filename=true)"""
    )


def write(landing_dir: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Write the connector tables for the native CRM under `landing_dir`; rows per table."""
    landing, out = Path(landing_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute("SET TimeZone = 'UTC'")
        _read_native(con, landing, CRM_ACCOUNTS, "n_accounts")
        _read_native(con, landing, CRM_CONTACTS, "n_contacts")
        _read_native(con, landing, CRM_SUBSCRIPTIONS, "n_subscriptions")
        con.execute(
            """SET VARIABLE first_day = (SELECT min(day) FROM n_accounts);
               SET VARIABLE synced = (SELECT max(day) FROM n_accounts) + INTERVAL 23 HOUR
                                      + INTERVAL 30 MINUTE;"""
        )
        con.execute(
            """
            CREATE TEMP TABLE f_account AS
            WITH labelled AS (
                SELECT account_id AS id, account_name AS name,
                       CASE industry WHEN 'software' THEN 'Technology'
                            ELSE upper(industry[1]) || industry[2:] END AS industry,
                       CASE segment WHEN 'smb' THEN 'SMB' WHEN 'mid_market' THEN 'Mid-Market'
                            ELSE 'Enterprise' END AS segment_c,
                       upper(region) AS region_c,
                       CASE tier WHEN 'vip' THEN 'VIP' ELSE 'Standard' END AS support_tier_c,
                       owner AS owner_id, created_date::TIMESTAMP + INTERVAL 9 HOUR AS created_date,
                       CASE status WHEN 'churned' THEN 'Former Customer' ELSE 'Customer' END
                           AS type,
                       billing_email AS billing_email_c, day
                FROM n_accounts),
            changes AS (
                SELECT *, lag(now) OVER w AS before
                FROM (SELECT *, hash(name, industry, segment_c, region_c, support_tier_c, owner_id,
                                     created_date, type, billing_email_c) AS now
                      FROM labelled)
                WINDOW w AS (PARTITION BY id ORDER BY day)),
            versions AS (
                SELECT * EXCLUDE (before, now),
                       CASE WHEN day = getvariable('first_day') THEN day::TIMESTAMP
                            ELSE day + INTERVAL 12 HOUR END AS _fivetran_start
                FROM changes WHERE before IS NULL OR before <> now)
            SELECT * EXCLUDE (day),
                   coalesce(lead(_fivetran_start) OVER w - INTERVAL 1 MILLISECOND,
                            TIMESTAMP '9999-12-31 23:59:59') AS _fivetran_end,
                   lead(_fivetran_start) OVER w IS NULL AS _fivetran_active,
                   _fivetran_start AS _fivetran_synced, false AS is_deleted
            FROM versions WINDOW w AS (PARTITION BY id ORDER BY _fivetran_start);

            CREATE TEMP TABLE f_contact AS
            SELECT contact_id AS id, account_id, first_name, last_name, email, phone, title,
                   is_primary AS is_primary_c,
                   min(day) OVER (PARTITION BY contact_id)::TIMESTAMP AS created_date,
                   max(day) OVER (PARTITION BY contact_id)
                       < (SELECT max(day) FROM n_contacts) AS _fivetran_deleted,
                   false AS is_deleted, getvariable('synced') AS _fivetran_synced
            FROM n_contacts
            QUALIFY row_number() OVER (PARTITION BY contact_id ORDER BY day DESC) = 1;

            CREATE TEMP TABLE f_opportunity AS
            WITH s AS (
                SELECT n.*, a.created_date AS account_created,
                       lag(n.start_date) OVER w AS prev_start,
                       lag(n.status) OVER w AS prev_status,
                       lag(n.arr) OVER w AS prev_arr,
                       lag(hash(n.plan, n.seats, n.arr, n.auto_renew)) OVER w AS prev_deal,
                       hash(n.plan, n.seats, n.arr, n.auto_renew) AS deal
                FROM n_subscriptions n
                JOIN n_accounts a USING (account_id, day)
                WINDOW w AS (PARTITION BY n.subscription_id ORDER BY n.day)),
            won AS (
                SELECT *,
                       CASE WHEN prev_start IS NULL AND start_date - INTERVAL 1 YEAR >= account_created
                                 THEN 'Renewal'
                            WHEN prev_start IS NULL THEN 'New Customer'
                            WHEN start_date <> prev_start THEN 'Renewal'
                            WHEN arr >= prev_arr THEN 'Existing Customer - Upgrade'
                            ELSE 'Existing Customer - Downgrade' END AS type,
                       CASE WHEN prev_start IS NULL THEN least(start_date, day) ELSE day END
                           AS close_day
                FROM s
                WHERE prev_start IS NULL
                   OR (coalesce(prev_status, 'active') = 'active' AND status = 'active'
                       AND (start_date <> prev_start OR deal <> prev_deal))),
            lost AS (
                SELECT *, 'Renewal' AS type,
                       CASE status WHEN 'cancelled' THEN 'Closed Lost - Cancelled'
                            ELSE 'Closed Lost' END AS stage_name,
                       CASE status WHEN 'cancelled' THEN coalesce(cancelled_at, day)
                            ELSE renewal_date END AS close_day
                FROM s
                WHERE status <> 'active' AND coalesce(prev_status, 'active') = 'active'),
            opportunities AS (
                SELECT subscription_id, account_id, type, 'Closed Won' AS stage_name,
                       true AS is_won, arr AS amount, plan, seats, start_date, renewal_date,
                       auto_renew, close_day, day
                FROM won
                UNION ALL
                SELECT subscription_id, account_id, type, stage_name, false, NULL, NULL, NULL,
                       NULL, NULL, NULL, close_day, day
                FROM lost)
            SELECT '006' || lpad(row_number() OVER (ORDER BY day, subscription_id, is_won DESC)::VARCHAR,
                                 15, '0') AS id,
                   account_id, subscription_id AS subscription_id_c, type,
                   account_id || ' - ' || type AS name, stage_name, true AS is_closed, is_won,
                   CASE WHEN is_won THEN 100.0 ELSE 0.0 END AS probability,
                   amount, close_day::TIMESTAMP AS close_date,
                   close_day::TIMESTAMP + INTERVAL 10 HOUR AS created_date,
                   upper(plan[1]) || plan[2:] AS plan_c, seats::DOUBLE AS seats_c,
                   start_date AS start_date_c, renewal_date AS renewal_date_c,
                   auto_renew AS auto_renew_c, false AS is_deleted,
                   getvariable('synced') AS _fivetran_synced
            FROM opportunities;
            """
        )
        tables = {
            "account": "SELECT * FROM f_account ORDER BY id, _fivetran_start",
            "contact": "SELECT * FROM f_contact ORDER BY id",
            "opportunity": "SELECT * FROM f_opportunity ORDER BY id",
        }
        return write_parquet_tables(con, out, tables)
    finally:
        con.close()
