-- The account-day spine of the point-in-time features: one row per account and as-of day
-- D, for every account in the CRM snapshot of D-1. A feature row as of D describes the
-- account at the start of D: it may use events strictly before D and the CRM snapshot of
-- D-1, nothing later.

with

snapshots as (

    select
        account_id,
        snapshot_date
    from {{ ref('stg_crm__accounts') }}

)

select
    account_id,
    {{ add_days('snapshot_date', 1) }} as as_of_date,
    snapshot_date
from snapshots
