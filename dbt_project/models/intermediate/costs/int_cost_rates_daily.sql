{{ config(materialized='table') }}

-- The unit costs in force on each calendar day for each customer tier, from the
-- cost_model seed: a price applies from its effective_from until the next price of the
-- same item; a tier-specific price beats a `tier = all` price of the same date.

with

calendar as (

    select calendar_date from {{ ref('int_calendar_days') }}

),

cost_model as (

    select * from {{ ref('cost_model') }}

),

tiers as (

    select distinct tier from {{ ref('sla_policies') }}

),

candidates as (

    select
        calendar.calendar_date,
        tiers.tier,
        cost_model.cost_item,
        cost_model.amount_usd,
        row_number() over (
            partition by calendar.calendar_date, tiers.tier, cost_model.cost_item
            order by
                cost_model.effective_from desc,
                case when cost_model.tier = tiers.tier then 0 else 1 end
        ) as precedence
    from calendar
    cross join tiers
    inner join cost_model
        on
            calendar.calendar_date >= cost_model.effective_from
            and cost_model.tier in (tiers.tier, 'all')

),

in_force as (

    select * from candidates
    where precedence = 1

),

pivoted as (

    select
        calendar_date,
        tier,
        max(case when cost_item = 'agent_hour' then amount_usd end) as agent_hour_cost_usd,
        max(case when cost_item = 'bot_conversation' then amount_usd end) as bot_conversation_cost_usd,
        max(case when cost_item = 'platform_day' then amount_usd end) as platform_day_cost_usd
    from in_force
    group by calendar_date, tier

)

select * from pivoted
