{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='message_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

with

source as (

    select * from {{ source('telemetry', 'events') }}
    where {{ in_window('_landing_date') }}

),

renamed as (

    select
        message_id,
        {{ adapter.quote("timestamp") }} as event_at,
        cast({{ adapter.quote("timestamp") }} as date) as event_date,
        account_id,
        user_id,
        event as event_name,
        feature,
        platform,
        error_code,
        _landing_date as landing_date,
        _source_file as source_file,
        _source_line as source_line,
        _is_late as is_late_arrival,
        _loaded_at as loaded_at

    from source

),

repeated_keys as (

    -- most keys come once: only the repeated ones need ranking
    select message_id
    from renamed
    group by message_id
    having count(*) > 1

),

ranked as (

    select
        *,
        1 as copy_number
    from renamed
    where message_id not in (select message_id from repeated_keys)

    union all

    select
        *,
        row_number() over (
            partition by message_id
            order by landing_date desc, source_file desc, source_line desc
        ) as copy_number
    from renamed
    where message_id in (select message_id from repeated_keys)

),

deduplicated as (

    -- the newest landing of each key: a record re-sent later is its newer version
    select * from ranked
    where copy_number = 1

)

select
    deduplicated.message_id,
    deduplicated.event_at,
    deduplicated.event_date,
    deduplicated.account_id,
    deduplicated.user_id,
    deduplicated.event_name,
    deduplicated.feature,
    deduplicated.platform,
    deduplicated.error_code,
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
            stored.message_id = deduplicated.message_id
            and stored.landing_date > deduplicated.landing_date
    )
{% endif %}
