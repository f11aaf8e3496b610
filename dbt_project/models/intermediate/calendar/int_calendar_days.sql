{{ config(materialized='table') }}

-- One row per calendar day from the first data day to `calendar_horizon_days` past the
-- last one: the spine for business hours, cost rates and dense daily windows.

with

data_days as (

    select
        cast(min(created_at) as date) as first_day,
        cast(max(created_at) as date) as last_day
    from {{ ref('stg_helpdesk__tickets') }}

    union all

    select
        min(snapshot_date) as first_day,
        max(snapshot_date) as last_day
    from {{ ref('stg_crm__accounts') }}

),

bounds as (

    select
        min(first_day) as first_day,
        max(last_day) as last_day
    from data_days

),

numbers as (

    {{ dbt.generate_series(var('calendar_max_days', 4000)) }}

),

days as (

    select {{ add_days('bounds.first_day', 'numbers.generated_number - 1') }} as calendar_date
    from bounds
    cross join numbers
    where
        numbers.generated_number - 1
        <= {{ days_between('bounds.first_day', 'bounds.last_day') }} + {{ var('calendar_horizon_days') }}

)

select
    calendar_date,
    {{ iso_day_of_week('calendar_date') }} as iso_day_of_week,
    cast(calendar_date as timestamp) as day_start_at
from days
