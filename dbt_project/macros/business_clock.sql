{#-
    The business clock at `ts`: business minutes elapsed from the start of the calendar to
    `ts`, given `calendar` = an int_business_calendar row joined on the ticket's tier and
    the day of `ts`. Business minutes between two timestamps of a tier = the difference of
    their clocks: a span over a weekend counts only the open minutes of the weekdays.
-#}
{% macro business_clock(ts, calendar) -%}
    (
        {{ calendar }}.business_minutes_before
        + case
            when {{ calendar }}.business_minutes = 0 then 0
            when {{ minute_of_day(ts) }} <= {{ calendar }}.open_minute then 0
            when {{ minute_of_day(ts) }} >= {{ calendar }}.close_minute then {{ calendar }}.business_minutes
            else {{ minute_of_day(ts) }} - {{ calendar }}.open_minute
        end
    )
{%- endmacro %}
