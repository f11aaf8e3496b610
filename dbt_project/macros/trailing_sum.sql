{#-
    Sum of `column` over the `days` rows ending `offset` rows before the current one, in a
    dense account x day grid (one row per day, so rows are days):
    trailing_sum('tickets', 30) = the current day and the 29 before it;
    trailing_sum('events', 28, offset=7) = the 28 days before the last 7.
-#}
{% macro trailing_sum(column, days, offset=0, partition_by='account_id', order_by='activity_date') -%}
    sum({{ column }}) over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between {{ days + offset - 1 }} preceding and {{ (offset ~ ' preceding') if offset else 'current row' }}
    )
{%- endmacro %}


{#- Running total of `column` from the first row of the partition to the current one. -#}
{% macro running_sum(column, partition_by='account_id', order_by='activity_date') -%}
    sum({{ column }}) over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between unbounded preceding and current row
    )
{%- endmacro %}
