{{
    config(
        materialized='incremental',
        incremental_strategy=supportops_incremental_strategy(),
        unique_key='account_id',
        on_schema_change='append_new_columns',
        full_refresh=supportops_full_refresh(),
    )
}}

-- Accounts as a type-2 slowly changing dimension, one row per account version, built by
-- change detection over the CRM's daily full snapshots (not a dbt snapshot: see the yml).
-- A version starts on the first snapshot day whose tracked attributes differ from the
-- account's previous snapshot and is valid until the next version starts; the last
-- version is current while the account is in the latest snapshot, and otherwise ends the
-- day after its last snapshot. valid_to is exclusive and null for the current version. A
-- day the account is missing from (e.g. its row was quarantined) does not split a version.
--
-- A windowed run reads only the snapshots from the window's first day on, and carries in
-- each account's last version begun before it as one snapshot (its hash, version number
-- and last snapshot day): the change detection continues from there, so a daily refresh
-- compares one day of snapshots, not the whole history. It rewrites every version of the
-- accounts (delete+insert on account_id): the versions begun earlier pass through as
-- stored. See docs/decisions.md, "Incremental windows".

{%- set carry_from = window_start_sql() if is_windowed_run() else none %}
{%- set tracked = [
    'account_name', 'industry', 'segment', 'region', 'tier', 'account_owner',
    'account_created_date', 'account_status', 'subscription_id', 'plan', 'seats', 'arr',
    'subscription_start_date', 'renewal_date', 'subscription_status', 'cancelled_date',
    'auto_renew',
] %}

with

snapshots as (

    select
        account_id,
        snapshot_date,
        {%- for column in tracked %}
        {{ column }},
        {%- endfor %}
        {{ dbt.hash(attributes_concat(tracked)) }} as attributes_hash,
        cast(null as integer) as carried_version_number,
        cast(null as date) as carried_last_snapshot_date
    from {{ ref('int_account_snapshots') }}
    {%- if carry_from is not none %}
    where snapshot_date >= {{ carry_from }}

    union all

    select
        account_id,
        valid_from as snapshot_date,
        {%- for column in tracked %}
        {{ column }},
        {%- endfor %}
        attributes_hash,
        version_number as carried_version_number,
        case
            when last_snapshot_date < {{ carry_from }} then last_snapshot_date
            else {{ add_days(carry_from, -1) }}
        end as carried_last_snapshot_date
    from (
        select
            *,
            row_number() over (partition by account_id order by valid_from desc) as newest_first
        from {{ this }}
        where valid_from < {{ carry_from }}
    ) as begun_before
    where newest_first = 1
    {%- endif %}

),

latest_snapshot as (

    select max(coalesce(carried_last_snapshot_date, snapshot_date)) as latest_snapshot_date
    from snapshots

),

compared as (

    select
        *,
        lag(attributes_hash) over (partition by account_id order by snapshot_date) as previous_hash
    from snapshots

),

flagged as (

    select
        *,
        case
            when previous_hash is null then 1
            when previous_hash <> attributes_hash then 1
            else 0
        end as starts_version
    from compared

),

numbered as (

    select
        *,
        sum(starts_version)
            over (
                partition by account_id
                order by snapshot_date
                rows between unbounded preceding and current row
            )
        + coalesce(max(carried_version_number) over (partition by account_id), 1)
        - 1 as version_number
    from flagged

),

versions as (

    select
        account_id,
        version_number,
        min(snapshot_date) as valid_from,
        max(coalesce(carried_last_snapshot_date, snapshot_date)) as last_snapshot_date,
        {%- for column in tracked %}
        max({{ column }}) as {{ column }},
        {%- endfor %}
        max(attributes_hash) as attributes_hash
    from numbered
    group by account_id, version_number

),

bounded as (

    select
        *,
        lead(valid_from) over (partition by account_id order by version_number) as next_valid_from
    from versions

),

final as (

    select
        cast(
            {{ dbt.hash(attributes_concat(['versions.account_id', 'versions.valid_from'])) }}
            as {{ dbt.type_string() }}
        ) as account_version_key,
        cast(versions.account_id as {{ dbt.type_string() }}) as account_id,
        cast(versions.version_number as integer) as version_number,
        cast(versions.valid_from as date) as valid_from,
        cast(
            case
                when versions.next_valid_from is not null then versions.next_valid_from
                when versions.last_snapshot_date < latest_snapshot.latest_snapshot_date
                    then {{ add_days('versions.last_snapshot_date', 1) }}
            end as date
        ) as valid_to,
        versions.next_valid_from is null
        and versions.last_snapshot_date >= latest_snapshot.latest_snapshot_date as is_current,
        cast(versions.last_snapshot_date as date) as last_snapshot_date,
        cast(versions.account_name as {{ dbt.type_string() }}) as account_name,
        cast(versions.industry as {{ dbt.type_string() }}) as industry,
        cast(versions.segment as {{ dbt.type_string() }}) as segment,
        cast(versions.region as {{ dbt.type_string() }}) as region,
        cast(versions.tier as {{ dbt.type_string() }}) as tier,
        cast(versions.account_owner as {{ dbt.type_string() }}) as account_owner,
        cast(versions.account_created_date as date) as account_created_date,
        cast(versions.account_status as {{ dbt.type_string() }}) as account_status,
        cast(versions.subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(versions.plan as {{ dbt.type_string() }}) as plan,
        cast(versions.seats as integer) as seats,
        cast(versions.arr as double) as arr,
        cast(versions.subscription_start_date as date) as subscription_start_date,
        cast(versions.renewal_date as date) as renewal_date,
        cast(versions.subscription_status as {{ dbt.type_string() }}) as subscription_status,
        cast(versions.cancelled_date as date) as cancelled_date,
        cast(versions.auto_renew as boolean) as auto_renew,
        cast(versions.attributes_hash as {{ dbt.type_string() }}) as attributes_hash

    from bounded as versions
    cross join latest_snapshot

)

select * from final
{%- if carry_from is not none %}

union all

select stored.*
from {{ this }} as stored
inner join (
    select
        account_id,
        max(valid_from) as carried_valid_from
    from {{ this }}
    where valid_from < {{ carry_from }}
    group by account_id
) as carried
    on
        stored.account_id = carried.account_id
        and stored.valid_from < carried.carried_valid_from
{%- endif %}
