{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key=['account_id', 'as_of_date'],
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- Point-in-time account features: one row per account and as-of day D, describing the
-- account at the start of D. Events are aggregated by the day they HAPPENED (ticket
-- created, SLA deadline missed, escalation, survey answered, product event), then summed
-- over windows of days that END AT D-1; CRM attributes come from the snapshot of D-1.
-- Nothing on or after D is used, so a row never changes when later data arrives (except
-- for events that arrive late about days before D; see docs/decisions.md).
--
-- Incremental runs recompute as-of days [start_date - lookback_days + 1, end_date + 1].

{%- set history_days = 60 %}
{#- the distinct counts: (column, entity counted, days); read over the longest window #}
{%- set presence_counts = [
    ('users_7d', 'user', 7), ('users_28d', 'user', 28), ('features_28d', 'feature', 28),
] %}
{%- set presence_window = presence_counts | map('last') | max %}

with

spine as (

    select * from {{ ref('int_account_days') }}
    where {{ in_window('as_of_date', lookback=var('lookback_days') - 1, lookahead=1) }}

),

accounts as (

    select distinct account_id from spine

),

activity_bounds as (

    -- the days whose activity the rows of the spine need: up to {{ history_days }} days back
    -- for the trailing sums, {{ presence_window }} for who was active (see `presence_changes`)
    select
        {{ add_days('min(as_of_date)', -1 * history_days) }} as first_day,
        {{ add_days('min(as_of_date)', -1 * presence_window) }} as first_presence_day,
        {{ add_days('max(as_of_date)', -1) }} as last_day
    from spine

),

activity_days as (

    select calendar.calendar_date as activity_date
    from {{ ref('int_calendar_days') }} as calendar
    inner join activity_bounds
        on calendar.calendar_date between activity_bounds.first_day and activity_bounds.last_day

),

presence_activity_days as (

    -- the days whose active users and features the rows of the spine count: from
    -- {{ presence_window }} days before the first row (see `presence_changes`)
    select activity_days.activity_date
    from activity_days
    cross join activity_bounds
    where activity_days.activity_date >= activity_bounds.first_presence_day

),

tickets as (

    select * from {{ ref('fct_tickets') }}

),

ticket_activity as (

    -- each fact on the day it happened
    select
        account_id,
        created_date as activity_date,
        1 as tickets,
        case when is_negative_sentiment then 1 else 0 end as negative_tickets,
        0 as sla_breaches,
        0 as escalations,
        0 as tier3_escalations,
        0 as csat_responses,
        0 as csat_satisfied,
        0 as csat_score_sum
    from tickets

    union all

    select
        account_id,
        cast(sla_first_response_breached_at as date) as activity_date,
        0 as tickets,
        0 as negative_tickets,
        1 as sla_breaches,
        0 as escalations,
        0 as tier3_escalations,
        0 as csat_responses,
        0 as csat_satisfied,
        0 as csat_score_sum
    from tickets
    where sla_first_response_breached_at is not null

    union all

    select
        account_id,
        cast(sla_resolution_breached_at as date) as activity_date,
        0 as tickets,
        0 as negative_tickets,
        1 as sla_breaches,
        0 as escalations,
        0 as tier3_escalations,
        0 as csat_responses,
        0 as csat_satisfied,
        0 as csat_score_sum
    from tickets
    where sla_resolution_breached_at is not null

    union all

    select
        account_id,
        cast(first_escalated_at as date) as activity_date,
        0 as tickets,
        0 as negative_tickets,
        0 as sla_breaches,
        1 as escalations,
        0 as tier3_escalations,
        0 as csat_responses,
        0 as csat_satisfied,
        0 as csat_score_sum
    from tickets
    where first_escalated_at is not null

    union all

    select
        account_id,
        cast(escalated_to_tier3_at as date) as activity_date,
        0 as tickets,
        0 as negative_tickets,
        0 as sla_breaches,
        0 as escalations,
        1 as tier3_escalations,
        0 as csat_responses,
        0 as csat_satisfied,
        0 as csat_score_sum
    from tickets
    where escalated_to_tier3_at is not null

    union all

    select
        account_id,
        cast(csat_responded_at as date) as activity_date,
        0 as tickets,
        0 as negative_tickets,
        0 as sla_breaches,
        0 as escalations,
        0 as tier3_escalations,
        1 as csat_responses,
        case when is_csat_satisfied then 1 else 0 end as csat_satisfied,
        csat_score as csat_score_sum
    from tickets
    where csat_responded_at is not null

),

support_daily as (

    select
        account_id,
        activity_date,
        sum(tickets) as tickets,
        sum(negative_tickets) as negative_tickets,
        sum(sla_breaches) as sla_breaches,
        sum(escalations) as escalations,
        sum(tier3_escalations) as tier3_escalations,
        sum(csat_responses) as csat_responses,
        sum(csat_satisfied) as csat_satisfied,
        sum(csat_score_sum) as csat_score_sum
    from ticket_activity
    where activity_date in (select activity_date from activity_days)
    group by account_id, activity_date

),

usage_daily as (

    select
        account_id,
        activity_date,
        sum(events) as events,
        sum(error_events) as error_events
    from {{ ref('int_telemetry__user_daily') }}
    where activity_date in (select activity_date from activity_days)
    group by account_id, activity_date

),

presence_days as (

    -- each active day with the same user's (feature's) active days before and after it
    select
        account_id,
        'user' as entity_kind,
        activity_date,
        lag(activity_date) over (
            partition by account_id, user_id order by activity_date
        ) as previous_active_date,
        lead(activity_date) over (
            partition by account_id, user_id order by activity_date
        ) as next_active_date
    from {{ ref('int_telemetry__user_daily') }}
    where activity_date in (select activity_date from presence_activity_days)

    union all

    select
        account_id,
        'feature' as entity_kind,
        activity_date,
        lag(activity_date) over (
            partition by account_id, feature order by activity_date
        ) as previous_active_date,
        lead(activity_date) over (
            partition by account_id, feature order by activity_date
        ) as next_active_date
    from {{ ref('int_telemetry__feature_daily') }}
    where activity_date in (select activity_date from presence_activity_days)

),

presence_changes as (

    -- Distinct users (and features) seen in the last N days, without a range join: a user
    -- counts from an active day until N days after their last active day. The count changes
    -- only where such a stretch begins (+1: no active day in the N days before) and ends
    -- (-1, N days after an active day with none in the N days after); the running sum of
    -- the changes is the count. Only days from {{ presence_window }} days before the spine's first
    -- row are read: a stretch begun earlier then begins at its first day read instead, which
    -- changes no count on the spine's days.
    {%- for counted, entity_kind, days in presence_counts %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        account_id,
        activity_date,
        {{ 1 if counted == 'users_7d' else 0 }} as users_7d_change,
        {{ 1 if counted == 'users_28d' else 0 }} as users_28d_change,
        {{ 1 if counted == 'features_28d' else 0 }} as features_28d_change
    from presence_days
    where
        entity_kind = '{{ entity_kind }}'
        and (previous_active_date is null or previous_active_date < {{ add_days('activity_date', -1 * days) }})

    union all

    select
        account_id,
        {{ add_days('activity_date', days) }} as activity_date,
        {{ -1 if counted == 'users_7d' else 0 }} as users_7d_change,
        {{ -1 if counted == 'users_28d' else 0 }} as users_28d_change,
        {{ -1 if counted == 'features_28d' else 0 }} as features_28d_change
    from presence_days
    where
        entity_kind = '{{ entity_kind }}'
        and (next_active_date is null or next_active_date > {{ add_days('activity_date', days) }})
    {%- endfor %}

),

presence_daily as (

    select
        account_id,
        activity_date,
        sum(users_7d_change) as users_7d_change,
        sum(users_28d_change) as users_28d_change,
        sum(features_28d_change) as features_28d_change
    from presence_changes
    group by account_id, activity_date

),

daily as (

    -- a dense account x day grid, so row-based windows are day-based windows
    select
        accounts.account_id,
        activity_days.activity_date,
        coalesce(support_daily.tickets, 0) as tickets,
        coalesce(support_daily.negative_tickets, 0) as negative_tickets,
        coalesce(support_daily.sla_breaches, 0) as sla_breaches,
        coalesce(support_daily.escalations, 0) as escalations,
        coalesce(support_daily.tier3_escalations, 0) as tier3_escalations,
        coalesce(support_daily.csat_responses, 0) as csat_responses,
        coalesce(support_daily.csat_satisfied, 0) as csat_satisfied,
        coalesce(support_daily.csat_score_sum, 0) as csat_score_sum,
        coalesce(usage_daily.events, 0) as events,
        coalesce(usage_daily.error_events, 0) as error_events,
        coalesce(presence_daily.users_7d_change, 0) as users_7d_change,
        coalesce(presence_daily.users_28d_change, 0) as users_28d_change,
        coalesce(presence_daily.features_28d_change, 0) as features_28d_change
    from accounts
    cross join activity_days
    left join support_daily
        on
            accounts.account_id = support_daily.account_id
            and activity_days.activity_date = support_daily.activity_date
    left join usage_daily
        on
            accounts.account_id = usage_daily.account_id
            and activity_days.activity_date = usage_daily.activity_date
    left join presence_daily
        on
            accounts.account_id = presence_daily.account_id
            and activity_days.activity_date = presence_daily.activity_date

),

windowed as (

    -- windows ending at activity_date; the row is the feature row as of the next day
    select
        account_id,
        {{ add_days('activity_date', 1) }} as as_of_date,
        {{ trailing_sum('tickets', 7) }} as tickets_7d,
        {{ trailing_sum('tickets', 14) }} as tickets_14d,
        {{ trailing_sum('tickets', 30) }} as tickets_30d,
        {{ trailing_sum('negative_tickets', 30) }} as negative_tickets_30d,
        {{ trailing_sum('sla_breaches', 30) }} as sla_breaches_30d,
        {{ trailing_sum('escalations', 30) }} as escalations_30d,
        {{ trailing_sum('tier3_escalations', 30) }} as tier3_escalations_30d,
        {{ trailing_sum('csat_responses', 30) }} as csat_responses_30d,
        {{ trailing_sum('csat_satisfied', 30) }} as csat_satisfied_30d,
        {{ trailing_sum('csat_score_sum', 30) }} as csat_score_sum_30d,
        {{ trailing_sum('csat_responses', 30, offset=30) }} as csat_responses_prior_30d,
        {{ trailing_sum('csat_score_sum', 30, offset=30) }} as csat_score_sum_prior_30d,
        {{ trailing_sum('events', 7) }} as events_7d,
        {{ trailing_sum('events', 28, offset=7) }} as events_prior_28d,
        {{ trailing_sum('error_events', 7) }} as errors_7d,
        {{ trailing_sum('error_events', 28) }} as errors_28d,
        {{ running_sum('users_7d_change') }} as active_users_7d,
        {{ running_sum('users_28d_change') }} as active_users_28d,
        {{ running_sum('features_28d_change') }} as feature_breadth_28d
    from daily

),

crm as (

    -- only the snapshots the spine reads (its days less one): in a windowed run the view
    -- over every account's daily snapshots is then not computed over the whole history
    select * from {{ ref('int_account_snapshots') }}
    where {{ in_window('snapshot_date', lookback=var('lookback_days')) }}

),

data_start as (

    -- the first day with data: windows reaching before it are incomplete
    select min(calendar_date) as first_data_date
    from {{ ref('int_calendar_days') }}

),

final as (

    select
        cast(spine.account_id as {{ dbt.type_string() }}) as account_id,
        cast(spine.as_of_date as date) as as_of_date,
        cast(spine.snapshot_date as date) as snapshot_date,
        cast({{ days_between('data_start.first_data_date', 'spine.as_of_date') }} as integer) as history_days,

        cast(windowed.tickets_7d as integer) as tickets_7d,
        cast(windowed.tickets_14d as integer) as tickets_14d,
        cast(windowed.tickets_30d as integer) as tickets_30d,
        cast(windowed.negative_tickets_30d as integer) as negative_tickets_30d,
        cast({{ safe_divide('windowed.negative_tickets_30d', 'windowed.tickets_30d') }} as double)
            as negative_sentiment_share_30d,
        cast(windowed.sla_breaches_30d as integer) as sla_breaches_30d,
        cast(windowed.escalations_30d as integer) as escalations_30d,
        cast(windowed.tier3_escalations_30d as integer) as tier3_escalations_30d,
        cast(windowed.csat_responses_30d as integer) as csat_responses_30d,
        cast(windowed.csat_satisfied_30d as integer) as csat_satisfied_30d,
        cast({{ safe_divide('windowed.csat_score_sum_30d', 'windowed.csat_responses_30d') }} as double)
            as csat_avg_30d,
        cast({{ safe_divide('windowed.csat_score_sum_prior_30d', 'windowed.csat_responses_prior_30d') }} as double)
            as csat_avg_prior_30d,
        cast(
            {{ safe_divide('windowed.csat_score_sum_30d', 'windowed.csat_responses_30d') }}
            - {{ safe_divide('windowed.csat_score_sum_prior_30d', 'windowed.csat_responses_prior_30d') }}
            as double
        ) as csat_trend_30d,

        cast(windowed.events_7d as integer) as events_7d,
        cast(windowed.events_prior_28d as integer) as events_prior_28d,
        -- weekly activity now vs the average week of the 4 weeks before (null until 35
        -- days of history exist)
        cast(
            case
                when {{ days_between('data_start.first_data_date', 'spine.as_of_date') }} >= 35
                    then {{ safe_divide(
                        'windowed.events_7d - windowed.events_prior_28d / cast(4 as double)',
                        'windowed.events_prior_28d / cast(4 as double)',
                    ) }}
            end
            as double
        ) as usage_change_7d_vs_prior_28d,
        cast(windowed.active_users_7d as integer) as active_users_7d,
        cast(windowed.active_users_28d as integer) as active_users_28d,
        cast(windowed.feature_breadth_28d as integer) as feature_breadth_28d,
        cast(windowed.errors_7d as integer) as errors_7d,
        cast(windowed.errors_28d as integer) as errors_28d,

        cast(crm.account_status as {{ dbt.type_string() }}) as account_status,
        cast(crm.segment as {{ dbt.type_string() }}) as segment,
        cast(crm.industry as {{ dbt.type_string() }}) as industry,
        cast(crm.region as {{ dbt.type_string() }}) as region,
        cast(crm.tier as {{ dbt.type_string() }}) as tier,
        cast(crm.plan as {{ dbt.type_string() }}) as plan,
        cast(crm.subscription_status as {{ dbt.type_string() }}) as subscription_status,
        cast(crm.auto_renew as boolean) as auto_renew,
        cast(crm.seats as integer) as seats,
        cast(crm.arr as double) as arr,
        cast(windowed.active_users_28d as integer) as seats_used,
        cast({{ safe_divide('windowed.active_users_28d', 'crm.seats') }} as double)
            as seat_utilization,
        cast({{ days_between('crm.account_created_date', 'spine.as_of_date') }} as integer) as tenure_days,
        cast({{ days_between('spine.as_of_date', 'crm.renewal_date') }} as integer) as days_to_renewal

    from spine
    inner join windowed
        on
            spine.account_id = windowed.account_id
            and spine.as_of_date = windowed.as_of_date
    left join crm
        on
            spine.account_id = crm.account_id
            and spine.snapshot_date = crm.snapshot_date
    cross join data_start

)

select * from final
