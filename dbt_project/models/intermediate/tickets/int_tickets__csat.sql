{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- The satisfaction survey answer per ticket: the latest csat_response counts (a requester
-- who re-rates replaces the earlier score). Satisfied = score 4 or 5 of 5. Tickets without
-- a response have no score and count in no CSAT denominator.

with

tickets as (

    select ticket_id from {{ ref('stg_helpdesk__tickets') }}
    where {{ in_ticket_scope() }}

),

responses as (

    select
        ticket_id,
        csat_score,
        event_at,
        row_number() over (partition by ticket_id order by event_at desc, event_id desc) as recency
    from {{ ref('stg_helpdesk__ticket_events') }}
    where
        event_type = 'csat_response'
        and csat_score is not null
        and {{ in_ticket_scope(within='tickets') }}

),

latest as (

    select
        ticket_id,
        csat_score,
        event_at as csat_responded_at
    from responses
    where recency = 1

),

final as (

    select
        tickets.ticket_id,
        latest.csat_score is not null as has_csat_response,
        latest.csat_score,
        latest.csat_responded_at,
        case when latest.csat_score is not null then latest.csat_score >= 4 end as is_csat_satisfied

    from tickets
    left join latest
        on tickets.ticket_id = latest.ticket_id

)

select * from final
