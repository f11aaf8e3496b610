with

source as (

    select * from {{ source('crm', 'subscriptions') }}

),

renamed as (

    select
        subscription_id,
        _landing_date as snapshot_date,
        account_id,
        plan,
        seats,
        arr,
        start_date as subscription_start_date,
        renewal_date,
        status as subscription_status,
        cancelled_at as cancelled_date,
        auto_renew,
        _source_file as source_file,
        _source_line as source_line,
        _loaded_at as loaded_at

    from source

)

select * from renamed
