{#-
    dbt's relation under test, narrowed to the build window for tests whose `meta` names a
    `window_column`: dbt_project.yml sets it for the CRM snapshot views and the account-day
    views, and the unique tests of the day-keyed incremental models set it with the days
    their model rewrites (`window_lookback` days before the window, a number or the name of
    a var, and `window_lookahead` days after it). A windowed build then checks the days it
    (re)loaded or rewrote, and the filter on the day reaches the table's scan, so the check
    costs a window's work, not all history's; a full build (no window) checks everything.
    The window is read when the test runs (macro `build_window`), never at parse time.
    Tests whose `meta` sets `ticket_scope` (dbt_project.yml: the ticket tables) check, in a
    windowed build, the tickets that build re-derives (macro `ticket_scope`).
    Otherwise dbt's own behaviour: the test's `where` config, if any. See docs/decisions.md,
    "Incremental windows".
-#}
{% macro get_where_subquery(relation) -%}
    {%- set predicates = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do predicates.append(where) -%}
    {%- endif -%}
    {%- set meta = config.get('meta') or {} -%}
    {%- if meta.get('window_column') and has_window() -%}
        {%- do predicates.append(window_bounds(
            meta['window_column'],
            window_days(meta.get('window_lookback', 0)),
            window_days(meta.get('window_lookahead', 0)),
        )) -%}
    {%- endif -%}
    {%- if meta.get('ticket_scope') and has_window() -%}
        {%- set scope = ticket_scope() -%}
        {%- if scope is not none -%}
            {%- do predicates.append('ticket_id in (' ~ scope ~ ')') -%}
        {%- endif -%}
    {%- endif -%}
    {%- if predicates -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ predicates | join(' and ') ~ ') as dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{#- A number of days from a test's meta: a number, or the name of a var holding one. -#}
{% macro window_days(value) -%}
    {{ return(var(value) if value is string else value) }}
{%- endmacro %}
