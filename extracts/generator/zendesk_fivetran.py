"""The generated helpdesk as Fivetran's Zendesk Support connector would land it.

Reads the native `landing/helpdesk/<day>/` files of a generated world and writes one
Parquet file per connector table (`ticket`, `ticket_comment`, `ticket_field_history`,
`user`, `organization`, `organization_tag`, `group`, `ticket_tag`, `satisfaction_rating`,
`schedule`, `schedule_holiday`, `ticket_schedule`),
set-based in DuckDB. `extracts.sources.zendesk_fivetran` maps them back; what the Zendesk
shape cannot carry is said where it is lost:

- CSAT: Zendesk rates good/bad, so a 4-5 becomes `good` and a 1-3 `bad` (the satisfied
  share survives, the 1-5 score does not);
- handle seconds ride on the Time Tracking field `time_spent_last_update_sec`, set in the
  update of each public agent reply;
- escalations are moves to the groups `Tier 2` / `Tier 3` by the escalating agent, a bot
  hand-off is a move to `Tier 1` by the bot user;
- the description is the ticket's first comment, made by the requester at creation;
- business hours: the per-tier clock (dbt_project/seeds/business_hours.csv) becomes two
  Zendesk schedules in "UTC", `Tier vip` and `Tier standard`, and every ticket is put on its tier's
  one (`ticket_schedule`), so the schedule path must give the tier clock's minutes exactly.

Deterministic: the same landing files give the same tables (one thread, ordered writes).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from extracts.contracts import HELPDESK_TICKET_EVENTS, HELPDESK_TICKETS
from extracts.generator.writers import write_parquet_tables
from extracts.sources.connector import quote as _quote

# Zendesk `via_channel` per native channel (the adapter's default map inverts it).
VIA_CHANNEL = {
    "email": "email",
    "chat": "chat",
    "phone": "voice",
    "web": "web",
    "bot": "answer_bot",
}
TIME_SPENT_FIELD = "time_spent_last_update_sec"
BOT_NAME = "Answer Bot"

_USER_BASE, _AGENT_BASE, _BOT_ID = 361_000_000_000, 362_000_000_000, 363_000_000_001
_ORG_BASE, _GROUP_BASE = 370_000_000_000, 360_000_000_000
_SCHEDULE_IDS = {"vip": 380_000_000_001, "standard": 380_000_000_002}
BUSINESS_HOURS_SEED = Path(__file__).resolve().parents[2] / "dbt_project/seeds/business_hours.csv"
_DESCRIPTION_BASE, _COMMENT_BASE, _RATING_BASE = 10**12, 2 * 10**12, 3 * 10**12


def _read_native(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    for entity, name in ((HELPDESK_TICKETS, "n_tickets"), (HELPDESK_TICKET_EVENTS, "n_events")):
        files = sorted((landing / entity.source).glob(f"*/{entity.file_name}"))
        if not files:
            raise FileNotFoundError(f"no {entity.file_name} under {landing / entity.source}")
        columns = ", ".join(
            f"{_quote(f.name)}: {_quote('VARCHAR' if f.type == 'TIMESTAMP' else f.type)}"
            for f in entity.fields
        )
        listed = "[" + ", ".join(_quote(str(f)) for f in files) + "]"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {name} AS
                SELECT * REPLACE (CAST(CAST(created_at AS TIMESTAMPTZ) AS TIMESTAMP) AS created_at)
                FROM read_json({listed}, format='newline_delimited', columns={{{columns}}})"""
        )


def write(landing_dir: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Write the connector tables for the native helpdesk under `landing_dir`; rows per table."""
    landing, out = Path(landing_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute("SET TimeZone = 'UTC'")
        _read_native(con, landing)
        con.execute(
            """SET VARIABLE synced = (
                   SELECT date_trunc('hour', max(created_at)) + INTERVAL 2 HOUR
                   FROM (SELECT created_at FROM n_tickets UNION ALL SELECT created_at FROM n_events))"""
        )
        via = " ".join(f"WHEN {_quote(k)} THEN {_quote(v)}" for k, v in VIA_CHANNEL.items())
        con.execute(
            f"""
            CREATE TEMP TABLE f_org AS
            SELECT {_ORG_BASE} + row_number() OVER (ORDER BY account_id) AS id, account_id,
                   bool_or(tier = 'vip') AS vip, min(created_at) AS created_at
            FROM n_tickets GROUP BY account_id;

            CREATE TEMP TABLE f_user AS
            WITH contacts AS (
                SELECT requester_id AS external_id,
                       arg_min(requester_email, created_at) AS email,
                       arg_min(requester_name, created_at) AS name,
                       arg_min(requester_phone, created_at) AS phone,
                       arg_min(account_id, created_at) AS account_id,
                       min(created_at) AS created_at
                FROM n_tickets GROUP BY requester_id),
            agents AS (
                SELECT actor_id AS external_id, min(created_at) AS created_at
                FROM n_events WHERE actor_type = 'agent' GROUP BY actor_id)
            SELECT {_USER_BASE} + row_number() OVER (ORDER BY c.external_id) AS id,
                   c.external_id, c.email, c.name, c.phone, 'end-user' AS role,
                   o.id AS organization_id, c.created_at
            FROM contacts c JOIN f_org o USING (account_id)
            UNION ALL
            SELECT {_AGENT_BASE} + row_number() OVER (ORDER BY external_id), external_id,
                   lower(external_id) || '@support.example.com', 'Agent ' || external_id,
                   NULL, 'agent', NULL, created_at
            FROM agents
            UNION ALL
            SELECT {_BOT_ID}, actor_id, NULL, {_quote(BOT_NAME)}, NULL, 'agent', NULL,
                   min(created_at)
            FROM n_events WHERE actor_type = 'bot' GROUP BY actor_id;

            CREATE TEMP TABLE f_group AS
            SELECT {_GROUP_BASE} + tier AS id, 'Tier ' || tier AS name
            FROM range(1, 4) AS r(tier);

            -- native events with the Zendesk user of their actor
            CREATE TEMP TABLE e AS
            SELECT ev.*, u.id AS user_id,
                   row_number() OVER (PARTITION BY ev.ticket_id ORDER BY ev.created_at, ev.event_id)
                       AS n
            FROM n_events ev LEFT JOIN f_user u ON u.external_id = ev.actor_id;

            CREATE TEMP TABLE f_history AS
            SELECT 'status' AS field_name, t.ticket_id, t.created_at AS updated,
                   r.id AS user_id, 'new' AS value
            FROM n_tickets t JOIN f_user r ON r.external_id = t.requester_id
            UNION ALL
            SELECT 'priority', t.ticket_id, t.created_at, r.id, t.priority
            FROM n_tickets t JOIN f_user r ON r.external_id = t.requester_id
            UNION ALL
            SELECT 'status', ticket_id, created_at,
                   CASE WHEN actor_type <> 'system' THEN user_id END,
                   CASE status WHEN 'on_hold' THEN 'hold' ELSE status END
            FROM e WHERE status IS NOT NULL AND event_type <> 'created'
            UNION ALL
            SELECT 'assignee_id', ticket_id, created_at, user_id, user_id::VARCHAR
            FROM e WHERE event_type = 'agent_assigned'
            UNION ALL
            SELECT 'group_id', ticket_id, created_at, user_id,
                   ({_GROUP_BASE} + CASE WHEN event_type = 'bot_handoff' THEN 1 ELSE to_tier END)::VARCHAR
            FROM e WHERE event_type IN ('escalated', 'bot_handoff')
            UNION ALL
            SELECT {_quote(TIME_SPENT_FIELD)}, ticket_id, created_at, user_id,
                   handle_seconds::VARCHAR
            FROM e WHERE event_type = 'agent_reply' AND handle_seconds IS NOT NULL;

            CREATE TEMP TABLE f_ticket AS
            WITH last_values AS (
                SELECT ticket_id,
                       arg_max(value, updated) FILTER (WHERE field_name = 'status') AS status,
                       arg_max(value, updated) FILTER (WHERE field_name = 'assignee_id') AS assignee,
                       arg_max(value, updated) FILTER (WHERE field_name = 'group_id') AS group_id,
                       max(updated) AS updated_at
                FROM f_history GROUP BY ticket_id)
            SELECT t.ticket_id AS id, getvariable('synced') AS _fivetran_synced,
                   false AS _fivetran_deleted, t.created_at,
                   greatest(t.created_at, lv.updated_at) AS updated_at,
                   lv.status, t.priority, r.id AS requester_id, r.id AS submitter_id,
                   lv.assignee::BIGINT AS assignee_id, lv.group_id::BIGINT AS group_id,
                   o.id AS organization_id,
                   CASE t.channel {via} ELSE t.channel END AS via_channel,
                   t.subject, t.description, 'question' AS type, true AS is_public
            FROM n_tickets t
            JOIN f_user r ON r.external_id = t.requester_id
            JOIN f_org o ON o.account_id = t.account_id
            LEFT JOIN last_values lv USING (ticket_id);
            """
        )
        synced = "getvariable('synced') AS _fivetran_synced"
        schedule_ids = " ".join(f"WHEN {_quote(k)} THEN {v}" for k, v in _SCHEDULE_IDS.items())
        tables = {
            "ticket": "SELECT * FROM f_ticket ORDER BY id",
            "user": f"""SELECT id, {synced}, false AS _fivetran_deleted, true AS active,
                            created_at, email, external_id, name, organization_id, phone, role,
                            created_at AS updated_at, 'UTC' AS time_zone
                        FROM f_user ORDER BY id""",
            "organization": f"""SELECT id, {synced}, false AS _fivetran_deleted, created_at,
                                    account_id AS external_id, 'Account ' || account_id AS name,
                                    created_at AS updated_at
                                FROM f_org ORDER BY id""",
            "organization_tag": f"""SELECT id AS organization_id, 'vip' AS tag, {synced}
                                    FROM f_org WHERE vip ORDER BY id""",
            "group": f"""SELECT id, {synced}, false AS _fivetran_deleted, name,
                             TIMESTAMP '2020-01-01' AS created_at
                         FROM f_group ORDER BY id""",
            "ticket_tag": f"""SELECT ticket_id, 'category_' || category AS tag, {synced}
                              FROM n_tickets ORDER BY ticket_id""",
            "ticket_comment": f"""
                SELECT {_DESCRIPTION_BASE} + t.ticket_id AS id, {synced},
                       false AS _fivetran_deleted, t.description AS body, t.created_at AS created,
                       true AS public, t.ticket_id, r.id AS user_id
                FROM n_tickets t JOIN f_user r ON r.external_id = t.requester_id
                UNION ALL
                SELECT {_COMMENT_BASE} + event_id, {synced}, false, body, created_at,
                       event_type <> 'internal_note', ticket_id, user_id
                FROM e
                WHERE event_type IN ('bot_reply', 'agent_reply', 'requester_reply', 'internal_note')
                ORDER BY id""",
            "ticket_field_history": f"""
                SELECT field_name, ticket_id, updated, {synced}, user_id, value
                FROM f_history ORDER BY ticket_id, updated, field_name""",
            "satisfaction_rating": f"""
                SELECT {_RATING_BASE} + event_id AS id, {synced}, false AS _fivetran_deleted,
                       t.assignee_id, e.created_at, e.created_at AS updated_at, t.group_id,
                       user_id AS requester_id,
                       CASE WHEN csat_score >= 4 THEN 'good' ELSE 'bad' END AS score,
                       ticket_id
                FROM e JOIN f_ticket t ON t.id = e.ticket_id
                WHERE event_type = 'csat_response' ORDER BY id""",
            # the seed's tier hours as weekly minutes from Sunday 00:00 (ISO Sunday 7 is day 0)
            "schedule": f"""
                SELECT CASE tier {schedule_ids} END AS id, {synced},
                       false AS _fivetran_deleted, 'Tier ' || tier AS name, 'UTC' AS time_zone,
                       (iso_day_of_week % 7) * 1440 + open_minute AS start_time,
                       (iso_day_of_week % 7) * 1440 + close_minute AS end_time
                FROM read_csv({_quote(str(BUSINESS_HOURS_SEED))}, header=true)
                ORDER BY id, start_time""",
            "schedule_holiday": f"""
                SELECT NULL::BIGINT AS id, {synced}, false AS _fivetran_deleted,
                       NULL::BIGINT AS schedule_id, NULL::DATE AS start_date,
                       NULL::DATE AS end_date, NULL::VARCHAR AS name
                WHERE false""",
            "ticket_schedule": f"""
                SELECT ticket_id, created_at, CASE tier {schedule_ids} END AS schedule_id, {synced}
                FROM n_tickets ORDER BY ticket_id""",
        }
        return write_parquet_tables(con, out, tables)
    finally:
        con.close()
