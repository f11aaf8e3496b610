-- Every review decision with what the figures and labels need: its day, whether it is an
-- override, and whether it is the ticket's latest (a reviewer may change their mind; the
-- latest decision is the label).

with

decisions as (

    select * from {{ ref('stg_actions__review_decisions') }}

),

ranked as (

    select
        decisions.*,
        row_number() over (
            partition by decisions.ticket_id
            order by decisions.decided_at desc, decisions.decision_id desc
        ) as recency
    from decisions

),

final as (

    select
        decision_id,
        ticket_id,
        decision,
        decision_reason,
        model_version,
        escalation_probability,
        reviewer_role,
        reviewer_hash,
        decided_at,
        cast(decided_at as date) as decided_date,
        decision = 'override' as is_override,
        recency = 1 as is_latest_for_ticket

    from ranked

)

select * from final
