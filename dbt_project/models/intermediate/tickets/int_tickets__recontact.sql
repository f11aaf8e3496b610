{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='ticket_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- The 7-day re-contact rule of containment: a resolved ticket is re-contacted when the same
-- requester opens a new ticket in the same category no later than `recontact_days` (7)
-- calendar days after the resolution day. Day 7 counts, day 8 does not; a new ticket
-- opened while this one was still open counts as well.

with

tickets as (

    select
        ticket_id,
        requester_id,
        category,
        created_at
    from {{ ref('stg_helpdesk__tickets') }}

),
{%- if is_windowed_run() %}

-- A windowed run re-derives every ticket of a requester and category that has a ticket
-- in scope: a ticket's next ticket is in its topic, and the scope holds whole topics only
-- for the tickets of the window (an open ticket's topic may be partly outside it).
scoped_topics as (

    select distinct
        requester_id,
        category
    from tickets
    where {{ in_ticket_scope() }}

),

topic_tickets as (

    select tickets.*
    from tickets
    inner join scoped_topics
        on
            tickets.requester_id = scoped_topics.requester_id
            and tickets.category = scoped_topics.category

),
{%- else %}

topic_tickets as (

    select * from tickets

),
{%- endif %}

resolution as (

    select
        ticket_id,
        resolved_at
    from {{ ref('int_tickets__resolution') }}

),

sequenced as (

    select
        ticket_id,
        lead(ticket_id) over (
            partition by requester_id, category order by created_at, ticket_id
        ) as next_ticket_id,
        lead(created_at) over (
            partition by requester_id, category order by created_at, ticket_id
        ) as next_ticket_created_at
    from topic_tickets

),

final as (

    select
        sequenced.ticket_id,
        sequenced.next_ticket_id,
        sequenced.next_ticket_created_at,
        case
            when resolution.resolved_at is not null and sequenced.next_ticket_created_at is not null
                then {{ days_between(
                    'cast(resolution.resolved_at as date)',
                    'cast(sequenced.next_ticket_created_at as date)',
                ) }}
        end as days_resolution_to_next_ticket,
        coalesce(
            resolution.resolved_at is not null
            and cast(sequenced.next_ticket_created_at as date)
            <= {{ add_days('cast(resolution.resolved_at as date)', var('recontact_days')) }},
            false
        ) as is_recontacted

    from sequenced
    left join resolution
        on sequenced.ticket_id = resolution.ticket_id

)

select * from final
