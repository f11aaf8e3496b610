{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- Escalations per ticket. Tickets enter support at tier 1; a ticket is escalated when it
-- moves above the tier it entered (to tier 2 or 3), and escalated to tier 3 (the
-- escalation model's label) when any escalation targets tier 3.

with

tickets as (

    select ticket_id from {{ ref('stg_helpdesk__tickets') }}
    where {{ in_ticket_scope() }}

),

escalations as (

    select
        ticket_id,
        event_at,
        escalated_to_tier
    from {{ ref('stg_helpdesk__ticket_events') }}
    where event_type = 'escalated' and {{ in_ticket_scope(within='tickets') }}

),

per_ticket as (

    select
        ticket_id,
        count(*) as escalations,
        max(escalated_to_tier) as max_support_tier,
        min(case when escalated_to_tier > 1 then event_at end) as first_escalated_at,
        min(case when escalated_to_tier = 3 then event_at end) as escalated_to_tier3_at
    from escalations
    group by ticket_id

),

final as (

    select
        tickets.ticket_id,
        1 as entry_support_tier,
        coalesce(per_ticket.escalations, 0) as escalations,
        coalesce(per_ticket.max_support_tier, 1) as max_support_tier,
        per_ticket.first_escalated_at,
        per_ticket.escalated_to_tier3_at,
        coalesce(per_ticket.max_support_tier, 1) > 1 as is_escalated,
        per_ticket.escalated_to_tier3_at is not null as is_escalated_to_tier3

    from tickets
    left join per_ticket
        on tickets.ticket_id = per_ticket.ticket_id

)

select * from final
