{#-
    The business clock at `ts` read from one int_business_calendar row `calendar` of the
    ticket's schedule, on the UTC day of `ts`, that opened at or before `ts`: the business
    minutes of the schedule from the start of the calendar up to `ts`. The clock at `ts` is
    the max of this over those rows (the day's start row and every window opened by `ts`):
    join on schedule_id, calendar_date = the day of `ts` and opens_at <= `ts`, and
    aggregate with max(). Business minutes between two timestamps of a schedule are the
    difference of their clocks: nights, weekends and holidays add nothing.
-#}
{% macro business_clock(ts, calendar) -%}
    (
        {{ calendar }}.business_minutes_before
        + case
            when {{ ts }} >= {{ calendar }}.closes_at then {{ calendar }}.business_minutes
            else {{ minutes_between(calendar ~ '.opens_at', ts) }}
        end
    )
{%- endmacro %}


{#- The join condition that goes with business_clock: `calendar` rows that can hold `ts`'s clock. -#}
{% macro business_clock_join(ts, schedule_id, calendar) -%}
    {{ calendar }}.schedule_id = {{ schedule_id }}
    and {{ calendar }}.calendar_date = cast({{ ts }} as date)
    and {{ calendar }}.opens_at <= {{ ts }}
{%- endmacro %}
