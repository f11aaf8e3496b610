{#-
    A staging model's newest landing of each key. A source may re-send a record on a later
    day (a correction): the copy landed last is its current version. See docs/decisions.md,
    "Incremental windows" (corrections).

    `newest_landing_ctes(relation, key, raw_source)` defines the CTEs `repeated_keys`, `ranked`
    and `deduplicated` over `relation` (a CTE with `landing_date`, `source_file`,
    `source_line`, read several times: declare it and its own source CTE
    `{{ not_materialized() }}`); most keys come once, so only the repeated ones are ranked.

    Finding the repeated keys grouped every row by its key: over 47.6M telemetry events the
    query (CTEs read in place) took 15 s, and 3.7 s grouping only the candidate keys.
    Ingestion records, per landing day, how many of its rows re-send a key that another
    landing day already held (`meta.raw_day_loads.resent_keys` of `raw_source`, counted at the
    day's newest load). Of two copies of a key, the one loaded later was counted, so every
    repeated key has a copy on a day whose newest load counted re-sent keys: only the keys of
    those days are grouped. Where the ledger is absent (Spark reads exported raw tables, a
    unit test's fixtures) every key is grouped, as before. The unique test on the key stays.
    `not_replaced_by_stored(key)` is an incremental run's filter: a copy already stored from
    a later day wins, so a reload of an old day does not bring back a replaced version.
-#}

{% macro newest_landing_ctes(relation, key, raw_source) %}
{%- set ledger = raw_day_loads() %}
{%- if ledger is not none %}
clean_days as (

    -- landing days whose newest load re-sent no key of another day
    select landing_date
    from (
        select
            landing_date,
            resent_keys,
            row_number() over (partition by landing_date order by loaded_at desc) as load_number
        from {{ ledger }}
        where table_name = '{{ raw_source.identifier }}'
    ) as day_loads
    where load_number = 1 and resent_keys = 0

),

candidate_keys as (

    select {{ key }}
    from {{ relation }}
    where landing_date not in (select landing_date from clean_days)

),
{%- endif %}

repeated_keys as (

    select {{ key }}
    from {{ relation }}
    {%- if ledger is not none %}
    where {{ key }} in (select {{ key }} from candidate_keys)
    {%- endif %}
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


{#- The ingestion ledger's per-day table (none before any load, and where the raw tables are
    read from elsewhere: Spark). -#}
{% macro raw_day_loads() %}
    {%- if not execute or target.type != 'duckdb' -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=target.database, schema='meta', identifier='raw_day_loads')) }}
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
