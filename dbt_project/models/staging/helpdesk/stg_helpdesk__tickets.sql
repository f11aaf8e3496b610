{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

with

source as {{ not_materialized() }} (

    select * from {{ source('helpdesk', 'tickets') }}
    where {{ in_window('_landing_date') }}

),

renamed as {{ not_materialized() }} (

    select
        ticket_id,
        created_at,
        channel,
        category,
        priority,
        tier,
        account_id,
        requester_id,
        requester_email_hash,
        requester_name_hash,
        requester_phone_hash,
        subject_chars,
        subject_sentiment,
        subject_language,
        description_chars,
        description_sentiment,
        description_language,
        schedule_id,
        _landing_date as landing_date,
        _source_file as source_file,
        _source_line as source_line,
        _is_late as is_late_arrival,
        _loaded_at as loaded_at

    from source

),

{{ newest_landing_ctes('renamed', 'ticket_id', source('helpdesk', 'tickets')) }}

select
    deduplicated.ticket_id,
    deduplicated.created_at,
    deduplicated.channel,
    deduplicated.category,
    deduplicated.priority,
    deduplicated.tier,
    deduplicated.account_id,
    deduplicated.requester_id,
    deduplicated.requester_email_hash,
    deduplicated.requester_name_hash,
    deduplicated.requester_phone_hash,
    deduplicated.subject_chars,
    deduplicated.subject_sentiment,
    deduplicated.subject_language,
    deduplicated.description_chars,
    deduplicated.description_sentiment,
    deduplicated.description_language,
    deduplicated.schedule_id,
    deduplicated.landing_date,
    deduplicated.source_file,
    deduplicated.source_line,
    deduplicated.is_late_arrival,
    deduplicated.loaded_at

from deduplicated
{{ not_replaced_by_stored('ticket_id') }}
