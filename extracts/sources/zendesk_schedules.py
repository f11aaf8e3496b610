"""Zendesk business-hours schedules: checked, and landed as the helpdesk's schedule snapshots.

Zendesk keeps a schedule as one `schedule` row per open interval (`start_time`/`end_time`:
minutes of the week from Sunday 00:00, local time) with the account's Rails time-zone name
(`time_zone`, e.g. "Eastern Time (US & Canada)"), its holidays in `schedule_holiday`
(whole local days) and the schedule each ticket was put on in `ticket_schedule`. The
adapter lands them as `schedules.csv` / `schedule_holidays.csv` on every landing day (a
snapshot, like the CRM's) with the time zone mapped to its IANA name, and gives each
ticket the schedule of its first `ticket_schedule` row. dbt turns local hours into UTC
with the warehouse's own time-zone database (daylight-saving changes included), so
Zendesk's `time_zone` and `daylight_time` tables are accepted but not read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from extracts.contracts import HELPDESK_SCHEDULE_HOLIDAYS, HELPDESK_SCHEDULES, Entity

if TYPE_CHECKING:
    from extracts.sources.connector import CheckReport

WEEK_MINUTES = 7 * 1440
UNREAD_TABLES = ("time_zone", "daylight_time")
"""Zendesk's offset tables: present or not, DuckDB's ICU time zones replace them."""

# Rails' ActiveSupport::TimeZone::MAPPING (the names Zendesk stores in `schedule.time_zone`)
# -> IANA. A value that already is an IANA name is used as it is.
RAILS_TIME_ZONES: dict[str, str] = {
    "International Date Line West": "Etc/GMT+12",
    "Midway Island": "Pacific/Midway",
    "American Samoa": "Pacific/Pago_Pago",
    "Hawaii": "Pacific/Honolulu",
    "Alaska": "America/Juneau",
    "Pacific Time (US & Canada)": "America/Los_Angeles",
    "Tijuana": "America/Tijuana",
    "Mountain Time (US & Canada)": "America/Denver",
    "Arizona": "America/Phoenix",
    "Chihuahua": "America/Chihuahua",
    "Mazatlan": "America/Mazatlan",
    "Central Time (US & Canada)": "America/Chicago",
    "Saskatchewan": "America/Regina",
    "Guadalajara": "America/Mexico_City",
    "Mexico City": "America/Mexico_City",
    "Monterrey": "America/Monterrey",
    "Central America": "America/Guatemala",
    "Eastern Time (US & Canada)": "America/New_York",
    "Indiana (East)": "America/Indiana/Indianapolis",
    "Bogota": "America/Bogota",
    "Lima": "America/Lima",
    "Quito": "America/Lima",
    "Atlantic Time (Canada)": "America/Halifax",
    "Caracas": "America/Caracas",
    "La Paz": "America/La_Paz",
    "Santiago": "America/Santiago",
    "Newfoundland": "America/St_Johns",
    "Brasilia": "America/Sao_Paulo",
    "Buenos Aires": "America/Argentina/Buenos_Aires",
    "Montevideo": "America/Montevideo",
    "Georgetown": "America/Guyana",
    "Puerto Rico": "America/Puerto_Rico",
    "Greenland": "America/Godthab",
    "Mid-Atlantic": "Atlantic/South_Georgia",
    "Azores": "Atlantic/Azores",
    "Cape Verde Is.": "Atlantic/Cape_Verde",
    "Dublin": "Europe/Dublin",
    "Edinburgh": "Europe/London",
    "Lisbon": "Europe/Lisbon",
    "London": "Europe/London",
    "Casablanca": "Africa/Casablanca",
    "Monrovia": "Africa/Monrovia",
    "UTC": "Etc/UTC",
    "Belgrade": "Europe/Belgrade",
    "Bratislava": "Europe/Bratislava",
    "Budapest": "Europe/Budapest",
    "Ljubljana": "Europe/Ljubljana",
    "Prague": "Europe/Prague",
    "Sarajevo": "Europe/Sarajevo",
    "Skopje": "Europe/Skopje",
    "Warsaw": "Europe/Warsaw",
    "Zagreb": "Europe/Zagreb",
    "Brussels": "Europe/Brussels",
    "Copenhagen": "Europe/Copenhagen",
    "Madrid": "Europe/Madrid",
    "Paris": "Europe/Paris",
    "Amsterdam": "Europe/Amsterdam",
    "Berlin": "Europe/Berlin",
    "Bern": "Europe/Zurich",
    "Zurich": "Europe/Zurich",
    "Rome": "Europe/Rome",
    "Stockholm": "Europe/Stockholm",
    "Vienna": "Europe/Vienna",
    "West Central Africa": "Africa/Algiers",
    "Bucharest": "Europe/Bucharest",
    "Cairo": "Africa/Cairo",
    "Helsinki": "Europe/Helsinki",
    "Kyiv": "Europe/Kiev",
    "Riga": "Europe/Riga",
    "Sofia": "Europe/Sofia",
    "Tallinn": "Europe/Tallinn",
    "Vilnius": "Europe/Vilnius",
    "Athens": "Europe/Athens",
    "Istanbul": "Europe/Istanbul",
    "Minsk": "Europe/Minsk",
    "Jerusalem": "Asia/Jerusalem",
    "Harare": "Africa/Harare",
    "Pretoria": "Africa/Johannesburg",
    "Kaliningrad": "Europe/Kaliningrad",
    "Moscow": "Europe/Moscow",
    "St. Petersburg": "Europe/Moscow",
    "Volgograd": "Europe/Volgograd",
    "Samara": "Europe/Samara",
    "Kuwait": "Asia/Kuwait",
    "Riyadh": "Asia/Riyadh",
    "Nairobi": "Africa/Nairobi",
    "Baghdad": "Asia/Baghdad",
    "Tehran": "Asia/Tehran",
    "Abu Dhabi": "Asia/Muscat",
    "Muscat": "Asia/Muscat",
    "Baku": "Asia/Baku",
    "Tbilisi": "Asia/Tbilisi",
    "Yerevan": "Asia/Yerevan",
    "Kabul": "Asia/Kabul",
    "Ekaterinburg": "Asia/Yekaterinburg",
    "Islamabad": "Asia/Karachi",
    "Karachi": "Asia/Karachi",
    "Tashkent": "Asia/Tashkent",
    "Chennai": "Asia/Kolkata",
    "Kolkata": "Asia/Kolkata",
    "Mumbai": "Asia/Kolkata",
    "New Delhi": "Asia/Kolkata",
    "Kathmandu": "Asia/Kathmandu",
    "Astana": "Asia/Dhaka",
    "Dhaka": "Asia/Dhaka",
    "Sri Jayawardenepura": "Asia/Colombo",
    "Almaty": "Asia/Almaty",
    "Novosibirsk": "Asia/Novosibirsk",
    "Rangoon": "Asia/Rangoon",
    "Bangkok": "Asia/Bangkok",
    "Hanoi": "Asia/Bangkok",
    "Jakarta": "Asia/Jakarta",
    "Krasnoyarsk": "Asia/Krasnoyarsk",
    "Beijing": "Asia/Shanghai",
    "Chongqing": "Asia/Chongqing",
    "Hong Kong": "Asia/Hong_Kong",
    "Urumqi": "Asia/Urumqi",
    "Kuala Lumpur": "Asia/Kuala_Lumpur",
    "Singapore": "Asia/Singapore",
    "Taipei": "Asia/Taipei",
    "Perth": "Australia/Perth",
    "Irkutsk": "Asia/Irkutsk",
    "Ulaanbaatar": "Asia/Ulaanbaatar",
    "Seoul": "Asia/Seoul",
    "Osaka": "Asia/Tokyo",
    "Sapporo": "Asia/Tokyo",
    "Tokyo": "Asia/Tokyo",
    "Yakutsk": "Asia/Yakutsk",
    "Darwin": "Australia/Darwin",
    "Adelaide": "Australia/Adelaide",
    "Canberra": "Australia/Melbourne",
    "Melbourne": "Australia/Melbourne",
    "Sydney": "Australia/Sydney",
    "Brisbane": "Australia/Brisbane",
    "Hobart": "Australia/Hobart",
    "Vladivostok": "Asia/Vladivostok",
    "Guam": "Pacific/Guam",
    "Port Moresby": "Pacific/Port_Moresby",
    "Magadan": "Asia/Magadan",
    "Srednekolymsk": "Asia/Srednekolymsk",
    "Solomon Is.": "Pacific/Guadalcanal",
    "New Caledonia": "Pacific/Noumea",
    "Fiji": "Pacific/Fiji",
    "Kamchatka": "Asia/Kamchatka",
    "Marshall Is.": "Pacific/Majuro",
    "Auckland": "Pacific/Auckland",
    "Wellington": "Pacific/Auckland",
    "Nuku'alofa": "Pacific/Tongatapu",
    "Tokelau Is.": "Pacific/Fakaofo",
    "Chatham Is.": "Pacific/Chatham",
    "Samoa": "Pacific/Apia",
}


def _time_zones(con: duckdb.DuckDBPyConnection) -> None:
    """`_zd_time_zones(name, iana)`, one row per name: every IANA name DuckDB knows as itself,
    and the Rails names that are no IANA name (Rails' "UTC" is IANA's too) mapped."""
    con.execute("CREATE OR REPLACE TEMP TABLE _zd_rails_zones (name VARCHAR, iana VARCHAR)")
    con.executemany("INSERT INTO _zd_rails_zones VALUES (?, ?)", list(RAILS_TIME_ZONES.items()))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _zd_time_zones AS
           WITH iana AS (SELECT DISTINCT name FROM pg_timezone_names())
           SELECT name, name AS iana FROM iana
           UNION ALL
           SELECT r.name, r.iana FROM _zd_rails_zones r
           WHERE r.iana IN (SELECT name FROM iana) AND r.name NOT IN (SELECT name FROM iana)"""
    )


def _mapped(con: duckdb.DuckDBPyConnection) -> None:
    """The export's live schedules and holidays in the landing shape, zones mapped to IANA."""
    _time_zones(con)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _zd_schedules AS
           SELECT s.id::VARCHAR AS schedule_id, s.name AS schedule_name,
                  s.time_zone AS raw_time_zone, z.iana AS time_zone,
                  s.start_time::INTEGER AS start_minute, s.end_time::INTEGER AS end_minute
           FROM zd_schedule s
           LEFT JOIN _zd_time_zones z ON z.name = trim(s.time_zone)
           WHERE NOT coalesce(s._fivetran_deleted, false) AND s.id IS NOT NULL"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _zd_schedule_holidays AS
           SELECT h.schedule_id::VARCHAR AS schedule_id, h.start_date, h.end_date,
                  h.name AS holiday_name
           FROM zd_schedule_holiday h
           WHERE NOT coalesce(h._fivetran_deleted, false) AND h.schedule_id IS NOT NULL"""
    )


def check_schedules(con: duckdb.DuckDBPyConnection, report: CheckReport) -> None:
    """Errors naming table, column and value: unknown time zones, intervals outside the
    week, holidays ending before they start."""
    _mapped(con)
    for schedule_id, zone in con.execute(
        """SELECT min(schedule_id), raw_time_zone FROM _zd_schedules
           WHERE time_zone IS NULL GROUP BY raw_time_zone ORDER BY 2"""
    ).fetchall():
        report.errors.append(
            f"table schedule: column time_zone value {zone!r} (schedule {schedule_id}) is no "
            "IANA time zone and no Rails time-zone name Zendesk uses"
        )
    for schedule_id, start, end in con.execute(
        f"""SELECT schedule_id, start_minute, end_minute FROM _zd_schedules
            WHERE NOT (start_minute >= 0 AND end_minute <= {WEEK_MINUTES}
                       AND start_minute < end_minute)
            ORDER BY 1, 2"""
    ).fetchall():
        report.errors.append(
            f"table schedule: columns start_time, end_time value {start}-{end} (schedule "
            f"{schedule_id}) is not an interval of the week (0 <= start_time < end_time <= "
            f"{WEEK_MINUTES}, minutes from Sunday 00:00)"
        )
    for schedule_id, start, end in con.execute(
        """SELECT schedule_id, start_date, end_date FROM _zd_schedule_holidays
           WHERE start_date > end_date ORDER BY 1, 2"""
    ).fetchall():
        report.errors.append(
            f"table schedule_holiday: columns start_date, end_date value {start} > {end} "
            f"(schedule {schedule_id}): the holiday ends before it starts"
        )


def attach_ticket_schedules(con: duckdb.DuckDBPyConnection) -> None:
    """`_zd_ticket_rows.schedule_id`: the schedule of the ticket's first `ticket_schedule` row.

    A later change of schedule is not followed (see dbt_project/docs/decisions.md).
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _zd_ticket_rows AS
           SELECT r.*, s.schedule_id FROM _zd_ticket_rows r
           LEFT JOIN (SELECT ticket_id, arg_min(schedule_id, created_at)::VARCHAR AS schedule_id
                      FROM zd_ticket_schedule WHERE schedule_id IS NOT NULL
                      GROUP BY ticket_id) s USING (ticket_id)"""
    )


def schedule_outputs(con: duckdb.DuckDBPyConnection) -> list[tuple[Entity, str]]:
    """`schedules.csv` and `schedule_holidays.csv` for connector.write_landing_days: the whole
    current set on every landing day from the first ticket to the last event (a snapshot).
    Only when the export has a `schedule` table: without one no file is written, ingestion
    loads no schedule and the per-tier clock applies."""
    _mapped(con)
    days = """(SELECT unnest(generate_series(min(d), max(d), INTERVAL 1 DAY))::DATE AS _day
               FROM (SELECT created_at::DATE AS d FROM _zd_ticket_rows
                     UNION ALL SELECT event_at::DATE FROM _zd_events))"""
    outputs = []
    for entity, table, order in (
        (HELPDESK_SCHEDULES, "_zd_schedules", "schedule_id, start_minute"),
        (HELPDESK_SCHEDULE_HOLIDAYS, "_zd_schedule_holidays", "schedule_id, start_date"),
    ):
        cols = ", ".join(f"t.{f.name}" for f in entity.fields)
        outputs.append(
            (
                entity,
                f"SELECT {cols}, days._day FROM {table} AS t CROSS JOIN {days} AS days "
                f"ORDER BY days._day, {order}",
            )
        )
    return outputs
