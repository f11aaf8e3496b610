{{ config(meta={"dagster": {"ref": {"name": "feat_account_daily"}}}) }}

-- Point-in-time recount on the latest as-of day: tickets_30d of each account equals its
-- tickets created in the 30 days before that day, counted straight from fct_tickets.

with

latest as (

    select max(as_of_date) as as_of_date
    from {{ ref('feat_account_daily') }}

),

features as (

    select features.*
    from {{ ref('feat_account_daily') }} as features
    inner join latest
        on features.as_of_date = latest.as_of_date

),

recount as (

    select
        features.account_id,
        count(tickets.ticket_id) as tickets_30d
    from features
    left join {{ ref('fct_tickets') }} as tickets
        on
            features.account_id = tickets.account_id
            and {{ add_days('features.as_of_date', -30) }} <= tickets.created_date
            and features.as_of_date > tickets.created_date
    group by features.account_id

)

select
    features.account_id,
    features.tickets_30d,
    recount.tickets_30d as recounted
from features
inner join recount
    on features.account_id = recount.account_id
where features.tickets_30d <> recount.tickets_30d
