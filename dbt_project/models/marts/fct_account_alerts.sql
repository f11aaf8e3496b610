-- The proactive alerts: one row per account, as-of day and alert type that fired
-- (int_account_alert_signals), with the reason in plain words and the figures behind it.
-- `is_new`: the same alert did not fire for the account the day before, so a daily digest
-- (the webhook) posts each alert once when it starts, not every day it lasts.

with

signals as (

    select * from {{ ref('int_account_alert_signals') }}

),

with_previous as (

    select
        signals.*,
        coalesce(previous.is_usage_drop, false) as was_usage_drop,
        coalesce(previous.is_ticket_burst, false) as was_ticket_burst
    from signals
    left join signals as previous
        on
            signals.account_id = previous.account_id
            and previous.as_of_date = {{ add_days('signals.as_of_date', -1) }}
    where signals.is_usage_drop or signals.is_ticket_burst

),

alerts as (

    select
        account_id,
        as_of_date,
        'usage_drop' as alert_type,
        not was_usage_drop as is_new,
        {{ dbt.concat([
            "'Product use per seat down '",
            "cast(cast(round(100 * (1 - usage_ratio)) as integer) as " ~ dbt.type_string() ~ ")",
            "'%: '",
            "cast(events_7d as " ~ dbt.type_string() ~ ")",
            "' events in the last 7 days vs '",
            "cast(cast(round(expected_events_7d) as integer) as " ~ dbt.type_string() ~ ")",
            "' expected from the 4 weeks before ('",
            "cast(seats as " ~ dbt.type_string() ~ ")",
            "' seats)'",
        ]) }} as reason,
        cast(events_7d as double) as observed,
        expected_events_7d as baseline,
        usage_ratio as ratio,
        segment,
        tier,
        seats,
        arr
    from with_previous
    where is_usage_drop

    union all

    select
        account_id,
        as_of_date,
        'ticket_burst' as alert_type,
        not was_ticket_burst as is_new,
        {{ dbt.concat([
            "cast(tickets_14d as " ~ dbt.type_string() ~ ")",
            "' tickets in the last 14 days, '",
            "cast(round(ticket_ratio, 1) as " ~ dbt.type_string() ~ ")",
            "'x the account''s own rate ('",
            "cast(round(expected_tickets_14d, 1) as " ~ dbt.type_string() ~ ")",
            "' per 14 days over the last 90)'",
        ]) }} as reason,
        cast(tickets_14d as double) as observed,
        expected_tickets_14d as baseline,
        ticket_ratio as ratio,
        segment,
        tier,
        seats,
        arr
    from with_previous
    where is_ticket_burst

)

select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(as_of_date as date) as as_of_date,
    cast({{ add_days('as_of_date', -1) }} as date) as data_through_date,
    cast(alert_type as {{ dbt.type_string() }}) as alert_type,
    cast(is_new as boolean) as is_new,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(observed as double) as observed,
    cast(baseline as double) as baseline,
    cast(ratio as double) as ratio,
    cast(segment as {{ dbt.type_string() }}) as segment,
    cast(tier as {{ dbt.type_string() }}) as tier,
    cast(seats as integer) as seats,
    cast(arr as double) as arr
from alerts
