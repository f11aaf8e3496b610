{{ config(materialized='table') }}

-- Accounts as a type-2 slowly changing dimension, one row per account version, built by
-- change detection over the CRM's daily full snapshots (not a dbt snapshot: see the yml).
-- A version starts on the first snapshot day whose tracked attributes differ from the
-- account's previous snapshot and is valid until the next version starts; the last
-- version is current while the account is in the latest snapshot, and otherwise ends the
-- day after its last snapshot. valid_to is exclusive and null for the current version. A
-- day the account is missing from (e.g. its row was quarantined) does not split a version.

{%- set tracked = [
    'account_name', 'industry', 'segment', 'region', 'tier', 'account_owner',
    'account_created_date', 'account_status', 'subscription_id', 'plan', 'seats', 'arr',
    'subscription_start_date', 'renewal_date', 'subscription_status', 'cancelled_date',
    'auto_renew',
] %}

with

snapshots as (

    select * from {{ ref('int_account_snapshots') }}

),

latest_snapshot as (

    select max(snapshot_date) as latest_snapshot_date
    from snapshots

),

hashed as (

    select
        *,
        {{ dbt.hash(attributes_concat(tracked)) }} as attributes_hash
    from snapshots

),

compared as (

    select
        *,
        lag(attributes_hash) over (partition by account_id order by snapshot_date) as previous_hash
    from hashed

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
        sum(starts_version) over (
            partition by account_id
            order by snapshot_date
            rows between unbounded preceding and current row
        ) as version_number
    from flagged

),

versions as (

    select
        account_id,
        version_number,
        min(snapshot_date) as valid_from,
        max(snapshot_date) as last_snapshot_date,
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
