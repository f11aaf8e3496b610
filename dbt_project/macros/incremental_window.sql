{#-
    The day window of an incremental build (landing days, inclusive) and `lookback_days`.
    See docs/decisions.md, "Incremental windows".

    The window is read when the build runs, never when dbt parses: from the vars
    `start_date` / `end_date` when given (a hand-run build, unit tests), otherwise from the
    one-row table `meta.dbt_build_window`, which the Dagster asset writes before a windowed
    build and drops after it. Passing the window as `--vars` would change dbt's parse state
    on every build and force a full re-parse (seconds per build); a table keeps partial
    parsing valid, so the project is parsed once per deploy.

    - No window: every model over all its data (a full build passes `--full-refresh`, so
      incremental models are rebuilt from scratch).
    - A window and the model's table exists: only the window is (re)computed; a missing
      bound is open.
-#}

{% macro build_window() -%}
    {%- if var('start_date', none) is not none or var('end_date', none) is not none -%}
        {{ return({'start': var('start_date', none), 'end': var('end_date', none)}) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {#-
        Read once per node: `in_window` and its helpers ask several times for every model
        and test (about 120 queries per build before). The cache is the node's own `model`
        dict, which dbt makes anew for every node it compiles, so nothing outlives the node
        and a window written between builds is always read afresh.
    -#}
    {%- set cache = model if model is mapping else none -%}
    {%- if cache is not none and 'supportops_build_window' in cache -%}
        {{ return(cache['supportops_build_window']) }}
    {%- endif -%}
    {%- set window = read_build_window() -%}
    {%- if cache is not none -%}
        {%- do cache.update({'supportops_build_window': window}) -%}
    {%- endif -%}
    {{ return(window) }}
{%- endmacro %}


{#- The row of `meta.dbt_build_window` (none when the table is absent or empty): one query. -#}
{% macro read_build_window() -%}
    {%- set relation = adapter.get_relation(
        database=target.database, schema='meta', identifier='dbt_build_window'
    ) -%}
    {%- if relation is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query(
        'select cast(start_date as ' ~ dbt.type_string() ~ '), cast(end_date as '
        ~ dbt.type_string() ~ ') from ' ~ relation
    ).rows -%}
    {%- if rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'start': rows[0][0], 'end': rows[0][1]}) }}
{%- endmacro %}


{% macro has_window() -%}
    {%- set window = build_window() -%}
    {{ return(window is not none and (window.start is not none or window.end is not none)) }}
{%- endmacro %}


{#-
    For `config(full_refresh=...)`, decided at parse time: unset on DuckDB (a full build
    passes `--full-refresh`); always true on Spark: its tables are plain Parquet, which has
    no delete by key, so a windowed build rebuilds the incremental models whole (same rows,
    more work; see docs/decisions.md, "Spark").
-#}
{% macro supportops_full_refresh() -%}
    {{ return(true if target.type == 'spark' else none) }}
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
    {%- set window = build_window() -%}
    {%- set start = window.start if window is not none else none -%}
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
    {%- set window = build_window() -%}
    {%- set end = window.end if window is not none else none -%}
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
