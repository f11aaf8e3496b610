{{ config(meta={"dagster": {"ref": {"name": "fct_ticket_events"}}}) }}

-- Events in = events out + duplicates removed: every raw event row is either a row of
-- fct_ticket_events or a repeated copy of an event id that staging dropped.

with

raw_events as (

    select
        count(*) as n_rows,
        count(*) - count(distinct event_id) as n_duplicates
    from {{ source('helpdesk', 'ticket_events') }}

),

fct as (

    select count(*) as n_rows
    from {{ ref('fct_ticket_events') }}

)

select
    raw_events.n_rows as raw_rows,
    raw_events.n_duplicates as duplicates_removed,
    fct.n_rows as fct_rows
from raw_events
cross join fct
where raw_events.n_rows <> fct.n_rows + raw_events.n_duplicates
