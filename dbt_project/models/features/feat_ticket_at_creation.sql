{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- depends_on: {{ ref('stg_helpdesk__ticket_events') }}

-- What is known about a ticket when it is created, for the escalation model: its own
-- attributes and text features, the bot's first exchange (the bot's first reply and the
-- requester's answer, before any agent acts), the requester's earlier tickets (counting
-- only what had happened before this ticket's creation) and the account's features as of
-- the creation day (feat_account_daily: events before that day). The label (escalated to
-- tier 3) is not here: it is fct_tickets.is_escalated_to_tier3.

with

tickets as (

    select * from {{ ref('stg_helpdesk__tickets') }}
    {% if is_windowed_run() %}
        where
            ticket_id in ({{ tickets_in_scope() }})
            or {{ in_window('cast(created_at as date)', lookback=var('lookback_days')) }}
    {% endif %}

),

bot_path as (

    select * from {{ ref('int_tickets__bot_path') }}

),

in_business_hours as (

    -- tickets created inside a business window of their schedule
    select distinct tickets.ticket_id
    from tickets
    inner join {{ ref('int_tickets__schedule') }} as schedules
        on tickets.ticket_id = schedules.ticket_id
    inner join {{ ref('int_business_calendar') }} as calendar
        on
            {{ business_clock_join('tickets.created_at', 'schedules.schedule_id', 'calendar') }}
            and calendar.business_minutes > 0
            and tickets.created_at < calendar.closes_at

),

history as (

    -- every earlier ticket of the same requester, with what was known of it by then
    select
        earlier.ticket_id,
        earlier.requester_id,
        earlier.category,
        earlier.created_at,
        earlier.first_escalated_at
    from {{ ref('fct_tickets') }} as earlier
    where earlier.requester_id in (select requester_id from tickets)

),

requester_history as (

    select
        tickets.ticket_id,
        count(history.ticket_id) as requester_prior_tickets,
        sum(case
            when history.created_at >= {{ dbt.dateadd('day', -30, 'tickets.created_at') }} then 1 else 0
        end) as requester_prior_tickets_30d,
        sum(case
            when
                history.category = tickets.category
                and history.created_at >= {{ dbt.dateadd('day', -7, 'tickets.created_at') }}
                then 1
            else 0
        end) as requester_prior_same_category_7d,
        sum(case
            when history.first_escalated_at < tickets.created_at then 1 else 0
        end) as requester_prior_escalated_tickets,
        max(history.created_at) as requester_last_ticket_at
    from tickets
    left join history
        on
            tickets.requester_id = history.requester_id
            and tickets.created_at > history.created_at
    group by tickets.ticket_id

),

account_features as (

    select * from {{ ref('feat_account_daily') }}

),

final as (

    select
        cast(tickets.ticket_id as bigint) as ticket_id,
        cast(tickets.created_at as timestamp) as created_at,
        cast(tickets.created_at as date) as created_date,
        cast(tickets.account_id as {{ dbt.type_string() }}) as account_id,
        cast(tickets.requester_id as {{ dbt.type_string() }}) as requester_id,
        cast(tickets.channel as {{ dbt.type_string() }}) as channel,
        cast(tickets.category as {{ dbt.type_string() }}) as category,
        cast(tickets.priority as {{ dbt.type_string() }}) as priority,
        cast(tickets.tier as {{ dbt.type_string() }}) as tier,
        cast({{ hour_of_day('tickets.created_at') }} as integer) as created_hour,
        cast({{ iso_day_of_week('tickets.created_at') }} as integer) as created_iso_day_of_week,
        in_business_hours.ticket_id is not null as is_created_in_business_hours,
        cast(tickets.subject_chars as integer) as subject_chars,
        cast(tickets.subject_sentiment as double) as subject_sentiment,
        cast(tickets.description_chars as integer) as description_chars,
        cast(tickets.description_sentiment as double) as description_sentiment,
        cast(tickets.description_language as {{ dbt.type_string() }}) as description_language,
        coalesce(tickets.description_sentiment < {{ var('negative_sentiment_threshold') }}, false)
            as is_negative_sentiment,

        bot_path.first_bot_reply_at is not null as has_bot_exchange,
        cast(
            {{ dbt.datediff('tickets.created_at', 'bot_path.first_bot_reply_at', 'second') }}
            as integer
        ) as bot_first_reply_seconds,
        cast(bot_path.first_bot_reply_chars as integer) as bot_first_reply_chars,
        cast(bot_path.first_bot_reply_sentiment as double) as bot_first_reply_sentiment,
        cast(bot_path.requester_followup_chars as integer) as requester_followup_chars,
        cast(bot_path.requester_followup_sentiment as double) as requester_followup_sentiment,

        cast(requester_history.requester_prior_tickets as integer) as requester_prior_tickets,
        cast(requester_history.requester_prior_tickets_30d as integer) as requester_prior_tickets_30d,
        cast(requester_history.requester_prior_same_category_7d as integer) as requester_prior_same_category_7d,
        cast(requester_history.requester_prior_escalated_tickets as integer) as requester_prior_escalated_tickets,
        cast(
            {{ days_between(
                'cast(requester_history.requester_last_ticket_at as date)',
                'cast(tickets.created_at as date)',
            ) }}
            as integer
        ) as requester_days_since_last_ticket,

        account_features.as_of_date is not null as has_account_features,
        cast(account_features.tickets_14d as integer) as account_tickets_14d,
        cast(account_features.tickets_30d as integer) as account_tickets_30d,
        cast(account_features.negative_sentiment_share_30d as double) as account_negative_sentiment_share_30d,
        cast(account_features.sla_breaches_30d as integer) as account_sla_breaches_30d,
        cast(account_features.escalations_30d as integer) as account_escalations_30d,
        cast(account_features.tier3_escalations_30d as integer) as account_tier3_escalations_30d,
        cast(account_features.csat_avg_30d as double) as account_csat_avg_30d,
        cast(account_features.events_7d as integer) as account_events_7d,
        cast(account_features.usage_change_7d_vs_prior_28d as double) as account_usage_change_7d_vs_prior_28d,
        cast(account_features.active_users_28d as integer) as account_active_users_28d,
        cast(account_features.segment as {{ dbt.type_string() }}) as account_segment,
        cast(account_features.plan as {{ dbt.type_string() }}) as account_plan,
        cast(account_features.seats as integer) as account_seats,
        cast(account_features.arr as double) as account_arr,
        cast(account_features.tenure_days as integer) as account_tenure_days,
        cast(account_features.days_to_renewal as integer) as account_days_to_renewal

    from tickets
    left join bot_path
        on tickets.ticket_id = bot_path.ticket_id
    left join requester_history
        on tickets.ticket_id = requester_history.ticket_id
    left join in_business_hours
        on tickets.ticket_id = in_business_hours.ticket_id
    left join account_features
        on
            tickets.account_id = account_features.account_id
            and cast(tickets.created_at as date) = account_features.as_of_date

)

select * from final
