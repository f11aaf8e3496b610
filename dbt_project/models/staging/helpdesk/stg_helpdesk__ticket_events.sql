{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

with

source as (

    select * from {{ source('helpdesk', 'ticket_events') }}
    where {{ in_window('_landing_date') }}

),

renamed as (

    select
        event_id,
        ticket_id,
        event_type,
        created_at as event_at,
        actor_type,
        actor_id,
        handle_seconds,
        to_tier as escalated_to_tier,
        status,
        csat_score,
        body_chars,
        body_sentiment,
        body_language,
        _landing_date as landing_date,
        _source_file as source_file,
        _source_line as source_line,
        _is_late as is_late_arrival,
        _loaded_at as loaded_at

    from source

),

repeated_keys as (

    -- most keys come once: only the repeated ones need ranking
    select event_id
    from renamed
    group by event_id
    having count(*) > 1

),

ranked as (

    select
        *,
        1 as copy_number
    from renamed
    where event_id not in (select event_id from repeated_keys)

    union all

    select
        *,
        row_number() over (
            partition by event_id
            order by landing_date desc, source_file desc, source_line desc
        ) as copy_number
    from renamed
    where event_id in (select event_id from repeated_keys)

),

deduplicated as (

    -- the newest landing of each key: a record re-sent later is its newer version
    select * from ranked
    where copy_number = 1

)

select
    deduplicated.event_id,
    deduplicated.ticket_id,
    deduplicated.event_type,
    deduplicated.event_at,
    deduplicated.actor_type,
    deduplicated.actor_id,
    deduplicated.handle_seconds,
    deduplicated.escalated_to_tier,
    deduplicated.status,
    deduplicated.csat_score,
    deduplicated.body_chars,
    deduplicated.body_sentiment,
    deduplicated.body_language,
    deduplicated.landing_date,
    deduplicated.source_file,
    deduplicated.source_line,
    deduplicated.is_late_arrival,
    deduplicated.loaded_at

from deduplicated
{% if is_incremental() %}
    -- keep the newest landing: a copy already stored from a later day wins (a reload of
    -- an old day must not bring back a version the source has since replaced)
    where not exists (
        select 1
        from {{ this }} as stored
        where
            stored.event_id = deduplicated.event_id
            and stored.landing_date > deduplicated.landing_date
    )
{% endif %}
