{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- First reply and full resolution times per ticket, in calendar and business minutes.
--
-- First reply runs from the moment the ticket entered the agent queue (its creation, or
-- for a bot-first ticket the bot's hand-off, or the first agent touch when an agent took it
-- over without a hand-off event) to the first public agent reply. First resolution runs from
-- creation to the first solve (or first closure of a never-solved ticket) and is kept after a
-- reopen; full resolution runs from creation to the final solve. Business minutes count only
-- the open minutes of the ticket's schedule (int_tickets__schedule: the source's schedule,
-- else the tier's clock; int_business_calendar): for the VIP tier clock (24x7) they equal
-- calendar minutes.

with

tickets as (

    select
        tickets.ticket_id,
        tickets.tier,
        schedules.schedule_id,
        tickets.created_at
    from {{ ref('stg_helpdesk__tickets') }} as tickets
    inner join {{ ref('int_tickets__schedule') }} as schedules
        on tickets.ticket_id = schedules.ticket_id
    where {{ in_ticket_scope('tickets.ticket_id') }}

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
        tickets.schedule_id,
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

moments as (

    -- the moments whose business clock is read, one row each
    select
        ticket_id,
        schedule_id,
        'created' as moment,
        created_at as moment_at
    from anchored
    union all
    select
        ticket_id,
        schedule_id,
        'queue' as moment,
        agent_queue_at as moment_at
    from anchored
    union all
    select
        ticket_id,
        schedule_id,
        'first_reply' as moment,
        first_agent_reply_at as moment_at
    from anchored
    union all
    select
        ticket_id,
        schedule_id,
        'resolved' as moment,
        resolved_at as moment_at
    from anchored
    union all
    select
        ticket_id,
        schedule_id,
        'first_resolved' as moment,
        first_resolved_at as moment_at
    from anchored

),

readings as (

    select
        moments.ticket_id,
        moments.moment,
        max({{ business_clock('moments.moment_at', 'calendar') }}) as business_clock
    from moments
    inner join calendar
        on {{ business_clock_join('moments.moment_at', 'moments.schedule_id', 'calendar') }}
    group by moments.ticket_id, moments.moment

),

clocked as (

    select
        anchored.*,
        max(case when readings.moment = 'created' then readings.business_clock end) as business_clock_at_created,
        max(case when readings.moment = 'queue' then readings.business_clock end) as business_clock_at_queue,
        max(case when readings.moment = 'first_reply' then readings.business_clock end)
            as business_clock_at_first_reply,
        max(case when readings.moment = 'resolved' then readings.business_clock end) as business_clock_at_resolved,
        max(case when readings.moment = 'first_resolved' then readings.business_clock end)
            as business_clock_at_first_resolved

    from anchored
    left join readings
        on anchored.ticket_id = readings.ticket_id
    group by
        anchored.ticket_id,
        anchored.tier,
        anchored.schedule_id,
        anchored.created_at,
        anchored.agent_queue_at,
        anchored.first_agent_reply_at,
        anchored.resolved_at,
        anchored.first_resolved_at

),

final as (

    select
        ticket_id,
        tier,
        schedule_id,
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
