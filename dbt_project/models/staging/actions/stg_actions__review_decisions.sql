with

source as (

    select * from {{ source('actions', 'review_decisions') }}

),

renamed as (

    select
        decision_id,
        ticket_id,
        decision,
        reason as decision_reason,
        model_version,
        escalation_probability,
        reviewer_role,
        reviewer_hash,
        decided_at,
        _loaded_at as loaded_at

    from source

)

select * from renamed
