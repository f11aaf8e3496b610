{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key=['account_id', 'as_of_date'],
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- The rule-based account health score: the baseline the churn model must beat. Each rule
-- that fires on the account's point-in-time features (feat_account_daily, as of the start
-- of the day) takes its penalty off 100; the band is green (70+), yellow (40-69) or red
-- (below 40).

with

features as (

    select * from {{ ref('feat_account_daily') }}
    where {{ in_window('as_of_date', lookback=var('lookback_days') - 1, lookahead=1) }}

),

rules as (

    select
        account_id,
        as_of_date,
        snapshot_date,
        account_status,
        arr,
        tickets_14d >= 4 as is_high_ticket_volume,
        coalesce(negative_sentiment_share_30d >= 0.5 and tickets_30d >= 2, false) as is_negative_sentiment,
        sla_breaches_30d >= 1 as is_sla_breached,
        coalesce(usage_change_7d_vs_prior_28d <= -0.3, false) as is_usage_down,
        coalesce(days_to_renewal between 0 and 90, false) as is_renewal_due
    from features

),

scored as (

    select
        *,
        100
        - case when is_high_ticket_volume then 25 else 0 end
        - case when is_negative_sentiment then 20 else 0 end
        - case when is_sla_breached then 15 else 0 end
        - case when is_usage_down then 25 else 0 end
        - case when is_renewal_due then 15 else 0 end as health_score
    from rules

),

final as (

    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(as_of_date as date) as as_of_date,
        cast(snapshot_date as date) as snapshot_date,
        cast(health_score as integer) as health_score,
        cast(
            case
                when health_score >= 70 then 'green'
                when health_score >= 40 then 'yellow'
                else 'red'
            end as {{ dbt.type_string() }}
        ) as health_band,
        is_high_ticket_volume,
        is_negative_sentiment,
        is_sla_breached,
        is_usage_down,
        is_renewal_due,
        cast(
            case when is_high_ticket_volume then 1 else 0 end
            + case when is_negative_sentiment then 1 else 0 end
            + case when is_sla_breached then 1 else 0 end
            + case when is_usage_down then 1 else 0 end
            + case when is_renewal_due then 1 else 0 end
            as integer
        ) as rules_fired,
        cast(account_status as {{ dbt.type_string() }}) as account_status,
        cast(arr as double) as arr
    from scored

)

select * from final
