-- Every review decision on a flagged ticket, with what later happened to the ticket: the
-- figures (override rate by reason, agreement with the model by day) and, from each
-- ticket's latest decision, a human label for training. Once the ticket's outcome is
-- final (resolved, or open the maturity days), the label is checked against it: how often
-- reviewers are right is what the labels are worth.

with

decisions as (

    select * from {{ ref('int_actions__review_decisions') }}

),

data_end as (

    select max(data_as_of) as newest_event_at
    from {{ ref('fct_tickets') }}

),

tickets as (

    select
        fct_tickets.ticket_id,
        fct_tickets.is_escalated_to_tier3,
        not fct_tickets.is_open
        or fct_tickets.created_at <= {{ dbt.dateadd(
            'day', -var('escalation_label_maturity_days'), 'data_end.newest_event_at'
        ) }} as is_outcome_mature
    from {{ ref('fct_tickets') }} as fct_tickets
    cross join data_end

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
        tickets.is_escalated_to_tier3,
        coalesce(tickets.is_outcome_mature, false) as is_outcome_mature,
        case
            when decisions.is_latest_for_ticket and tickets.is_outcome_mature
                then (not decisions.is_override) = tickets.is_escalated_to_tier3
        end as is_review_confirmed

    from decisions
    left join tickets
        on decisions.ticket_id = tickets.ticket_id

)

select * from final
