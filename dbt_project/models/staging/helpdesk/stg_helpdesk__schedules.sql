-- Business-hours schedule intervals of the source, every landed snapshot (renamed, cast).

with

source as (

    select * from {{ source('helpdesk', 'schedules') }}

),

renamed as (

    select
        schedule_id,
        _landing_date as snapshot_date,
        schedule_name,
        time_zone,
        start_minute,
        end_minute,
        _source_file as source_file,
        _source_line as source_line,
        _loaded_at as loaded_at

    from source

)

select * from renamed
