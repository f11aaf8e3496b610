with

source as (

    select * from {{ source('crm', 'accounts') }}

),

renamed as (

    select
        account_id,
        _landing_date as snapshot_date,
        account_name,
        industry,
        segment,
        region,
        tier,
        owner as account_owner,
        created_date as account_created_date,
        status as account_status,
        billing_email_hash,
        _source_file as source_file,
        _source_line as source_line,
        _loaded_at as loaded_at

    from source

)

select * from renamed
