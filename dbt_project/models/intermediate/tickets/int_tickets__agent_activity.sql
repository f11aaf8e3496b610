{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- Agent work per ticket: touches (any event an agent made), public replies, handle time
-- (the `handle_seconds` agents log on their events) and the first assignment and reply.

with

tickets as (

    select ticket_id from {{ ref('stg_helpdesk__tickets') }}
    where {{ in_ticket_scope() }}

),

agent_events as (

    select *
    from {{ ref('stg_helpdesk__ticket_events') }}
    where
        (actor_type = 'agent' or event_type in ('agent_assigned', 'agent_reply'))
        and {{ in_ticket_scope(within='tickets') }}

),

per_ticket as (

    select
        ticket_id,
        sum(case when actor_type = 'agent' then 1 else 0 end) as agent_touches,
        sum(case when event_type = 'agent_reply' then 1 else 0 end) as agent_replies,
        sum(case when actor_type = 'agent' then coalesce(handle_seconds, 0) else 0 end) as handle_seconds,
        count(distinct case when actor_type = 'agent' then actor_id end) as distinct_agents,
        min(case when event_type = 'agent_assigned' then event_at end) as first_agent_assigned_at,
        min(case when event_type = 'agent_reply' then event_at end) as first_agent_reply_at,
        max(case when event_type = 'agent_reply' then event_at end) as last_agent_reply_at,
        min(case when actor_type = 'agent' then event_at end) as first_agent_touch_at,
        -- dbt_zendesk's assignee_stations_count (assignments: A, B, A is 3) and
        -- unique_assignee_count (A, B, A is 2); the assigned agent is the event's actor
        sum(case when event_type = 'agent_assigned' then 1 else 0 end) as assignee_stations,
        count(distinct case when event_type = 'agent_assigned' then actor_id end) as unique_assignees
    from agent_events
    group by ticket_id

),

final as (

    select
        tickets.ticket_id,
        coalesce(per_ticket.agent_touches, 0) as agent_touches,
        coalesce(per_ticket.agent_replies, 0) as agent_replies,
        coalesce(per_ticket.handle_seconds, 0) as handle_seconds,
        coalesce(per_ticket.distinct_agents, 0) as distinct_agents,
        coalesce(per_ticket.agent_touches, 0) > 0 as has_agent_touch,
        per_ticket.first_agent_assigned_at,
        per_ticket.first_agent_reply_at,
        per_ticket.last_agent_reply_at,
        per_ticket.first_agent_touch_at,
        coalesce(per_ticket.assignee_stations, 0) as assignee_stations,
        coalesce(per_ticket.unique_assignees, 0) as unique_assignees

    from tickets
    left join per_ticket
        on tickets.ticket_id = per_ticket.ticket_id

)

select * from final
