{#-
    One string of the given columns, null-safe and separated, for change detection
    (`dbt.hash(attributes_concat([...]))`): a column going from null to a value changes it.
-#}
{% macro attributes_concat(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '~')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}
