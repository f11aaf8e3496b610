{#-
    A staging model's newest landing of each key. A source may re-send a record on a later
    day (a correction): the copy landed last is its current version. See docs/decisions.md,
    "Incremental windows" (corrections).

    `newest_landing_ctes(relation, key)` defines the CTEs `repeated_keys`, `ranked` and
    `deduplicated` over `relation` (a CTE with `landing_date`, `source_file`, `source_line`);
    most keys come once, so only the repeated ones are ranked.
    `not_replaced_by_stored(key)` is an incremental run's filter: a copy already stored from
    a later day wins, so a reload of an old day does not bring back a replaced version.
-#}

{% macro newest_landing_ctes(relation, key) %}
repeated_keys as (

    select {{ key }}
    from {{ relation }}
    group by {{ key }}
    having count(*) > 1

),

ranked as (

    select
        *,
        1 as copy_number
    from {{ relation }}
    where {{ key }} not in (select {{ key }} from repeated_keys)

    union all

    select
        *,
        row_number() over (
            partition by {{ key }}
            order by landing_date desc, source_file desc, source_line desc
        ) as copy_number
    from {{ relation }}
    where {{ key }} in (select {{ key }} from repeated_keys)

),

deduplicated as (

    select * from ranked
    where copy_number = 1

)
{% endmacro %}


{% macro not_replaced_by_stored(key) %}
    {%- if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as stored
            where
                stored.{{ key }} = deduplicated.{{ key }}
                and stored.landing_date > deduplicated.landing_date
        )
    {%- endif %}
{% endmacro %}
