{#-
    dbt's relation under test, narrowed to the build window for tests whose `meta` names a
    `window_column` (dbt_project.yml sets it for the CRM snapshot views and the account-day
    views). A windowed build then checks the days it (re)loaded, and the filter on the
    snapshot day reaches the raw table's scan, so the check costs a window's work, not all
    history's; a full build checks everything. Otherwise dbt's own behaviour: the test's
    `where` config, if any.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set predicates = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do predicates.append(where) -%}
    {%- endif -%}
    {%- set window_column = (config.get('meta') or {}).get('window_column') -%}
    {%- if window_column and has_window() -%}
        {%- do predicates.append(window_bounds(window_column)) -%}
    {%- endif -%}
    {%- if predicates -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ predicates | join(' and ') ~ ') as dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
