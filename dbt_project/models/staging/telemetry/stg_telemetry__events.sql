{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='message_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

with

source as {{ not_materialized() }} (

    select * from {{ source('telemetry', 'events') }}
    where {{ in_window('_landing_date') }}

),

renamed as {{ not_materialized() }} (

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

{{ newest_landing_ctes('renamed', 'message_id', source('telemetry', 'events')) }}

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
{{ not_replaced_by_stored('message_id') }}
