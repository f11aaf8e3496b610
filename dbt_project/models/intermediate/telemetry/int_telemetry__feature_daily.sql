{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key=['account_id', 'feature', 'activity_date'],
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- Product features used per account and day (`feature_used` events), for feature breadth.
-- Same window as int_telemetry__user_daily.

with

events as (

    select * from {{ ref('stg_telemetry__events') }}
    where
        event_name = 'feature_used'
        and feature is not null
        and {{ in_window('event_date', lookback=var('lookback_days')) }}

),

final as (

    select
        account_id,
        feature,
        event_date as activity_date,
        count(*) as uses,
        count(distinct user_id) as user_count
    from events
    group by account_id, feature, event_date

)

select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(feature as {{ dbt.type_string() }}) as feature,
    cast(activity_date as date) as activity_date,
    cast(uses as integer) as uses,
    cast(user_count as integer) as user_count
from final
