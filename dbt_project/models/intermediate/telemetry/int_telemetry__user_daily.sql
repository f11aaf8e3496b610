{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key=['account_id', 'user_id', 'activity_date'],
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- Product activity per account, user and day the events happened. Incremental runs
-- recompute the event days of the window plus `lookback_days` before it, from every
-- event of those days (late events included).

with

events as (

    select * from {{ ref('stg_telemetry__events') }}
    where {{ in_window('event_date', lookback=var('lookback_days')) }}

),

final as (

    select
        account_id,
        user_id,
        event_date as activity_date,
        count(*) as events,
        sum(case when event_name = 'error' then 1 else 0 end) as error_events,
        sum(case when event_name = 'feature_used' then 1 else 0 end) as feature_events,
        sum(case when event_name = 'login' then 1 else 0 end) as logins
    from events
    group by account_id, user_id, event_date

)

select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(user_id as {{ dbt.type_string() }}) as user_id,
    cast(activity_date as date) as activity_date,
    cast(events as integer) as events,
    cast(error_events as integer) as error_events,
    cast(feature_events as integer) as feature_events,
    cast(logins as integer) as logins
from final
