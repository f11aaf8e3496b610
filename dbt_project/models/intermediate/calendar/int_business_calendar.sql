{{ config(materialized='table') }}

-- Business hours per tier and calendar day, with a running "business clock": the business
-- minutes elapsed from the first calendar day to the start of each day. Business minutes
-- between two timestamps are then a difference of two clock readings (see the
-- business_clock macro), and a deadline N business minutes after a timestamp is the day
-- whose clock range contains (clock reading + N).

with

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

business_hours as (

    select * from {{ ref('business_hours') }}

),

tiers as (

    select distinct tier from business_hours

),

tier_days as (

    select
        tiers.tier,
        calendar.calendar_date,
        calendar.iso_day_of_week,
        calendar.day_start_at,
        business_hours.open_minute,
        business_hours.close_minute,
        coalesce(business_hours.close_minute - business_hours.open_minute, 0) as business_minutes

    from tiers
    cross join calendar
    left join business_hours
        on
            tiers.tier = business_hours.tier
            and calendar.iso_day_of_week = business_hours.iso_day_of_week

),

clocked as (

    select
        *,
        coalesce(
            sum(business_minutes) over (
                partition by tier
                order by calendar_date
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as business_minutes_before

    from tier_days

)

select
    tier,
    calendar_date,
    iso_day_of_week,
    day_start_at,
    open_minute,
    close_minute,
    business_minutes,
    business_minutes_before,
    business_minutes > 0 as is_business_day,
    {{ add_minutes('day_start_at', 'open_minute') }} as opens_at,
    {{ add_minutes('day_start_at', 'close_minute') }} as closes_at

from clocked
