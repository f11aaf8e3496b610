-- Every review decision on a flagged ticket, with what later happened to the ticket: the
-- figures (override rate by reason, agreement with the model by day) and, from each
-- ticket's latest decision, a human label for training.

with

decisions as (

    select * from {{ ref('int_actions__review_decisions') }}

),

tickets as (

    select
        ticket_id,
        is_escalated_to_tier3
    from {{ ref('fct_tickets') }}

),

final as (

    select
        decisions.decision_id,
        decisions.ticket_id,
        decisions.decision,
        decisions.decision_reason,
        decisions.is_override,
        decisions.model_version,
        decisions.escalation_probability,
        decisions.reviewer_role,
        decisions.reviewer_hash,
        decisions.decided_at,
        decisions.decided_date,
        decisions.is_latest_for_ticket,
        case
            when decisions.is_latest_for_ticket then not decisions.is_override
        end as review_label,
        tickets.is_escalated_to_tier3

    from decisions
    left join tickets
        on decisions.ticket_id = tickets.ticket_id

)

select * from final
