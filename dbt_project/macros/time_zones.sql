{#-
    The UTC timestamp of a local wall-clock time `local_ts` (timestamp without time zone) in
    the IANA zone `time_zone` (a column or a quoted literal), daylight-saving changes
    included: what a schedule's "Monday 09:00 America/New_York" is in UTC on a given day.
    The warehouse's own time-zone database does the work, so no offset tables are needed.
-#}
{% macro local_to_utc(local_ts, time_zone) -%}
    {{ return(adapter.dispatch('local_to_utc', 'supportops')(local_ts, time_zone)) }}
{%- endmacro %}

{#- Postgres semantics: timestamp AT TIME ZONE zone -> timestamptz; that AT TIME ZONE 'UTC' -> timestamp. -#}
{% macro default__local_to_utc(local_ts, time_zone) -%}
    (({{ local_ts }}) at time zone ({{ time_zone }}) at time zone 'UTC')
{%- endmacro %}

{#- DuckDB (ICU): timezone(zone, timestamp) reads the wall time in `zone`; timezone('UTC', timestamptz) gives UTC wall time, whatever the session's TimeZone. -#}
{% macro duckdb__local_to_utc(local_ts, time_zone) -%}
    timezone('UTC', timezone({{ time_zone }}, {{ local_ts }}))
{%- endmacro %}

{% macro spark__local_to_utc(local_ts, time_zone) -%}
    to_utc_timestamp({{ local_ts }}, {{ time_zone }})
{%- endmacro %}
