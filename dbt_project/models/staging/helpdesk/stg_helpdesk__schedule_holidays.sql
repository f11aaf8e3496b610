-- Holidays of the source's business-hours schedules, every landed snapshot (renamed, cast).

with

source as (

    select * from {{ source('helpdesk', 'schedule_holidays') }}

),

renamed as (

    select
        schedule_id,
        _landing_date as snapshot_date,
        start_date as holiday_start_date,
        end_date as holiday_end_date,
        holiday_name,
        _source_file as source_file,
        _source_line as source_line,
        _loaded_at as loaded_at

    from source

)

select * from renamed
