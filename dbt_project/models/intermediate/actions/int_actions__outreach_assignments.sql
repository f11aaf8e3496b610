-- One row per account and outreach period: the arm it was assigned (holdout wins when an
-- account was both held out and contacted, so the comparison stays by assignment), the day
-- it was listed (its outcome window starts then), its contacts and latest outcome, and the
-- period's end (the window closes then: the first day of the next quarter).

with

records as (

    select * from {{ ref('stg_actions__outreach_records') }}

),

latest_contact as (

    select
        account_id,
        outreach_period,
        outcome,
        row_number() over (
            partition by account_id, outreach_period order by contacted_at desc, record_id desc
        ) as recency
    from records
    where arm = 'contacted'

),

grouped as (

    select
        account_id,
        outreach_period,
        min(listed_on) as listed_on,
        max(case when arm = 'holdout' then 1 else 0 end) = 1 as is_holdout,
        cast(sum(case when arm = 'contacted' then 1 else 0 end) as bigint) as contacts,
        min(contacted_at) as first_contacted_at
    from records
    group by account_id, outreach_period

),

periods as (

    select
        grouped.*,
        cast({{ dbt.concat([
            'substring(outreach_period, 1, 4)',
            "case substring(outreach_period, 7, 1) when '1' then '-01-01' when '2' then '-04-01'"
            ~ " when '3' then '-07-01' else '-10-01' end",
        ]) }} as date
        ) as period_start
    from grouped

),

final as (

    select
        periods.account_id,
        periods.outreach_period,
        case when periods.is_holdout then 'holdout' else 'contacted' end as arm,
        periods.listed_on,
        periods.period_start,
        cast({{ dbt.dateadd('month', 3, 'periods.period_start') }} as date) as period_end,
        periods.contacts,
        periods.first_contacted_at,
        latest_contact.outcome as latest_outcome,
        periods.is_holdout and periods.contacts > 0 as is_holdout_contacted

    from periods
    left join latest_contact
        on
            periods.account_id = latest_contact.account_id
            and periods.outreach_period = latest_contact.outreach_period
            and latest_contact.recency = 1

)

select * from final
