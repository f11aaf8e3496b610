{{ config(meta={"dagster": {"ref": {"name": "fct_support_kpis_daily"}}}) }}

-- The KPI mart's additive measures add back up to the ticket facts they came from.

with

kpis as (

    select
        sum(tickets) as tickets,
        sum(bot_handled_tickets) as bot_handled,
        sum(contained_tickets) as contained,
        sum(agent_touched_tickets) as agent_touched,
        sum(handle_seconds) as handle_seconds,
        sum(csat_responses) as csat_responses,
        sum(csat_satisfied_responses) as csat_satisfied,
        sum(solved_tickets) as solved
    from {{ ref('fct_support_kpis_daily') }}

),

tickets as (

    select
        count(*) as tickets,
        sum(case when is_bot_handled then 1 else 0 end) as bot_handled,
        sum(case when is_contained then 1 else 0 end) as contained,
        sum(case when has_agent_touch then 1 else 0 end) as agent_touched,
        sum(handle_seconds) as handle_seconds,
        sum(case when has_csat_response then 1 else 0 end) as csat_responses,
        sum(case when is_csat_satisfied then 1 else 0 end) as csat_satisfied,
        sum(case when is_resolved then 1 else 0 end) as solved
    from {{ ref('fct_tickets') }}

)

select *
from kpis
cross join tickets
where
    coalesce(kpis.tickets, 0) <> tickets.tickets
    or coalesce(kpis.bot_handled, 0) <> coalesce(tickets.bot_handled, 0)
    or coalesce(kpis.contained, 0) <> coalesce(tickets.contained, 0)
    or coalesce(kpis.agent_touched, 0) <> coalesce(tickets.agent_touched, 0)
    or coalesce(kpis.handle_seconds, 0) <> coalesce(tickets.handle_seconds, 0)
    or coalesce(kpis.csat_responses, 0) <> coalesce(tickets.csat_responses, 0)
    or coalesce(kpis.csat_satisfied, 0) <> coalesce(tickets.csat_satisfied, 0)
    or coalesce(kpis.solved, 0) <> coalesce(tickets.solved, 0)
