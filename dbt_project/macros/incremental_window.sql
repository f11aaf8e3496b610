{#-
    The day window of an incremental run, from the vars `start_date` / `end_date` (landing
    days, inclusive) and `lookback_days`. See docs/decisions.md, "Incremental windows".

    - Neither var set: a full build. `supportops_full_refresh()` makes every incremental
      model rebuild from scratch, so no filter below is applied.
    - Either var set and the model's table exists: only the window is (re)computed;
      a missing bound is open.
-#}

{% macro has_window() -%}
    {{ return(var('start_date', none) is not none or var('end_date', none) is not none) }}
{%- endmacro %}


{#-
    For `config(full_refresh=...)`: true (rebuild) without a window, unset otherwise. On
    Spark always true: its tables are plain Parquet, which has no delete by key, so a
    windowed build rebuilds the incremental models whole (same rows, more work; see
    docs/decisions.md, "Spark").
-#}
{% macro supportops_full_refresh() -%}
    {{ return(none if has_window() and target.type != 'spark' else true) }}
{%- endmacro %}


{#-
    For `config(incremental_strategy=...)`: delete+insert on the key (DuckDB). Spark on
    Parquet offers append and insert_overwrite only; insert_overwrite is named so the
    materialization validates, and never runs (supportops_full_refresh rebuilds on Spark).
-#}
{% macro supportops_incremental_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}


{% macro is_windowed_run() -%}
    {{ return(is_incremental() and has_window()) }}
{%- endmacro %}


{% macro date_literal(value) -%}
    cast('{{ value }}' as date)
{%- endmacro %}


{#- The first day of the window, moved back by `offset_days` (none when unbounded). -#}
{% macro window_start_sql(offset_days=0) -%}
    {%- set start = var('start_date', none) -%}
    {%- if start is none -%}
        {{ return(none) }}
    {%- elif offset_days == 0 -%}
        {{ return(date_literal(start)) }}
    {%- else -%}
        {{ return(add_days(date_literal(start), -1 * offset_days)) }}
    {%- endif -%}
{%- endmacro %}


{#- The last day of the window, moved forward by `offset_days` (none when unbounded). -#}
{% macro window_end_sql(offset_days=0) -%}
    {%- set end = var('end_date', none) -%}
    {%- if end is none -%}
        {{ return(none) }}
    {%- elif offset_days == 0 -%}
        {{ return(date_literal(end)) }}
    {%- else -%}
        {{ return(add_days(date_literal(end), offset_days)) }}
    {%- endif -%}
{%- endmacro %}


{#-
    A predicate keeping the rows whose `day_column` (a date) falls in the window, widened by
    `lookback` days before its start and `lookahead` days after its end. Always true in a
    full build.
-#}
{% macro in_window(day_column, lookback=0, lookahead=0) -%}
    {%- if is_windowed_run() -%}
        {{ window_bounds(day_column, lookback, lookahead) }}
    {%- else -%}
        (1 = 1)
    {%- endif -%}
{%- endmacro %}


{#- The window's bounds on `day_column`, whenever a window is set (tests are never incremental). -#}
{% macro window_bounds(day_column, lookback=0, lookahead=0) -%}
    {%- set start = window_start_sql(lookback) -%}
    {%- set end = window_end_sql(lookahead) -%}
    ({{ day_column }} >= {{ start if start is not none else day_column }}
    and {{ day_column }} <= {{ end if end is not none else day_column }})
{%- endmacro %}
