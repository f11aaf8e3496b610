"""The generated telemetry as Segment's warehouse sync would land it.

Reads the native `landing/telemetry/<day>/events.parquet` of a generated world and writes
Segment's tables, one Parquet file each, set-based in DuckDB:

- `pages` (web and API) and `screens` (mobile): the page views, as page and screen calls
  named after the feature, with `feature` as a property column;
- `tracks`: one row per track call (every other event), the message id as `id`, the event as slug (`event`) and
  Title Case name (`event_text`), `received_at` a few seconds after `timestamp`, the platform
  only as Segment context (`context_library_name`, and `context_device_type` on mobile);
  one in 400 messages is delivered twice (the copy received an hour later), and a login in
  50 is tracked before the user is identified (no `user_id`, only its `anonymous_id`);
- one table per tracked event slug (`feature_used`, `error`, ...) with the properties `feature` and
  `error_code` as columns (Segment makes a column only for a property it has seen);
- `groups`: each user joins its account (`group_id`) a minute before its first event;
- `identifies`: each user is identified two minutes before its first event, with fake traits
  (`email`, `first_name`, `last_name`) and the `account_id` trait.

`extracts.sources.segment` maps them back. Deterministic: the same landing files give the
same bytes (one thread, ordered writes, hashes instead of random draws).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from extracts.contracts import TELEMETRY_EVENTS_ENTITY
from extracts.generator.writers import write_parquet_tables
from extracts.sources.connector import quote as _quote

LIBRARY = {
    "web": "analytics.js",
    "ios": "analytics-ios",
    "android": "analytics-android",
    "api": "analytics-python",
}
DUPLICATE_EVERY, ANONYMOUS_LOGIN_EVERY = 400, 50


def _hash(expr: str) -> str:
    """A stable non-negative integer per value (md5, so the same on every machine)."""
    return f"('0x' || left(md5({expr}), 8))::BIGINT"


def _title(expr: str) -> str:
    """snake_case -> Title Case ("report_exported" -> "Report Exported")."""
    words = f"string_split({expr}, '_')"
    return f"array_to_string(list_transform({words}, lambda w: upper(w[1]) || w[2:]), ' ')"


def write(landing_dir: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Write Segment's tables for the native telemetry under `landing_dir`; rows per table."""
    landing, out = Path(landing_dir), Path(out_dir)
    entity = TELEMETRY_EVENTS_ENTITY
    files = sorted((landing / entity.source).glob(f"*/{entity.file_name}"))
    if not files:
        raise FileNotFoundError(f"no {entity.file_name} under {landing / entity.source}")
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute("SET TimeZone = 'UTC'")
        listed = "[" + ", ".join(_quote(str(f)) for f in files) + "]"
        library = " ".join(f"WHEN {_quote(k)} THEN {_quote(v)}" for k, v in LIBRARY.items())
        h = _hash("message_id")
        con.execute(
            f"""
            CREATE TEMP TABLE n AS
            SELECT * REPLACE (CAST("timestamp" AS TIMESTAMP) AS "timestamp"),
                   'anon-' || left(md5('anonymous ' || user_id), 20) AS anonymous_id,
                   min("timestamp") OVER (PARTITION BY user_id)::TIMESTAMP AS first_seen
            FROM read_parquet({listed});

            CREATE TEMP TABLE calls AS
            SELECT message_id AS id,
                   CASE WHEN event = 'login' AND {h} % {ANONYMOUS_LOGIN_EVERY} = 1 THEN NULL
                        ELSE user_id END AS user_id,
                   anonymous_id, event,
                   {_title("event")} AS event_text,
                   "timestamp", "timestamp" AS original_timestamp,
                   "timestamp" + to_milliseconds({h} % 900) AS sent_at,
                   "timestamp" + to_seconds(1 + {h} % 30) AS received_at,
                   CASE platform {library} END AS context_library_name,
                   CASE WHEN platform IN ('ios', 'android') THEN platform END
                       AS context_device_type,
                   feature, error_code, {h} AS h
            FROM n;

            -- at-least-once delivery: a few messages arrive again an hour later
            CREATE TEMP TABLE delivered AS
            SELECT *, received_at + INTERVAL 10 MINUTE AS uuid_ts FROM calls
            UNION ALL
            SELECT * REPLACE (received_at + INTERVAL 1 HOUR AS received_at),
                   received_at + INTERVAL 70 MINUTE
            FROM calls WHERE h % {DUPLICATE_EVERY} = 0;
            """
        )
        common = (
            "id, user_id, anonymous_id, event, event_text, timestamp, original_timestamp, "
            "sent_at, received_at, uuid_ts, context_library_name, context_device_type"
        )
        view_common = common.replace("event, event_text, ", "")
        views = f"""
            SELECT {view_common}, {_title("coalesce(feature, 'home')")} AS name,
                   feature
            FROM delivered WHERE event = 'page_view' AND {{}} ORDER BY received_at, id"""
        mobile = "context_device_type IS NOT NULL"
        tables = {
            "tracks": f"""SELECT {common} FROM delivered WHERE event <> 'page_view'
                          ORDER BY received_at, id""",
            "pages": views.format(f"NOT {mobile}"),
            "screens": views.format(mobile),
            "groups": """
                SELECT 'grp-' || left(md5(user_id || account_id), 24) AS id, user_id,
                       anonymous_id, account_id AS group_id, 'Account ' || account_id AS name,
                       first_seen - INTERVAL 1 MINUTE AS timestamp,
                       first_seen - INTERVAL 1 MINUTE + INTERVAL 2 SECOND AS received_at
                FROM (SELECT DISTINCT user_id, account_id, anonymous_id, first_seen FROM n)
                ORDER BY received_at, id""",
            "identifies": """
                SELECT 'idf-' || left(md5(user_id), 24) AS id, user_id, anonymous_id,
                       'user.' || left(md5('email ' || user_id), 10) || '@example.test' AS email,
                       'Fake' AS first_name, 'User ' || left(md5('name ' || user_id), 6)
                           AS last_name,
                       account_id,
                       first_seen - INTERVAL 2 MINUTE AS timestamp,
                       first_seen - INTERVAL 2 MINUTE + INTERVAL 2 SECOND AS received_at
                FROM (SELECT DISTINCT user_id, account_id, anonymous_id, first_seen FROM n)
                ORDER BY received_at, id""",
        }
        for (event,) in con.execute(
            "SELECT DISTINCT event FROM n WHERE event <> 'page_view' ORDER BY 1"
        ).fetchall():
            with_feature, with_code = con.execute(
                "SELECT count(feature), count(error_code) FROM n WHERE event = ?", [event]
            ).fetchone()
            props = ", feature" * bool(with_feature) + ", error_code" * bool(with_code)
            tables[event] = (
                f"SELECT {common}{props} FROM delivered WHERE event = {_quote(event)} "
                "ORDER BY received_at, id"
            )
        return write_parquet_tables(con, out, tables)
    finally:
        con.close()
