{{ config(materialized='table') }}

-- The business calendar's windows for readers outside the warehouse: the scoring service
-- decides whether a posted ticket is created in business hours from these rows, the way
-- feat_ticket_at_creation does (the ticket's schedule, else its tier's clock), without
-- reading the warehouse. Start rows (no minutes) are kept: they say which schedules the
-- calendar knows, which is how a ticket's schedule falls back to its tier's clock.

select
    schedule_id,
    calendar_date,
    opens_at,
    closes_at,
    business_minutes

from {{ ref('int_business_calendar') }}
