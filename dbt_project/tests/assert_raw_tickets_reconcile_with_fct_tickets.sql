{{ config(meta={"dagster": {"ref": {"name": "fct_tickets"}}}) }}

-- Every distinct ticket loaded into raw (raw holds only rows that passed the contract;
-- quarantined rows never get there) is exactly one row of fct_tickets.

with

raw_tickets as (

    select count(distinct ticket_id) as n_tickets
    from {{ source('helpdesk', 'tickets') }}

),

fct as (

    select count(*) as n_tickets
    from {{ ref('fct_tickets') }}

)

select
    raw_tickets.n_tickets as raw_distinct_tickets,
    fct.n_tickets as fct_tickets
from raw_tickets
cross join fct
where raw_tickets.n_tickets <> fct.n_tickets
