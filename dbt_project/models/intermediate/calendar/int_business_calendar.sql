{{ config(materialized='table') }}

-- Business hours per schedule as UTC windows, with a running "business clock".
--
-- Schedules: the per-tier clock of the business_hours seed (`tier:vip`, `tier:standard`,
-- UTC), and the source's own schedules when it has them (stg_helpdesk__schedules, latest
-- snapshot: intervals in minutes of the week from Sunday 00:00 local time, in an IANA zone,
-- with holidays). Each interval is cut at local midnights, placed on every local day of the
-- calendar that is not a holiday, turned into UTC (macro local_to_utc: daylight-saving
-- changes move the window, not its length) and cut again at UTC midnights, so every row
-- belongs to one UTC calendar_date. Each schedule also gets a start row per day (no
-- minutes), so every timestamp finds a row of its day. `business_minutes_before` is the
-- clock at a row's opening: business minutes between two timestamps are a difference of
-- clock readings (macro business_clock), and a deadline N business minutes after a
-- timestamp is the window whose clock range holds (clock reading + N).

with

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

latest_schedules as (

    select max(snapshot_date) as snapshot_date
    from {{ ref('stg_helpdesk__schedules') }}

),

source_intervals as (

    select
        schedules.schedule_id,
        schedules.time_zone,
        schedules.start_minute,
        schedules.end_minute
    from {{ ref('stg_helpdesk__schedules') }} as schedules
    inner join latest_schedules
        on schedules.snapshot_date = latest_schedules.snapshot_date

),

tier_intervals as (

    -- the seed's hours as weekly UTC intervals (ISO Sunday 7 is day 0 of the week)
    select
        {{ dbt.concat(["'tier:'", "tier"]) }} as schedule_id,
        'UTC' as time_zone,
        mod(iso_day_of_week, 7) * 1440 + open_minute as start_minute,
        mod(iso_day_of_week, 7) * 1440 + close_minute as end_minute
    from {{ ref('business_hours') }}

),

intervals as (

    select * from tier_intervals
    union all
    select * from source_intervals

),

latest_holidays as (

    select max(snapshot_date) as snapshot_date
    from {{ ref('stg_helpdesk__schedule_holidays') }}

),

holidays as (

    select
        holidays.schedule_id,
        holidays.holiday_start_date,
        holidays.holiday_end_date
    from {{ ref('stg_helpdesk__schedule_holidays') }} as holidays
    inner join latest_holidays
        on holidays.snapshot_date = latest_holidays.snapshot_date

),

week_days as (

    select generated_number - 1 as day_of_week
    from ({{ dbt.generate_series(7) }}) as numbers

),

day_pieces as (

    -- each interval cut at local midnights: day of week (0 = Sunday) and minutes of that day
    select
        intervals.schedule_id,
        intervals.time_zone,
        week_days.day_of_week,
        greatest(intervals.start_minute, week_days.day_of_week * 1440) - week_days.day_of_week * 1440
            as open_minute,
        least(intervals.end_minute, (week_days.day_of_week + 1) * 1440) - week_days.day_of_week * 1440
            as close_minute
    from intervals
    cross join week_days
    where
        intervals.start_minute < (week_days.day_of_week + 1) * 1440
        and intervals.end_minute > week_days.day_of_week * 1440

),

local_days as (

    -- the calendar's days, and the day before its first one: a zone west of UTC is still
    -- on that day when the first UTC day begins
    select calendar_date as local_date
    from calendar

    union all

    select {{ add_days('min(calendar_date)', -1) }} as local_date
    from calendar

),

local_times as (

    -- wall-clock opening and closing on each local day that is not a holiday
    select
        day_pieces.schedule_id,
        day_pieces.time_zone,
        {{ add_minutes('cast(local_days.local_date as timestamp)', 'day_pieces.open_minute') }} as local_opens_at,
        {{ add_minutes('cast(local_days.local_date as timestamp)', 'day_pieces.close_minute') }} as local_closes_at
    from day_pieces
    inner join local_days
        on day_pieces.day_of_week = mod({{ iso_day_of_week('local_days.local_date') }}, 7)
    left join holidays
        on
            day_pieces.schedule_id = holidays.schedule_id
            and local_days.local_date between holidays.holiday_start_date and holidays.holiday_end_date
    where holidays.schedule_id is null

),

local_windows as (

    select
        schedule_id,
        {{ local_to_utc('local_opens_at', 'time_zone') }} as opens_at,
        {{ local_to_utc('local_closes_at', 'time_zone') }} as closes_at
    from local_times

),

windows as (

    -- cut at UTC midnights: every window lies within one calendar_date
    select
        local_windows.schedule_id,
        calendar.calendar_date,
        greatest(local_windows.opens_at, calendar.day_start_at) as opens_at,
        least(local_windows.closes_at, {{ dbt.dateadd('day', 1, 'calendar.day_start_at') }}) as closes_at
    from local_windows
    inner join calendar
        on
            local_windows.opens_at < {{ dbt.dateadd('day', 1, 'calendar.day_start_at') }}
            and local_windows.closes_at > calendar.day_start_at

),

schedules as (

    select distinct schedule_id from intervals

),

day_rows as (

    select
        schedules.schedule_id,
        calendar.calendar_date,
        calendar.day_start_at as opens_at,
        calendar.day_start_at as closes_at,
        0 as business_minutes
    from schedules
    cross join calendar

),

timed as (

    select
        schedule_id,
        calendar_date,
        opens_at,
        closes_at,
        cast(round({{ minutes_between('opens_at', 'closes_at') }}) as integer) as business_minutes
    from windows
    where closes_at > opens_at

    union all

    select * from day_rows

),

clocked as (

    select
        *,
        row_number() over (
            partition by schedule_id, calendar_date
            order by opens_at, business_minutes
        ) - 1 as window_number,
        coalesce(
            sum(business_minutes) over (
                partition by schedule_id
                order by opens_at, business_minutes
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as business_minutes_before
    from timed

)

select
    schedule_id,
    calendar_date,
    window_number,
    opens_at,
    closes_at,
    business_minutes,
    business_minutes_before

from clocked
