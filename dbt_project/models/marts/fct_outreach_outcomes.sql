-- Did outreach work? One row per account listed in an outreach period, with its arm and
-- whether it churned between its listing and the period's end: the first CRM version that
-- is not active (account or subscription) starting in that window, as the churn label of
-- the churn model reads it. A period is mature once the snapshots reach its last day.

with

assignments as (

    select * from {{ ref('int_actions__outreach_assignments') }}

),

churn_events as (

    select
        account_id,
        valid_from as churned_on
    from {{ ref('dim_accounts') }}
    where account_status <> 'active' or subscription_status <> 'active'

),

data_end as (

    select max(last_snapshot_date) as newest_snapshot from {{ ref('dim_accounts') }}

),

first_churn as (

    select
        assignments.account_id,
        assignments.outreach_period,
        min(churn_events.churned_on) as churned_on
    from assignments
    inner join churn_events
        on
            assignments.account_id = churn_events.account_id
            and assignments.listed_on <= churn_events.churned_on
            and assignments.period_end > churn_events.churned_on
    group by assignments.account_id, assignments.outreach_period

),

final as (

    select
        assignments.account_id,
        assignments.outreach_period,
        assignments.arm,
        assignments.listed_on,
        assignments.period_end,
        assignments.contacts,
        assignments.latest_outcome,
        assignments.is_holdout_contacted,
        first_churn.churned_on,
        first_churn.churned_on is not null as is_churned,
        assignments.period_end <= {{ add_days('data_end.newest_snapshot', 1) }} as is_mature

    from assignments
    cross join data_end
    left join first_churn
        on
            assignments.account_id = first_churn.account_id
            and assignments.outreach_period = first_churn.outreach_period

)

select * from final
