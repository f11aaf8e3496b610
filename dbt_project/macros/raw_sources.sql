{#-
    Run at the start of every dbt invocation (dbt_project.yml, on-run-start). DuckDB reads
    the raw schema in its own file: nothing to do. Spark reads the Parquet folders that
    `supportops export-raw` wrote (one per raw table, partitioned by landing day): each
    source table becomes a view `raw.<table>` over its folder, so the models' source()
    calls are the same on both engines.
-#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'supportops')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
        {%- set root = env_var('SUPPORTOPS_RAW_PARQUET', '../data/raw_parquet') -%}
        {%- for schema in graph.sources.values() | map(attribute='schema') | unique -%}
            {%- do run_query('create database if not exists ' ~ schema) -%}
        {%- endfor -%}
        {%- for source in graph.sources.values() -%}
            {%- do run_query(
                'create or replace view ' ~ source.schema ~ '.' ~ source.identifier
                ~ ' as select * from parquet.`' ~ root ~ '/' ~ source.identifier ~ '`'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
