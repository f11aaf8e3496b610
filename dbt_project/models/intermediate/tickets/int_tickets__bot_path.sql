{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- The bot path of each ticket: whether a bot (or self-service flow) touched it first, its
-- replies and hand-off, and the first exchange (the bot's first reply and the requester's
-- answer to it), which the escalation model may use as "known at the start".

with

tickets as (

    select
        ticket_id,
        channel
    from {{ ref('stg_helpdesk__tickets') }}
    where {{ in_ticket_scope() }}

),

events as (

    select * from {{ ref('stg_helpdesk__ticket_events') }}
    where {{ in_ticket_scope(within='tickets') }}

),

touches as (

    -- a touch is any event a bot or an agent made
    select
        ticket_id,
        actor_type,
        row_number() over (partition by ticket_id order by event_at, event_id) as touch_number
    from events
    where actor_type in ('bot', 'agent')

),

first_touch as (

    select
        ticket_id,
        actor_type as first_touch_actor_type
    from touches
    where touch_number = 1

),

bot_replies as (

    select
        ticket_id,
        event_at,
        body_chars,
        body_sentiment,
        row_number() over (partition by ticket_id order by event_at, event_id) as reply_number
    from events
    where event_type = 'bot_reply'

),

first_bot_reply as (

    select
        ticket_id,
        event_at as first_bot_reply_at,
        body_chars as first_bot_reply_chars,
        body_sentiment as first_bot_reply_sentiment
    from bot_replies
    where reply_number = 1

),

bot_activity as (

    select
        ticket_id,
        sum(case when event_type = 'bot_reply' then 1 else 0 end) as bot_replies,
        min(case when event_type = 'bot_handoff' then event_at end) as bot_handoff_at,
        min(case when actor_type = 'agent' then event_at end) as first_agent_event_at
    from events
    group by ticket_id

),

requester_followups as (

    -- the requester's first message after the bot's first reply, before any agent acted
    select
        events.ticket_id,
        events.body_chars,
        events.body_sentiment,
        row_number() over (
            partition by events.ticket_id order by events.event_at, events.event_id
        ) as followup_number
    from events
    inner join first_bot_reply
        on events.ticket_id = first_bot_reply.ticket_id
    left join bot_activity
        on events.ticket_id = bot_activity.ticket_id
    where
        events.event_type = 'requester_reply'
        and events.event_at > first_bot_reply.first_bot_reply_at
        and (
            bot_activity.first_agent_event_at is null
            or events.event_at < bot_activity.first_agent_event_at
        )

),

first_followup as (

    select
        ticket_id,
        body_chars as requester_followup_chars,
        body_sentiment as requester_followup_sentiment
    from requester_followups
    where followup_number = 1

),

final as (

    select
        tickets.ticket_id,
        coalesce(first_touch.first_touch_actor_type = 'bot', false)
        or tickets.channel = 'bot' as is_bot_handled,
        first_touch.first_touch_actor_type,
        coalesce(bot_activity.bot_replies, 0) as bot_replies,
        first_bot_reply.first_bot_reply_at,
        first_bot_reply.first_bot_reply_chars,
        first_bot_reply.first_bot_reply_sentiment,
        first_followup.requester_followup_chars,
        first_followup.requester_followup_sentiment,
        bot_activity.bot_handoff_at,
        bot_activity.bot_handoff_at is not null as is_handed_off

    from tickets
    left join first_touch
        on tickets.ticket_id = first_touch.ticket_id
    left join bot_activity
        on tickets.ticket_id = bot_activity.ticket_id
    left join first_bot_reply
        on tickets.ticket_id = first_bot_reply.ticket_id
    left join first_followup
        on tickets.ticket_id = first_followup.ticket_id

)

select * from final
