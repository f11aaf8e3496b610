{#-
    Cross-database helpers. Models use dbt's own cross-db macros (dbt.dateadd, dbt.datediff,
    dbt.date_trunc, dbt.hash, dbt.concat) and these, each with a default and a DuckDB
    implementation, so another adapter (Spark, Trino) only needs its own `<adapter>__` version.
-#}

{#- A date `days` days after `date_expr` (negative for before), typed as date. -#}
{% macro add_days(date_expr, days) -%}
    {{ return(adapter.dispatch('add_days', 'supportops')(date_expr, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{% macro duckdb__add_days(date_expr, days) -%}
    cast(({{ date_expr }}) + cast({{ days }} as integer) as date)
{%- endmacro %}


{#- Whole days from `first_date` to `second_date`. -#}
{% macro days_between(first_date, second_date) -%}
    {{ return(adapter.dispatch('days_between', 'supportops')(first_date, second_date)) }}
{%- endmacro %}

{% macro default__days_between(first_date, second_date) -%}
    {{ dbt.datediff(first_date, second_date, 'day') }}
{%- endmacro %}

{% macro duckdb__days_between(first_date, second_date) -%}
    (cast({{ second_date }} as date) - cast({{ first_date }} as date))
{%- endmacro %}


{#-
    Elapsed minutes (fractional) from `first_ts` to `second_ts`. Divisors are doubles, not
    decimal literals like 60.0: Spark divides by a decimal in decimal arithmetic rounded to 6
    places, DuckDB in double, and the two would not agree.
-#}
{% macro minutes_between(first_ts, second_ts) -%}
    ({{ dbt.datediff(first_ts, second_ts, 'second') }} / cast(60 as double))
{%- endmacro %}


{#- `ts` plus a (possibly fractional) number of minutes, to the second. -#}
{% macro add_minutes(ts, minutes) -%}
    {{ dbt.dateadd('second', 'round((' ~ minutes ~ ') * 60)', ts) }}
{%- endmacro %}


{#- Minutes since midnight of a timestamp (fractional). -#}
{% macro minute_of_day(ts) -%}
    {{ minutes_between(dbt.date_trunc('day', ts), ts) }}
{%- endmacro %}


{#- ISO day of week: Monday = 1 ... Sunday = 7. -#}
{% macro iso_day_of_week(date_expr) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'supportops')(date_expr)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expr) -%}
    extract(isodow from {{ date_expr }})
{%- endmacro %}

{% macro duckdb__iso_day_of_week(date_expr) -%}
    isodow({{ date_expr }})
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expr) -%}
    (pmod(dayofweek({{ date_expr }}) + 5, 7) + 1)
{%- endmacro %}


{#- Hour of day (0-23) of a timestamp. -#}
{% macro hour_of_day(ts) -%}
    extract(hour from {{ ts }})
{%- endmacro %}


{#- A ratio that is null (not an error) when the denominator is zero or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}


{#-
    Put between a CTE's name and `as` when the CTE is read more than once but must not be
    stored: DuckDB materialises such a CTE whole (every column of every row) before the first
    read, which over a raw table costs more than reading it again. Other engines inline CTEs.
-#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'supportops')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}
