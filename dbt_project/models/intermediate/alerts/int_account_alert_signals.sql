{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key=['account_id', 'as_of_date'],
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- Proactive alert signals per account and as-of day D (data up to D-1), each against the
-- account's OWN baseline, so a large account is not flagged for being large:
--   usage drop: product events per seat in the 7 days before D at most
--     `alert_usage_max_ratio` of the average week per seat of the 28 days before those 7,
--     and the week's events at least `alert_usage_min_z` standard deviations (Poisson:
--     sqrt of the expected count) below the count the baseline expects at today's seats,
--     once 35 days of history exist and the baseline week has at least
--     `alert_usage_min_weekly_events` events. Most accounts log a few dozen events a week,
--     so a ratio alone fires on chance dips; the z-score asks more of a small account;
--   ticket burst: tickets in the 14 days before D at least `alert_burst_min_ratio` times the
--     account's own 14-day rate over the 90 days before D, and at least
--     `alert_burst_min_tickets`, once 90 days of history exist.
-- Only active accounts fire. Built on feat_account_daily (point-in-time): the 90-day ticket
-- count is the sum of its 30-day counts as of D, D-30 and D-60; the baseline's seats are
-- those of the row as of D-7 (the end of the baseline weeks).
-- Incremental runs recompute the as-of days feat_account_daily recomputes.

{%- set baseline_reach_days = 60 %}

with

features as (

    select
        account_id,
        as_of_date,
        history_days,
        account_status,
        segment,
        tier,
        seats,
        arr,
        events_7d,
        events_prior_28d,
        tickets_14d,
        tickets_30d
    from {{ ref('feat_account_daily') }}
    where {{ in_window('as_of_date', lookback=var('lookback_days') - 1 + baseline_reach_days, lookahead=1) }}

),

days as (

    select * from features
    where {{ in_window('as_of_date', lookback=var('lookback_days') - 1, lookahead=1) }}

),

joined as (

    select
        days.*,
        coalesce(week_before.seats, days.seats) as baseline_seats,
        days.tickets_30d + month_before.tickets_30d + two_months_before.tickets_30d as tickets_90d
    from days
    left join features as week_before
        on
            days.account_id = week_before.account_id
            and week_before.as_of_date = {{ add_days('days.as_of_date', -7) }}
    left join features as month_before
        on
            days.account_id = month_before.account_id
            and month_before.as_of_date = {{ add_days('days.as_of_date', -30) }}
    left join features as two_months_before
        on
            days.account_id = two_months_before.account_id
            and two_months_before.as_of_date = {{ add_days('days.as_of_date', -60) }}

),

figures as (

    select
        account_id,
        as_of_date,
        history_days,
        account_status,
        segment,
        tier,
        seats,
        baseline_seats,
        arr,
        events_7d,
        events_prior_28d / cast(4 as double) as baseline_weekly_events,
        {{ safe_divide('events_7d', 'seats') }} as events_per_seat_7d,
        {{ safe_divide('events_prior_28d / cast(4 as double)', 'baseline_seats') }} as baseline_weekly_events_per_seat,
        {{ safe_divide('events_prior_28d / cast(4 as double) * seats', 'baseline_seats') }} as expected_events_7d,
        tickets_14d,
        case when history_days >= 90 then tickets_90d end as tickets_90d,
        case when history_days >= 90 then tickets_90d * 14 / cast(90 as double) end as expected_tickets_14d
    from joined

),

flagged as (

    select
        *,
        {{ safe_divide('events_per_seat_7d', 'baseline_weekly_events_per_seat') }} as usage_ratio,
        {{ safe_divide('expected_events_7d - events_7d', 'sqrt(expected_events_7d)') }} as usage_drop_z,
        {{ safe_divide('tickets_14d', 'expected_tickets_14d') }} as ticket_ratio,
        coalesce(
            account_status = 'active'
            and history_days >= 35
            and baseline_weekly_events >= {{ var('alert_usage_min_weekly_events') }}
            and events_per_seat_7d
            <= {{ var('alert_usage_max_ratio') }} * baseline_weekly_events_per_seat
            and expected_events_7d - events_7d
            >= {{ var('alert_usage_min_z') }} * sqrt(expected_events_7d),
            false
        ) as is_usage_drop,
        coalesce(
            account_status = 'active'
            and tickets_14d >= {{ var('alert_burst_min_tickets') }}
            and tickets_14d >= {{ var('alert_burst_min_ratio') }} * expected_tickets_14d,
            false
        ) as is_ticket_burst
    from figures

)

select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(as_of_date as date) as as_of_date,
    cast(history_days as integer) as history_days,
    cast(account_status as {{ dbt.type_string() }}) as account_status,
    cast(segment as {{ dbt.type_string() }}) as segment,
    cast(tier as {{ dbt.type_string() }}) as tier,
    cast(seats as integer) as seats,
    cast(baseline_seats as integer) as baseline_seats,
    cast(arr as double) as arr,
    cast(events_7d as integer) as events_7d,
    cast(baseline_weekly_events as double) as baseline_weekly_events,
    cast(events_per_seat_7d as double) as events_per_seat_7d,
    cast(baseline_weekly_events_per_seat as double) as baseline_weekly_events_per_seat,
    cast(usage_ratio as double) as usage_ratio,
    cast(expected_events_7d as double) as expected_events_7d,
    cast(usage_drop_z as double) as usage_drop_z,
    cast(tickets_14d as integer) as tickets_14d,
    cast(tickets_90d as integer) as tickets_90d,
    cast(expected_tickets_14d as double) as expected_tickets_14d,
    cast(ticket_ratio as double) as ticket_ratio,
    is_usage_drop,
    is_ticket_burst
from flagged
