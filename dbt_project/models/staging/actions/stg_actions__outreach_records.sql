with

source as (

    select * from {{ source('actions', 'outreach_records') }}

),

renamed as (

    select
        record_id,
        account_id,
        period as outreach_period,
        listed_on,
        arm,
        contacted_at,
        outcome,
        recorded_by_role,
        recorded_by_hash,
        recorded_at,
        _loaded_at as loaded_at

    from source

)

select * from renamed
