{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- SLA targets, deadlines and breaches per ticket, from the sla_policies seed.
--
-- Both SLAs apply to tickets that entered the agent queue (a ticket the bot resolved on
-- its own is under no SLA).
-- - first_response: from agent_queue_at to the first agent reply (or to the solve, when
--   the ticket was solved without one).
-- - full_resolution: from creation to the final solve.
-- Elapsed time is measured in the policy's basis: calendar minutes, or business minutes of
-- the ticket's schedule (the source's, else the tier's clock; the policy stays per tier).
-- A ticket still waiting is breached once its elapsed time at the data's as-of time (the
-- latest event loaded) exceeds the target. A breach happens at the deadline (`*_due_at`),
-- which is what point-in-time features count by.

with

times as (

    select * from {{ ref('int_tickets__reply_times') }}
    where {{ in_ticket_scope() }}

),

policies as (

    select
        tier,
        max(case when sla_metric = 'first_response' then target_minutes end)
            as first_response_target_minutes,
        max(case when sla_metric = 'first_response' then hours_basis end)
            as first_response_hours_basis,
        max(case when sla_metric = 'full_resolution' then target_minutes end)
            as full_resolution_target_minutes,
        max(case when sla_metric = 'full_resolution' then hours_basis end)
            as full_resolution_hours_basis
    from {{ ref('sla_policies') }}
    group by tier

),

calendar as (

    select * from {{ ref('int_business_calendar') }}

),

data_as_of as (

    select max(event_at) as data_as_of
    from {{ ref('stg_helpdesk__ticket_events') }}

),

clock_as_of as (

    -- every schedule's business clock at the data's as-of time
    select
        calendar.schedule_id,
        data_as_of.data_as_of,
        max({{ business_clock('data_as_of.data_as_of', 'calendar') }}) as business_clock_as_of
    from data_as_of
    inner join calendar
        on {{ business_clock_join('data_as_of.data_as_of', 'calendar.schedule_id', 'calendar') }}
    group by calendar.schedule_id, data_as_of.data_as_of

),

stops as (

    select
        times.*,
        policies.first_response_target_minutes,
        policies.first_response_hours_basis,
        policies.full_resolution_target_minutes,
        policies.full_resolution_hours_basis,
        clock_as_of.data_as_of,
        clock_as_of.business_clock_as_of,
        times.agent_queue_at is not null and policies.tier is not null as is_sla_applicable,
        coalesce(
            times.first_agent_reply_at,
            case when times.resolved_at >= times.agent_queue_at then times.resolved_at end
        ) as first_response_stop_at,
        case
            when times.first_agent_reply_at is not null then times.business_clock_at_first_reply
            when times.resolved_at >= times.agent_queue_at then times.business_clock_at_resolved
        end as business_clock_at_first_response_stop

    from times
    left join policies
        on times.tier = policies.tier
    left join clock_as_of
        on times.schedule_id = clock_as_of.schedule_id

),

elapsed as (

    select
        *,
        case
            when first_response_hours_basis = 'business'
                then coalesce(business_clock_at_first_response_stop, business_clock_as_of) - business_clock_at_queue
            else {{ minutes_between('agent_queue_at', 'coalesce(first_response_stop_at, data_as_of)') }}
        end as first_response_elapsed_minutes,
        case
            when full_resolution_hours_basis = 'business'
                then coalesce(business_clock_at_resolved, business_clock_as_of) - business_clock_at_created
            else {{ minutes_between('created_at', 'coalesce(resolved_at, data_as_of)') }}
        end as full_resolution_elapsed_minutes
    from stops

),

business_deadlines as (

    -- the business clock readings at which each business-hours SLA falls due
    select
        ticket_id,
        schedule_id,
        'first_response' as sla_metric,
        cast(agent_queue_at as date) as start_date,
        business_clock_at_queue + first_response_target_minutes as due_clock
    from elapsed
    where is_sla_applicable and first_response_hours_basis = 'business'

    union all

    select
        ticket_id,
        schedule_id,
        'full_resolution' as sla_metric,
        cast(created_at as date) as start_date,
        business_clock_at_created + full_resolution_target_minutes as due_clock
    from elapsed
    where is_sla_applicable and full_resolution_hours_basis = 'business'

),

search_days as (

    -- a business deadline falls within `sla_search_days` calendar days of its start
    select generated_number - 1 as day_offset
    from ({{ dbt.generate_series(var('sla_search_days', 14) + 1) }}) as numbers

),

business_due as (

    select
        business_deadlines.ticket_id,
        business_deadlines.sla_metric,
        {{ add_minutes('calendar.opens_at', 'business_deadlines.due_clock - calendar.business_minutes_before') }}
            as due_at
    from business_deadlines
    cross join search_days
    inner join calendar
        on
            business_deadlines.schedule_id = calendar.schedule_id
            and calendar.calendar_date = {{ add_days('business_deadlines.start_date', 'search_days.day_offset') }}
    where
        calendar.business_minutes > 0
        and business_deadlines.due_clock > calendar.business_minutes_before
        and business_deadlines.due_clock <= calendar.business_minutes_before + calendar.business_minutes

),

final as (

    select
        elapsed.ticket_id,
        elapsed.is_sla_applicable as is_sla_first_response_applicable,
        elapsed.first_response_target_minutes,
        elapsed.first_response_hours_basis,
        case when elapsed.is_sla_applicable then elapsed.first_response_elapsed_minutes end
            as first_response_elapsed_minutes,
        case
            when not elapsed.is_sla_applicable then null
            when elapsed.first_response_hours_basis = 'business' then first_response_due.due_at
            else {{ add_minutes('elapsed.agent_queue_at', 'elapsed.first_response_target_minutes') }}
        end as first_response_due_at,
        case
            when elapsed.is_sla_applicable
                then elapsed.first_response_elapsed_minutes > elapsed.first_response_target_minutes
        end as is_first_response_breached,

        elapsed.is_sla_applicable as is_sla_resolution_applicable,
        elapsed.full_resolution_target_minutes,
        elapsed.full_resolution_hours_basis,
        case when elapsed.is_sla_applicable then elapsed.full_resolution_elapsed_minutes end
            as full_resolution_elapsed_minutes,
        case
            when not elapsed.is_sla_applicable then null
            when elapsed.full_resolution_hours_basis = 'business' then resolution_due.due_at
            else {{ add_minutes('elapsed.created_at', 'elapsed.full_resolution_target_minutes') }}
        end as full_resolution_due_at,
        case
            when elapsed.is_sla_applicable
                then elapsed.full_resolution_elapsed_minutes > elapsed.full_resolution_target_minutes
        end as is_full_resolution_breached,

        elapsed.data_as_of

    from elapsed
    left join business_due as first_response_due
        on
            elapsed.ticket_id = first_response_due.ticket_id
            and first_response_due.sla_metric = 'first_response'
    left join business_due as resolution_due
        on
            elapsed.ticket_id = resolution_due.ticket_id
            and resolution_due.sla_metric = 'full_resolution'

)

select * from final
