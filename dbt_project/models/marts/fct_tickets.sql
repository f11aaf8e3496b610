{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- One row per ticket: its attributes and lifecycle facts, assembled from the intermediate
-- models of each metric family. Incremental runs re-derive the tickets in scope (see the
-- tickets_in_scope macro) from all their events.

with

tickets as (

    select * from {{ ref('stg_helpdesk__tickets') }}
    {% if is_windowed_run() %}
        where ticket_id in ({{ tickets_in_scope(pending_from=this) }})
    {% endif %}

),

bot_path as (

    select * from {{ ref('int_tickets__bot_path') }}

),

agent_activity as (

    select * from {{ ref('int_tickets__agent_activity') }}

),

resolution as (

    select * from {{ ref('int_tickets__resolution') }}

),

escalations as (

    select * from {{ ref('int_tickets__escalations') }}

),

csat as (

    select * from {{ ref('int_tickets__csat') }}

),

recontact as (

    select * from {{ ref('int_tickets__recontact') }}

),

reply_times as (

    select * from {{ ref('int_tickets__reply_times') }}

),

sla as (

    select * from {{ ref('int_tickets__sla') }}

),

event_summary as (

    select
        ticket_id,
        count(*) as events,
        max(event_at) as last_event_at
    from {{ ref('stg_helpdesk__ticket_events') }}
    where {{ in_ticket_scope(within='tickets') }}
    group by ticket_id

),

joined as (

    select
        tickets.*,
        bot_path.is_bot_handled,
        bot_path.bot_replies,
        bot_path.first_bot_reply_at,
        bot_path.bot_handoff_at,
        bot_path.is_handed_off,
        agent_activity.has_agent_touch,
        agent_activity.agent_touches,
        agent_activity.agent_replies,
        agent_activity.handle_seconds,
        agent_activity.distinct_agents,
        agent_activity.first_agent_assigned_at,
        agent_activity.first_agent_reply_at,
        reply_times.agent_queue_at,
        reply_times.first_reply_minutes,
        reply_times.first_reply_business_minutes,
        resolution.solves,
        resolution.reopens,
        resolution.is_reopened,
        resolution.first_solved_at,
        resolution.resolved_at,
        resolution.is_resolved,
        resolution.closed_at,
        reply_times.full_resolution_minutes,
        reply_times.full_resolution_business_minutes,
        escalations.escalations,
        escalations.max_support_tier,
        escalations.is_escalated,
        escalations.first_escalated_at,
        escalations.is_escalated_to_tier3,
        escalations.escalated_to_tier3_at,
        csat.has_csat_response,
        csat.csat_score,
        csat.is_csat_satisfied,
        csat.csat_responded_at,
        recontact.next_ticket_id as next_same_topic_ticket_id,
        recontact.days_resolution_to_next_ticket,
        recontact.is_recontacted,
        sla.is_sla_first_response_applicable,
        sla.first_response_target_minutes,
        sla.first_response_hours_basis,
        sla.first_response_elapsed_minutes,
        sla.first_response_due_at,
        sla.is_first_response_breached,
        sla.is_sla_resolution_applicable,
        sla.full_resolution_target_minutes,
        sla.full_resolution_hours_basis,
        sla.full_resolution_elapsed_minutes,
        sla.full_resolution_due_at,
        sla.is_full_resolution_breached,
        sla.data_as_of,
        coalesce(event_summary.events, 0) as events,
        event_summary.last_event_at,
        reply_times.first_resolution_minutes,
        reply_times.first_resolution_business_minutes,
        agent_activity.assignee_stations,
        agent_activity.unique_assignees

    from tickets
    inner join bot_path
        on tickets.ticket_id = bot_path.ticket_id
    inner join agent_activity
        on tickets.ticket_id = agent_activity.ticket_id
    inner join resolution
        on tickets.ticket_id = resolution.ticket_id
    inner join escalations
        on tickets.ticket_id = escalations.ticket_id
    inner join csat
        on tickets.ticket_id = csat.ticket_id
    inner join recontact
        on tickets.ticket_id = recontact.ticket_id
    inner join reply_times
        on tickets.ticket_id = reply_times.ticket_id
    inner join sla
        on tickets.ticket_id = sla.ticket_id
    left join event_summary
        on tickets.ticket_id = event_summary.ticket_id

),

derived as (

    select
        *,
        -- contained: bot-handled, resolved with no agent touch, never reopened, no re-contact
        is_bot_handled
        and is_resolved
        and not has_agent_touch
        and not is_reopened
        and not is_recontacted as is_contained,
        case
            when has_agent_touch and is_bot_handled then 'assisted'
            when has_agent_touch then 'agent'
            when is_resolved then 'automated'
            else 'unresolved'
        end as handling_path,
        -- first contact resolution: solved after at most one agent reply, never reopened
        is_resolved as is_fcr_eligible,
        is_resolved and agent_replies <= 1 and not is_reopened as is_fcr,
        -- dbt_zendesk's one/two-touch resolution: solved now with exactly one/two public
        -- agent replies (a reopen does not matter; an agent's own description is no reply)
        is_resolved and agent_replies = 1 as is_one_touch_resolution,
        is_resolved and agent_replies = 2 as is_two_touch_resolution

    from joined

),

final as (

    select
        cast(ticket_id as bigint) as ticket_id,
        cast(created_at as timestamp) as created_at,
        cast(created_at as date) as created_date,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(priority as {{ dbt.type_string() }}) as priority,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(requester_id as {{ dbt.type_string() }}) as requester_id,
        cast(subject_chars as integer) as subject_chars,
        cast(subject_sentiment as double) as subject_sentiment,
        cast(description_chars as integer) as description_chars,
        cast(description_sentiment as double) as description_sentiment,
        cast(description_language as {{ dbt.type_string() }}) as description_language,
        coalesce(description_sentiment < {{ var('negative_sentiment_threshold') }}, false)
            as is_negative_sentiment,

        cast(handling_path as {{ dbt.type_string() }}) as handling_path,
        is_bot_handled,
        cast(bot_replies as integer) as bot_replies,
        first_bot_reply_at,
        bot_handoff_at,
        is_handed_off,
        has_agent_touch,
        cast(agent_touches as integer) as agent_touches,
        cast(agent_replies as integer) as agent_replies,
        cast(handle_seconds as bigint) as handle_seconds,
        cast(distinct_agents as integer) as distinct_agents,
        first_agent_assigned_at,
        agent_queue_at,
        first_agent_reply_at,
        cast(first_reply_minutes as double) as first_reply_minutes,
        cast(first_reply_business_minutes as double) as first_reply_business_minutes,

        cast(solves as integer) as solves,
        cast(reopens as integer) as reopens,
        is_reopened,
        first_solved_at,
        resolved_at,
        cast(resolved_at as date) as resolved_date,
        is_resolved,
        -- THE definition of an open ticket (decisions.md, "Ticket lifecycle"): read by the
        -- incremental scope, scoring and the dashboards; the backlog counts the same tickets
        not is_resolved as is_open,
        closed_at,
        cast(full_resolution_minutes as double) as full_resolution_minutes,
        cast(full_resolution_business_minutes as double) as full_resolution_business_minutes,

        is_contained,
        cast(next_same_topic_ticket_id as bigint) as next_same_topic_ticket_id,
        cast(days_resolution_to_next_ticket as integer) as days_resolution_to_next_ticket,
        is_recontacted,
        is_fcr_eligible,
        is_fcr,

        cast(escalations as integer) as escalations,
        cast(max_support_tier as integer) as max_support_tier,
        is_escalated,
        first_escalated_at,
        is_escalated_to_tier3,
        escalated_to_tier3_at,

        has_csat_response,
        cast(csat_score as integer) as csat_score,
        is_csat_satisfied,
        csat_responded_at,

        is_sla_first_response_applicable,
        cast(first_response_target_minutes as integer) as sla_first_response_target_minutes,
        cast(first_response_hours_basis as {{ dbt.type_string() }}) as sla_first_response_hours_basis,
        cast(first_response_elapsed_minutes as double) as sla_first_response_elapsed_minutes,
        first_response_due_at as sla_first_response_due_at,
        is_first_response_breached as is_sla_first_response_breached,
        case when is_first_response_breached then first_response_due_at end
            as sla_first_response_breached_at,
        is_sla_resolution_applicable,
        cast(full_resolution_target_minutes as integer) as sla_resolution_target_minutes,
        cast(full_resolution_hours_basis as {{ dbt.type_string() }}) as sla_resolution_hours_basis,
        cast(full_resolution_elapsed_minutes as double) as sla_resolution_elapsed_minutes,
        full_resolution_due_at as sla_resolution_due_at,
        is_full_resolution_breached as is_sla_resolution_breached,
        case when is_full_resolution_breached then full_resolution_due_at end
            as sla_resolution_breached_at,

        cast(events as integer) as events,
        last_event_at,
        data_as_of,
        landing_date,
        source_file,
        cast(source_line as bigint) as source_line,

        cast(first_resolution_minutes as double) as first_resolution_minutes,
        cast(first_resolution_business_minutes as double) as first_resolution_business_minutes,
        cast(assignee_stations as integer) as assignee_stations,
        cast(unique_assignees as integer) as unique_assignees,
        is_one_touch_resolution,
        is_two_touch_resolution

    from derived

)

select * from final
