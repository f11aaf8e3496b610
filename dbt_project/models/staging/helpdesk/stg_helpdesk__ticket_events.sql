{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='event_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

with

source as {{ not_materialized() }} (

    select * from {{ source('helpdesk', 'ticket_events') }}
    where {{ in_window('_landing_date') }}

),

renamed as {{ not_materialized() }} (

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

{{ newest_landing_ctes('renamed', 'event_id', source('helpdesk', 'ticket_events')) }}

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
{{ not_replaced_by_stored('event_id') }}
