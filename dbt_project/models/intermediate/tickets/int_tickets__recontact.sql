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
    from tickets

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
