{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- Solves, reopens and closure per ticket. A ticket is resolved when it has been solved (or
-- closed) and not reopened since: `resolved_at` is its final solve (full resolution, as in
-- fivetran/dbt_zendesk), or its closure when no solve was recorded after the last reopen
-- (a solve lost upstream: a closed ticket is done); `first_solved_at` is its first solve and
-- `first_resolved_at` the first solve or, never solved, the first closure (dbt_zendesk's
-- first_solved_at, the end of first resolution time).

with

tickets as (

    select ticket_id from {{ ref('stg_helpdesk__tickets') }}
    where {{ in_ticket_scope() }}

),

status_events as (

    select
        ticket_id,
        event_type,
        event_at
    from {{ ref('stg_helpdesk__ticket_events') }}
    where event_type in ('solved', 'reopened', 'closed') and {{ in_ticket_scope(within='tickets') }}

),

per_ticket as (

    select
        ticket_id,
        sum(case when event_type = 'solved' then 1 else 0 end) as solves,
        sum(case when event_type = 'reopened' then 1 else 0 end) as reopens,
        min(case when event_type = 'solved' then event_at end) as first_solved_at,
        max(case when event_type = 'solved' then event_at end) as last_solved_at,
        min(case when event_type = 'reopened' then event_at end) as first_reopened_at,
        max(case when event_type = 'reopened' then event_at end) as last_reopened_at,
        max(case when event_type = 'closed' then event_at end) as closed_at,
        min(case when event_type = 'closed' then event_at end) as first_closed_at
    from status_events
    group by ticket_id

),

final as (

    select
        tickets.ticket_id,
        coalesce(per_ticket.solves, 0) as solves,
        coalesce(per_ticket.reopens, 0) as reopens,
        coalesce(per_ticket.reopens, 0) > 0 as is_reopened,
        per_ticket.first_solved_at,
        per_ticket.first_reopened_at,
        case
            when
                per_ticket.last_solved_at is not null
                and (
                    per_ticket.last_reopened_at is null
                    or per_ticket.last_solved_at > per_ticket.last_reopened_at
                )
                then per_ticket.last_solved_at
            -- closed with no solve recorded since (a solve event lost upstream): done at closure
            when
                per_ticket.closed_at is not null
                and (
                    per_ticket.last_reopened_at is null
                    or per_ticket.closed_at > per_ticket.last_reopened_at
                )
                then per_ticket.closed_at
        end as resolved_at,
        per_ticket.closed_at,
        coalesce(per_ticket.first_solved_at, per_ticket.first_closed_at) as first_resolved_at

    from tickets
    left join per_ticket
        on tickets.ticket_id = per_ticket.ticket_id

),

flagged as (

    select
        *,
        resolved_at is not null as is_resolved
    from final

)

select * from flagged
