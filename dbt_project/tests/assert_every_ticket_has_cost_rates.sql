{{ config(meta={"dagster": {"ref": {"name": "fct_support_kpis_daily"}}}) }}

-- The cost model prices every ticket: a tier or a day without prices would silently
-- cost nothing in fct_support_kpis_daily.

select
    tickets.ticket_id,
    tickets.created_date,
    tickets.tier
from {{ ref('fct_tickets') }} as tickets
left join {{ ref('int_cost_rates_daily') }} as rates
    on
        tickets.created_date = rates.calendar_date
        and tickets.tier = rates.tier
where
    rates.agent_hour_cost_usd is null
    or rates.bot_conversation_cost_usd is null
    or rates.platform_day_cost_usd is null
