{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- The business-hours schedule each ticket's business minutes follow: the source's schedule
-- of the ticket when the calendar knows it, else the per-tier clock `tier:<tier>`.

with

tickets as (

    select
        ticket_id,
        tier,
        schedule_id
    from {{ ref('stg_helpdesk__tickets') }}
    where {{ in_ticket_scope() }}

),

known_schedules as (

    select distinct schedule_id
    from {{ ref('int_business_calendar') }}

)

select
    tickets.ticket_id,
    tickets.tier,
    coalesce(known_schedules.schedule_id, {{ dbt.concat(["'tier:'", "tickets.tier"]) }}) as schedule_id,
    known_schedules.schedule_id is not null as is_source_schedule

from tickets
left join known_schedules
    on tickets.schedule_id = known_schedules.schedule_id
