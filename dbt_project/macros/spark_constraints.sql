{#-
    The `not_null` constraints of a contract on Spark. DuckDB enforces them on write (the
    build fails naming the column, nothing is written), so those columns carry no separate
    `not_null` test. dbt-spark enforces them only on Delta tables (ALTER TABLE ... SET NOT
    NULL), and would send that ALTER to our Parquet tables too, where Spark rejects it. So on
    Spark they are checked right after the write instead: one scan counting the nulls of every
    constrained column, and the model fails naming the columns and counts, as the tests did
    (the rows stay written, as with a failing test; the build stops there). See
    docs/decisions.md, "Spark".
-#}
{% macro spark__persist_constraints(relation, model) -%}
    {%- set contract = config.get('contract') -%}
    {%- if not (contract and contract.enforced) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- if column.constraints | selectattr('type', 'equalto', 'not_null') | list | length > 0 -%}
            {%- do columns.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if columns | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set counts = [] -%}
    {%- for name in columns -%}
        {%- do counts.append('sum(case when ' ~ name ~ ' is null then 1 else 0 end)') -%}
    {%- endfor -%}
    {%- set row = run_query('select ' ~ counts | join(', ') ~ ' from ' ~ relation).rows[0] -%}
    {%- set failed = [] -%}
    {%- for name in columns -%}
        {%- if (row[loop.index0] or 0) > 0 -%}
            {%- do failed.append(name ~ ' (' ~ row[loop.index0] ~ ' rows)') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if failed -%}
        {{ exceptions.raise_compiler_error(
            'NOT NULL constraint failed: ' ~ relation ~ ': null in ' ~ failed | join(', ')
        ) }}
    {%- endif -%}
{%- endmacro %}
