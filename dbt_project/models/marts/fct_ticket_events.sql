{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='event_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- One row per (deduplicated) ticket event, with its ticket's dimensions, its place in the
-- ticket's history and its effect on the ticket's open state (for backlog). Incremental
-- runs re-derive every event of the tickets that got events or landed in the window, so
-- sequence numbers and state changes stay right when events arrive late.

with

events as (

    select * from {{ ref('stg_helpdesk__ticket_events') }}
    {% if is_windowed_run() %}
        where ticket_id in ({{ tickets_in_scope() }})
    {% endif %}

),

tickets as (

    select
        ticket_id,
        created_at as ticket_created_at,
        channel,
        category,
        priority,
        tier,
        account_id,
        requester_id
    from {{ ref('stg_helpdesk__tickets') }}

),

sequenced as (

    select
        *,
        row_number() over (partition by ticket_id order by event_at, event_id) as event_sequence,
        -- the open state an event leaves the ticket in; null for events that do not change it
        case
            when event_type in ('solved', 'closed') then 0
            when event_type = 'reopened' then 1
            when event_type = 'status_change' and status in ('solved', 'closed') then 0
            when event_type = 'status_change' and status in ('new', 'open', 'pending', 'on_hold') then 1
        end as open_after_event
    from events

),

state_changes as (

    -- a ticket is open from its creation; each state event moves it between open and not
    select
        event_id,
        open_after_event
        - lag(open_after_event, 1, 1) over (
            partition by ticket_id order by event_at, event_id
        ) as open_state_change
    from sequenced
    where open_after_event is not null

),

final as (

    select
        cast(sequenced.event_id as bigint) as event_id,
        cast(sequenced.ticket_id as bigint) as ticket_id,
        cast(sequenced.event_type as {{ dbt.type_string() }}) as event_type,
        cast(sequenced.event_at as timestamp) as event_at,
        cast(sequenced.event_at as date) as event_date,
        cast(sequenced.event_sequence as integer) as event_sequence,
        cast(sequenced.actor_type as {{ dbt.type_string() }}) as actor_type,
        cast(sequenced.actor_id as {{ dbt.type_string() }}) as actor_id,
        cast(sequenced.handle_seconds as integer) as handle_seconds,
        cast(sequenced.escalated_to_tier as integer) as escalated_to_tier,
        cast(sequenced.status as {{ dbt.type_string() }}) as status,
        cast(sequenced.csat_score as integer) as csat_score,
        cast(sequenced.body_chars as integer) as body_chars,
        cast(sequenced.body_sentiment as double) as body_sentiment,
        cast(sequenced.body_language as {{ dbt.type_string() }}) as body_language,
        cast(coalesce(state_changes.open_state_change, 0) as integer) as open_state_change,
        cast(
            {{ minutes_between('tickets.ticket_created_at', 'sequenced.event_at') }} as double
        ) as minutes_since_ticket_created,
        cast(tickets.channel as {{ dbt.type_string() }}) as channel,
        cast(tickets.category as {{ dbt.type_string() }}) as category,
        cast(tickets.priority as {{ dbt.type_string() }}) as priority,
        cast(tickets.tier as {{ dbt.type_string() }}) as tier,
        cast(tickets.account_id as {{ dbt.type_string() }}) as account_id,
        cast(tickets.requester_id as {{ dbt.type_string() }}) as requester_id,
        cast(sequenced.landing_date as date) as landing_date,
        cast(sequenced.source_file as {{ dbt.type_string() }}) as source_file,
        cast(sequenced.source_line as bigint) as source_line,
        cast(sequenced.is_late_arrival as boolean) as is_late_arrival

    from sequenced
    left join state_changes
        on sequenced.event_id = state_changes.event_id
    left join tickets
        on sequenced.ticket_id = tickets.ticket_id

)

select * from final
