-- First reply and full resolution times per ticket, in calendar and business minutes.
--
-- First reply runs from the moment the ticket entered the agent queue (its creation, or
-- for a bot-first ticket the bot's hand-off, or the first agent touch when an agent took it
-- over without a hand-off event) to the first public agent reply. First resolution runs from
-- creation to the first solve (or first closure of a never-solved ticket) and is kept after a
-- reopen; full resolution runs from creation to the final solve. Business minutes count only
-- the open minutes of the ticket's tier (int_business_calendar): for VIP (24x7) they equal
-- calendar minutes.

with

tickets as (

    select
        ticket_id,
        tier,
        created_at
    from {{ ref('stg_helpdesk__tickets') }}

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

calendar as (

    select * from {{ ref('int_business_calendar') }}

),

anchored as (

    select
        tickets.ticket_id,
        tickets.tier,
        tickets.created_at,
        case
            when not bot_path.is_bot_handled then tickets.created_at
            else
                coalesce(
                    least(bot_path.bot_handoff_at, agent_activity.first_agent_touch_at),
                    bot_path.bot_handoff_at,
                    agent_activity.first_agent_touch_at
                )
        end as agent_queue_at,
        agent_activity.first_agent_reply_at,
        resolution.resolved_at,
        resolution.first_resolved_at

    from tickets
    inner join bot_path
        on tickets.ticket_id = bot_path.ticket_id
    inner join agent_activity
        on tickets.ticket_id = agent_activity.ticket_id
    inner join resolution
        on tickets.ticket_id = resolution.ticket_id

),

clocked as (

    select
        anchored.*,
        {{ business_clock('anchored.created_at', 'at_created') }} as business_clock_at_created,
        {{ business_clock('anchored.agent_queue_at', 'at_queue') }} as business_clock_at_queue,
        {{ business_clock('anchored.first_agent_reply_at', 'at_first_reply') }} as business_clock_at_first_reply,
        {{ business_clock('anchored.resolved_at', 'at_resolved') }} as business_clock_at_resolved,
        {{ business_clock('anchored.first_resolved_at', 'at_first_resolved') }} as business_clock_at_first_resolved

    from anchored
    left join calendar as at_created
        on
            anchored.tier = at_created.tier
            and cast(anchored.created_at as date) = at_created.calendar_date
    left join calendar as at_queue
        on
            anchored.tier = at_queue.tier
            and cast(anchored.agent_queue_at as date) = at_queue.calendar_date
    left join calendar as at_first_reply
        on
            anchored.tier = at_first_reply.tier
            and cast(anchored.first_agent_reply_at as date) = at_first_reply.calendar_date
    left join calendar as at_resolved
        on
            anchored.tier = at_resolved.tier
            and cast(anchored.resolved_at as date) = at_resolved.calendar_date
    left join calendar as at_first_resolved
        on
            anchored.tier = at_first_resolved.tier
            and cast(anchored.first_resolved_at as date) = at_first_resolved.calendar_date

),

final as (

    select
        ticket_id,
        tier,
        created_at,
        agent_queue_at,
        first_agent_reply_at,
        resolved_at,
        business_clock_at_created,
        business_clock_at_queue,
        business_clock_at_first_reply,
        business_clock_at_resolved,
        -- greatest() skips NULLs, so guard it: no agent reply means no first reply time
        case
            when first_agent_reply_at is not null
                then greatest({{ minutes_between('agent_queue_at', 'first_agent_reply_at') }}, 0)
        end as first_reply_minutes,
        case
            when first_agent_reply_at is not null
                then greatest(business_clock_at_first_reply - business_clock_at_queue, 0)
        end as first_reply_business_minutes,
        {{ minutes_between('created_at', 'resolved_at') }} as full_resolution_minutes,
        business_clock_at_resolved - business_clock_at_created as full_resolution_business_minutes,
        first_resolved_at,
        business_clock_at_first_resolved,
        {{ minutes_between('created_at', 'first_resolved_at') }} as first_resolution_minutes,
        business_clock_at_first_resolved - business_clock_at_created as first_resolution_business_minutes

    from clocked

)

select * from final
