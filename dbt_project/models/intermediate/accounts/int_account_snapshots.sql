-- Each account as it stood in each daily CRM snapshot, with its subscription: the one
-- subscription per account and day that describes its contract (an active one first,
-- then the most recently started).

with

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

subscriptions as (

    select
        *,
        row_number() over (
            partition by account_id, snapshot_date
            order by
                case when subscription_status = 'active' then 0 else 1 end,
                subscription_start_date desc,
                subscription_id desc
        ) as subscription_rank
    from {{ ref('stg_crm__subscriptions') }}

),

primary_subscription as (

    select * from subscriptions
    where subscription_rank = 1

),

final as (

    select
        accounts.account_id,
        accounts.snapshot_date,
        accounts.account_name,
        accounts.industry,
        accounts.segment,
        accounts.region,
        accounts.tier,
        accounts.account_owner,
        accounts.account_created_date,
        accounts.account_status,
        primary_subscription.subscription_id,
        primary_subscription.plan,
        primary_subscription.seats,
        primary_subscription.arr,
        primary_subscription.subscription_start_date,
        primary_subscription.renewal_date,
        primary_subscription.subscription_status,
        primary_subscription.cancelled_date,
        primary_subscription.auto_renew

    from accounts
    left join primary_subscription
        on
            accounts.account_id = primary_subscription.account_id
            and accounts.snapshot_date = primary_subscription.snapshot_date

)

select * from final
