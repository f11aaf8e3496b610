{{ config(materialized='table') }}

-- Support KPIs per day x channel x category x tier x segment x handling path, as ADDITIVE numerators
-- and denominators: any roll-up (by week, by channel, overall) is a sum, and every rate
-- is sum(numerator) / sum(denominator), never an average of daily rates.
--
-- Day attribution (docs/decisions.md):
-- - ticket outcomes (volume, bot path, containment, handle time, reply and resolution
--   times, SLA, FCR, escalations, reopens, CSAT, costs) count on the ticket's creation day;
-- - solved_tickets counts on the day of the final solve;
-- - backlog_tickets is the stock of open tickets at the end of the day (do not sum it over
--   days: take the last day's value).
-- Costs use the cost_model prices in force on the creation day; the day's platform cost is
-- shared by the tickets created that day. Sums of minutes and dollars are rounded to 6
-- decimals so that a rebuild gives the same bytes whatever the summation order.
-- segment is the account's segment on the creation day (dim_accounts' validity), 'unknown'
-- when the account has no CRM version that day, so a segment filter is a WHERE on this mart.

with

accounts as (

    select
        account_id,
        segment,
        valid_from,
        valid_to
    from {{ ref('dim_accounts') }}

),

tickets as (

    select
        fct_tickets.*,
        coalesce(accounts.segment, 'unknown') as segment
    from {{ ref('fct_tickets') }} as fct_tickets
    left join accounts
        on
            fct_tickets.account_id = accounts.account_id
            and fct_tickets.created_date >= accounts.valid_from
            and (accounts.valid_to is null or fct_tickets.created_date < accounts.valid_to)

),

ticket_events as (

    select
        ticket_id,
        event_date,
        open_state_change
    from {{ ref('fct_ticket_events') }}
    where open_state_change <> 0

),

rates as (

    select * from {{ ref('int_cost_rates_daily') }}

),

calendar as (

    select calendar_date from {{ ref('int_calendar_days') }}

),

tickets_per_day as (

    select
        created_date,
        count(*) as tickets_created
    from tickets
    group by created_date

),

platform_cost_per_day as (

    select
        calendar_date,
        max(platform_day_cost_usd) as platform_day_cost_usd
    from rates
    group by calendar_date

),

ticket_outcomes as (

    select
        tickets.created_date as kpi_date,
        tickets.channel,
        tickets.category,
        tickets.tier,
        tickets.segment,
        tickets.handling_path,
        1 as tickets,
        case when tickets.is_bot_handled then 1 else 0 end as bot_handled_tickets,
        case when tickets.is_contained then 1 else 0 end as contained_tickets,
        case when tickets.bot_replies > 0 then 1 else 0 end as bot_conversations,
        case when tickets.has_agent_touch then 1 else 0 end as agent_touched_tickets,
        tickets.agent_replies,
        tickets.handle_seconds,
        case when tickets.first_reply_minutes is not null then 1 else 0 end as first_reply_tickets,
        coalesce(tickets.first_reply_minutes, 0) as first_reply_minutes_sum,
        coalesce(tickets.first_reply_business_minutes, 0) as first_reply_business_minutes_sum,
        case when tickets.full_resolution_minutes is not null then 1 else 0 end as full_resolution_tickets,
        coalesce(tickets.full_resolution_minutes, 0) as full_resolution_minutes_sum,
        coalesce(tickets.full_resolution_business_minutes, 0) as full_resolution_business_minutes_sum,
        case when tickets.is_sla_first_response_applicable then 1 else 0 end as sla_first_response_applicable,
        case when tickets.is_sla_first_response_breached then 1 else 0 end as sla_first_response_breached,
        case when tickets.is_sla_resolution_applicable then 1 else 0 end as sla_resolution_applicable,
        case when tickets.is_sla_resolution_breached then 1 else 0 end as sla_resolution_breached,
        -- per ticket: under at least one SLA, and none of the SLAs that apply breached
        case
            when tickets.is_sla_first_response_applicable or tickets.is_sla_resolution_applicable then 1 else 0
        end as sla_tickets,
        case
            when
                (tickets.is_sla_first_response_applicable or tickets.is_sla_resolution_applicable)
                and not coalesce(
                    tickets.is_sla_first_response_applicable and tickets.is_sla_first_response_breached, false
                )
                and not coalesce(tickets.is_sla_resolution_applicable and tickets.is_sla_resolution_breached, false)
                then 1
            else 0
        end as sla_all_met_tickets,
        case when tickets.is_fcr_eligible then 1 else 0 end as fcr_eligible_tickets,
        case when tickets.is_fcr then 1 else 0 end as fcr_tickets,
        case when tickets.is_escalated then 1 else 0 end as escalated_tickets,
        case when tickets.is_escalated_to_tier3 then 1 else 0 end as escalated_to_tier3_tickets,
        case when tickets.is_reopened then 1 else 0 end as reopened_tickets,
        case when tickets.has_csat_response then 1 else 0 end as csat_responses,
        case when tickets.is_csat_satisfied then 1 else 0 end as csat_satisfied_responses,
        coalesce(tickets.csat_score, 0) as csat_score_sum,
        case when tickets.is_negative_sentiment then 1 else 0 end as negative_sentiment_tickets,
        tickets.handle_seconds / cast(3600 as double) * coalesce(rates.agent_hour_cost_usd, 0) as agent_cost_usd,
        case
            when tickets.bot_replies > 0 then coalesce(rates.bot_conversation_cost_usd, 0) else 0
        end as bot_cost_usd,
        coalesce(platform_cost_per_day.platform_day_cost_usd, 0) / tickets_per_day.tickets_created
            as platform_cost_usd

    from tickets
    inner join tickets_per_day
        on tickets.created_date = tickets_per_day.created_date
    left join rates
        on
            tickets.created_date = rates.calendar_date
            and tickets.tier = rates.tier
    left join platform_cost_per_day
        on tickets.created_date = platform_cost_per_day.calendar_date

),

{%- set outcome_measures = [
    'tickets', 'bot_handled_tickets', 'contained_tickets', 'bot_conversations',
    'agent_touched_tickets', 'agent_replies', 'handle_seconds',
    'first_reply_tickets', 'first_reply_minutes_sum', 'first_reply_business_minutes_sum',
    'full_resolution_tickets', 'full_resolution_minutes_sum', 'full_resolution_business_minutes_sum',
    'sla_first_response_applicable', 'sla_first_response_breached',
    'sla_resolution_applicable', 'sla_resolution_breached', 'sla_tickets', 'sla_all_met_tickets',
    'fcr_eligible_tickets', 'fcr_tickets',
    'escalated_tickets', 'escalated_to_tier3_tickets', 'reopened_tickets',
    'csat_responses', 'csat_satisfied_responses', 'csat_score_sum',
    'negative_sentiment_tickets', 'agent_cost_usd', 'bot_cost_usd', 'platform_cost_usd',
] %}

outcomes_daily as (

    select
        kpi_date,
        channel,
        category,
        tier,
        segment,
        handling_path,
        {%- for measure in outcome_measures %}
        sum({{ measure }}) as {{ measure }},
        {%- endfor %}
        count(*) as opened_tickets
    from ticket_outcomes
    group by kpi_date, channel, category, tier, segment, handling_path

),

solves_daily as (

    select
        resolved_date as kpi_date,
        channel,
        category,
        tier,
        segment,
        handling_path,
        count(*) as solved_tickets
    from tickets
    where is_resolved
    group by resolved_date, channel, category, tier, segment, handling_path

),

state_changes_daily as (

    select
        ticket_events.event_date as kpi_date,
        tickets.channel,
        tickets.category,
        tickets.tier,
        tickets.segment,
        tickets.handling_path,
        sum(ticket_events.open_state_change) as open_state_change
    from ticket_events
    inner join tickets
        on ticket_events.ticket_id = tickets.ticket_id
    group by
        ticket_events.event_date,
        tickets.channel,
        tickets.category,
        tickets.tier,
        tickets.segment,
        tickets.handling_path

),

activity_keys as (

    {%- for daily in ['outcomes_daily', 'solves_daily', 'state_changes_daily'] %}
    select
        kpi_date,
        channel,
        category,
        tier,
        segment,
        handling_path
    from {{ daily }}
    {{ 'union' if not loop.last }}
    {%- endfor %}

),

combinations as (

    select distinct
        channel,
        category,
        tier,
        segment,
        handling_path
    from activity_keys

),

bounds as (

    select
        min(kpi_date) as first_day,
        max(kpi_date) as last_day
    from activity_keys

),

reporting_days as (

    select calendar.calendar_date as kpi_date
    from calendar
    inner join bounds
        on calendar.calendar_date between bounds.first_day and bounds.last_day

),

dense as (

    -- every day x combination, so the running backlog carries over quiet days
    select
        reporting_days.kpi_date,
        combinations.channel,
        combinations.category,
        combinations.tier,
        combinations.segment,
        combinations.handling_path,
        {%- for measure in outcome_measures %}
        coalesce(outcomes_daily.{{ measure }}, 0) as {{ measure }},
        {%- endfor %}
        coalesce(solves_daily.solved_tickets, 0) as solved_tickets,
        -- a ticket opens on its creation day; events then close and reopen it
        coalesce(outcomes_daily.opened_tickets, 0)
        + coalesce(state_changes_daily.open_state_change, 0) as backlog_change
    from reporting_days
    cross join combinations
    left join outcomes_daily
        on
            reporting_days.kpi_date = outcomes_daily.kpi_date
            and combinations.channel = outcomes_daily.channel
            and combinations.category = outcomes_daily.category
            and combinations.tier = outcomes_daily.tier
            and combinations.segment = outcomes_daily.segment
            and combinations.handling_path = outcomes_daily.handling_path
    left join solves_daily
        on
            reporting_days.kpi_date = solves_daily.kpi_date
            and combinations.channel = solves_daily.channel
            and combinations.category = solves_daily.category
            and combinations.tier = solves_daily.tier
            and combinations.segment = solves_daily.segment
            and combinations.handling_path = solves_daily.handling_path
    left join state_changes_daily
        on
            reporting_days.kpi_date = state_changes_daily.kpi_date
            and combinations.channel = state_changes_daily.channel
            and combinations.category = state_changes_daily.category
            and combinations.tier = state_changes_daily.tier
            and combinations.segment = state_changes_daily.segment
            and combinations.handling_path = state_changes_daily.handling_path

),

with_backlog as (

    select
        *,
        sum(backlog_change) over (
            partition by channel, category, tier, segment, handling_path
            order by kpi_date
            rows between unbounded preceding and current row
        ) as backlog_tickets
    from dense

),

final as (

    select
        cast(kpi_date as date) as kpi_date,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(handling_path as {{ dbt.type_string() }}) as handling_path,
        cast(tickets as integer) as tickets,
        cast(bot_handled_tickets as integer) as bot_handled_tickets,
        cast(contained_tickets as integer) as contained_tickets,
        cast(bot_conversations as integer) as bot_conversations,
        cast(agent_touched_tickets as integer) as agent_touched_tickets,
        cast(agent_replies as integer) as agent_replies,
        cast(handle_seconds as bigint) as handle_seconds,
        cast(first_reply_tickets as integer) as first_reply_tickets,
        cast(round(first_reply_minutes_sum, 6) as double) as first_reply_minutes_sum,
        cast(round(first_reply_business_minutes_sum, 6) as double) as first_reply_business_minutes_sum,
        cast(full_resolution_tickets as integer) as full_resolution_tickets,
        cast(round(full_resolution_minutes_sum, 6) as double) as full_resolution_minutes_sum,
        cast(round(full_resolution_business_minutes_sum, 6) as double) as full_resolution_business_minutes_sum,
        cast(sla_first_response_applicable as integer) as sla_first_response_applicable,
        cast(sla_first_response_breached as integer) as sla_first_response_breached,
        cast(sla_resolution_applicable as integer) as sla_resolution_applicable,
        cast(sla_resolution_breached as integer) as sla_resolution_breached,
        cast(sla_tickets as integer) as sla_tickets,
        cast(sla_all_met_tickets as integer) as sla_all_met_tickets,
        cast(fcr_eligible_tickets as integer) as fcr_eligible_tickets,
        cast(fcr_tickets as integer) as fcr_tickets,
        cast(escalated_tickets as integer) as escalated_tickets,
        cast(escalated_to_tier3_tickets as integer) as escalated_to_tier3_tickets,
        cast(reopened_tickets as integer) as reopened_tickets,
        cast(csat_responses as integer) as csat_responses,
        cast(csat_satisfied_responses as integer) as csat_satisfied_responses,
        cast(csat_score_sum as integer) as csat_score_sum,
        cast(negative_sentiment_tickets as integer) as negative_sentiment_tickets,
        cast(solved_tickets as integer) as solved_tickets,
        cast(backlog_tickets as integer) as backlog_tickets,
        cast(round(agent_cost_usd, 6) as double) as agent_cost_usd,
        cast(round(bot_cost_usd, 6) as double) as bot_cost_usd,
        cast(round(platform_cost_usd, 6) as double) as platform_cost_usd,
        cast(round(agent_cost_usd + bot_cost_usd + platform_cost_usd, 6) as double) as total_cost_usd

    from with_backlog
    where
        tickets > 0
        or solved_tickets > 0
        or backlog_change <> 0
        or backlog_tickets <> 0

)

select * from final
