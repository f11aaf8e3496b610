{{ config(meta={"dagster": {"ref": {"name": "fct_support_kpis_daily"}}}) }}

-- The backlog the KPI mart carries to its last day equals the tickets open now
-- (is_open) in fct_tickets: the event-based state changes and the ticket facts agree.

with

last_day as (

    select max(kpi_date) as kpi_date
    from {{ ref('fct_support_kpis_daily') }}

),

backlog as (

    select coalesce(sum(kpis.backlog_tickets), 0) as open_tickets
    from {{ ref('fct_support_kpis_daily') }} as kpis
    inner join last_day
        on kpis.kpi_date = last_day.kpi_date

),

open_tickets as (

    select count(*) as open_tickets
    from {{ ref('fct_tickets') }}
    where is_open

)

select
    backlog.open_tickets as backlog_on_last_day,
    open_tickets.open_tickets as unresolved_tickets
from backlog
cross join open_tickets
where backlog.open_tickets <> open_tickets.open_tickets
