with

source as (

    select * from {{ source('crm', 'contacts') }}

),

renamed as (

    select
        contact_id,
        _landing_date as snapshot_date,
        account_id,
        first_name_hash,
        last_name_hash,
        email_hash,
        phone_hash,
        title,
        is_primary,
        _source_file as source_file,
        _source_line as source_line,
        _loaded_at as loaded_at

    from source

)

select * from renamed
