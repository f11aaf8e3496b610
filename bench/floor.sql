-- The floor: marts.fct_support_kpis_daily computed in one DuckDB script straight from the
-- helpdesk and CRM landing files and the dbt seeds, with no warehouse, no raw tables and no dbt.
-- The benchmark compares the pipeline's build time with this script's run time.
--
-- Placeholders, filled by bench/floor.py (`floor_sql`) with plain text substitution:
--   {landing}            the landing folder (holds helpdesk/<day>/tickets.jsonl, ticket_events.jsonl
--                        and crm/<day>/accounts.csv)
--   {seeds}              the dbt seeds folder (business_hours.csv, sla_policies.csv, cost_model.csv)
--
-- It assumes clean extracts (generator run with fault_rate=0): no quarantine, and no
-- de-duplication, because a clean export writes each ticket once (tickets.jsonl of its
-- creation day, never re-exported on update) and each event once (the day it happened).
--
-- The rules are those of the dbt models (dbt_project/docs/decisions.md); the comments name
-- the model each step mirrors. Expressions that produce floats are written the way the dbt
-- models write them, so per-ticket values are identical and only summation order could move
-- the last digit of the mart's 6-decimal sums. dbt vars used at their defaults:
-- recontact_days = 7, negative_sentiment_threshold = -0.2.

-- minutes_between and minute_of_day macros (macros/cross_db.sql): minutes from whole seconds
create or replace temp macro minutes_between(first_ts, second_ts) as
    date_diff('second', first_ts::timestamp, second_ts::timestamp) / 60.0;

create or replace temp macro minute_of_day(ts) as
    minutes_between(date_trunc('day', ts), ts);

-- business_clock macro (macros/business_clock.sql): business minutes from the start of the
-- calendar to `ts`, given the int_business_calendar row of the ticket's tier and ts's day
create or replace temp macro business_clock(ts, minutes_before, business_minutes, open_minute, close_minute) as
    minutes_before
    + case
        when business_minutes = 0 then 0
        when minute_of_day(ts) <= open_minute then 0
        when minute_of_day(ts) >= close_minute then business_minutes
        else minute_of_day(ts) - open_minute
    end;

with

-- ---------------------------------------------------------------------------- sources

tickets as (

    select
        ticket_id,
        created_at,
        cast(created_at as date) as created_date,
        channel,
        category,
        tier,
        account_id,
        requester_id,
        description
    from read_json(
        '{landing}/helpdesk/*/tickets.jsonl',
        format = 'newline_delimited',
        columns = {
            ticket_id: 'BIGINT',
            created_at: 'TIMESTAMP',
            channel: 'VARCHAR',
            category: 'VARCHAR',
            tier: 'VARCHAR',
            account_id: 'VARCHAR',
            requester_id: 'VARCHAR',
            description: 'VARCHAR'
        }
    )

),

events as (

    select
        event_id,
        ticket_id,
        event_type,
        created_at as event_at,
        actor_type,
        handle_seconds,
        to_tier,
        status,
        csat_score
    from read_json(
        '{landing}/helpdesk/*/ticket_events.jsonl',
        format = 'newline_delimited',
        columns = {
            event_id: 'BIGINT',
            ticket_id: 'BIGINT',
            event_type: 'VARCHAR',
            created_at: 'TIMESTAMP',
            actor_type: 'VARCHAR',
            handle_seconds: 'INTEGER',
            to_tier: 'INTEGER',
            status: 'VARCHAR',
            csat_score: 'INTEGER'
        }
    )

),

business_hours as (

    select * from read_csv(
        '{seeds}/business_hours.csv',
        header = true,
        auto_detect = false,
        columns = {tier: 'VARCHAR', iso_day_of_week: 'INTEGER', open_minute: 'INTEGER', close_minute: 'INTEGER'}
    )

),

sla_policies as (

    select * from read_csv(
        '{seeds}/sla_policies.csv',
        header = true,
        auto_detect = false,
        columns = {tier: 'VARCHAR', sla_metric: 'VARCHAR', target_minutes: 'INTEGER', hours_basis: 'VARCHAR'}
    )

),

cost_model as (

    select * from read_csv(
        '{seeds}/cost_model.csv',
        header = true,
        auto_detect = false,
        columns = {effective_from: 'DATE', cost_item: 'VARCHAR', tier: 'VARCHAR', amount_usd: 'DOUBLE'}
    )

),

crm_snapshots as (

    -- stg_crm__accounts: each CRM full snapshot, dated by its landing day
    select
        account_id,
        segment,
        cast(regexp_extract(filename, '([0-9]{4}-[0-9]{2}-[0-9]{2})[/\\]accounts[.]csv$', 1) as date)
            as snapshot_date
    from read_csv(
        '{landing}/crm/*/accounts.csv',
        header = true,
        filename = true,
        types = {'account_id': 'VARCHAR', 'segment': 'VARCHAR'}
    )

),

account_last_snapshots as (

    select
        account_id,
        max(snapshot_date) as last_snapshot_date,
        max(max(snapshot_date)) over () as latest_snapshot_date
    from crm_snapshots
    group by account_id

),

ticket_segments as (

    -- dim_accounts' validity, for the segment: the account's latest snapshot on or before
    -- the creation day, none after its last snapshot when it left the CRM; else 'unknown'
    select
        tickets.ticket_id,
        coalesce(
            case
                when
                    account_last_snapshots.last_snapshot_date = account_last_snapshots.latest_snapshot_date
                    or tickets.created_date <= account_last_snapshots.last_snapshot_date
                    then crm_snapshots.segment
            end,
            'unknown'
        ) as segment
    from tickets
    asof left join crm_snapshots
        on
            tickets.account_id = crm_snapshots.account_id
            and tickets.created_date >= crm_snapshots.snapshot_date
    left join account_last_snapshots
        on tickets.account_id = account_last_snapshots.account_id

),

-- ---------------------------------------------------------------------------- per-ticket facts

event_facts as (

    -- one pass over the events: every per-ticket aggregate of int_tickets__bot_path,
    -- __agent_activity, __resolution, __escalations and __csat
    select
        ticket_id,
        -- who made the first bot-or-agent event (ties on time broken by event id)
        arg_min(actor_type, (event_at, event_id)) filter (where actor_type in ('bot', 'agent'))
            as first_touch_actor_type,
        count(*) filter (where event_type = 'bot_reply') as bot_replies,
        min(event_at) filter (where event_type = 'bot_handoff') as bot_handoff_at,
        count(*) filter (where actor_type = 'agent') as agent_touches,
        count(*) filter (where event_type = 'agent_reply') as agent_replies,
        coalesce(sum(handle_seconds) filter (where actor_type = 'agent'), 0) as handle_seconds,
        min(event_at) filter (where event_type = 'agent_reply') as first_agent_reply_at,
        min(event_at) filter (where actor_type = 'agent') as first_agent_touch_at,
        count(*) filter (where event_type = 'reopened') as reopens,
        max(event_at) filter (where event_type = 'solved') as last_solved_at,
        max(event_at) filter (where event_type = 'reopened') as last_reopened_at,
        max(event_at) filter (where event_type = 'closed') as closed_at,
        max(to_tier) filter (where event_type = 'escalated') as max_support_tier,
        count(*) filter (where event_type = 'escalated' and to_tier = 3) > 0 as is_escalated_to_tier3,
        -- the latest survey answer counts
        arg_max(csat_score, (event_at, event_id))
            filter (where event_type = 'csat_response' and csat_score is not null) as csat_score
    from events
    group by ticket_id

),

negative_tickets as (

    -- description sentiment as ingestion scores it: `_text_features` (text, sentiment,
    -- language) is made by extracts.ingest.score_texts before this script runs (bench/floor.py);
    -- negative below -0.2, the dbt var negative_sentiment_threshold
    select tickets.ticket_id
    from tickets
    inner join _text_features
        on tickets.description = _text_features.text
    where _text_features.sentiment < -0.2

),

lifecycle as (

    select
        tickets.ticket_id,
        tickets.created_at,
        tickets.created_date,
        tickets.channel,
        tickets.category,
        tickets.tier,
        tickets.requester_id,
        coalesce(event_facts.first_touch_actor_type = 'bot', false)
        or tickets.channel = 'bot' as is_bot_handled,
        coalesce(event_facts.bot_replies, 0) as bot_replies,
        event_facts.bot_handoff_at,
        coalesce(event_facts.agent_touches, 0) > 0 as has_agent_touch,
        coalesce(event_facts.agent_replies, 0) as agent_replies,
        coalesce(event_facts.handle_seconds, 0) as handle_seconds,
        event_facts.first_agent_reply_at,
        event_facts.first_agent_touch_at,
        coalesce(event_facts.reopens, 0) > 0 as is_reopened,
        -- int_tickets__resolution: the final solve when no reopen followed it, else a
        -- closure no reopen followed
        case
            when
                event_facts.last_solved_at is not null
                and (event_facts.last_reopened_at is null or event_facts.last_solved_at > event_facts.last_reopened_at)
                then event_facts.last_solved_at
            when
                event_facts.closed_at is not null
                and (event_facts.last_reopened_at is null or event_facts.closed_at > event_facts.last_reopened_at)
                then event_facts.closed_at
        end as resolved_at,
        coalesce(event_facts.max_support_tier, 1) > 1 as is_escalated,
        coalesce(event_facts.is_escalated_to_tier3, false) as is_escalated_to_tier3,
        event_facts.csat_score,
        negative_tickets.ticket_id is not null as is_negative_sentiment
    from tickets
    left join event_facts
        on tickets.ticket_id = event_facts.ticket_id
    left join negative_tickets
        on tickets.ticket_id = negative_tickets.ticket_id

),

queued as (

    select
        *,
        resolved_at is not null as is_resolved,
        cast(resolved_at as date) as resolved_date,
        -- int_tickets__reply_times: the ticket entered the agent queue at creation, or for a
        -- bot-first ticket at the hand-off or the first agent touch, whichever came first
        -- (least() skips nulls); a bot conversation no agent joined never entered it
        case
            when not is_bot_handled then created_at
            else least(bot_handoff_at, first_agent_touch_at)
        end as agent_queue_at,
        -- int_tickets__recontact: the requester's next ticket in the same category
        lead(created_at) over (
            partition by requester_id, category order by created_at, ticket_id
        ) as next_ticket_created_at
    from lifecycle

),

-- ---------------------------------------------------------------------------- business clock

calendar_days as (

    -- int_calendar_days, over the days the clock is read on (any first day will do: only
    -- differences of clock readings are used)
    select unnest(generate_series(first_day, last_day, interval 1 day))::date as calendar_date
    from (
        select
            (select min(created_date) from tickets) as first_day,
            greatest(
                (select max(created_date) from tickets),
                (select cast(max(event_at) as date) from events)
            ) as last_day
    ) as bounds

),

business_calendar as (

    -- int_business_calendar: per tier and day, its open hours and the business minutes of
    -- every earlier day (the clock at the day's start)
    select
        tier_days.*,
        coalesce(
            sum(tier_days.business_minutes) over (
                partition by tier_days.tier
                order by tier_days.calendar_date
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as business_minutes_before
    from (
        select
            tiers.tier,
            calendar_days.calendar_date,
            business_hours.open_minute,
            business_hours.close_minute,
            coalesce(business_hours.close_minute - business_hours.open_minute, 0) as business_minutes
        from (select distinct tier from business_hours) as tiers
        cross join calendar_days
        left join business_hours
            on
                tiers.tier = business_hours.tier
                and isodow(calendar_days.calendar_date) = business_hours.iso_day_of_week
    ) as tier_days

),

clocked as (

    select
        queued.*,
        business_clock(
            queued.created_at, at_created.business_minutes_before, at_created.business_minutes,
            at_created.open_minute, at_created.close_minute
        ) as clock_at_created,
        business_clock(
            queued.agent_queue_at, at_queue.business_minutes_before, at_queue.business_minutes,
            at_queue.open_minute, at_queue.close_minute
        ) as clock_at_queue,
        business_clock(
            queued.first_agent_reply_at, at_first_reply.business_minutes_before, at_first_reply.business_minutes,
            at_first_reply.open_minute, at_first_reply.close_minute
        ) as clock_at_first_reply,
        business_clock(
            queued.resolved_at, at_resolved.business_minutes_before, at_resolved.business_minutes,
            at_resolved.open_minute, at_resolved.close_minute
        ) as clock_at_resolved
    from queued
    left join business_calendar as at_created
        on queued.tier = at_created.tier and queued.created_date = at_created.calendar_date
    left join business_calendar as at_queue
        on queued.tier = at_queue.tier and cast(queued.agent_queue_at as date) = at_queue.calendar_date
    left join business_calendar as at_first_reply
        on queued.tier = at_first_reply.tier and cast(queued.first_agent_reply_at as date) = at_first_reply.calendar_date
    left join business_calendar as at_resolved
        on queued.tier = at_resolved.tier and queued.resolved_date = at_resolved.calendar_date

),

-- ---------------------------------------------------------------------------- SLA

sla_targets as (

    select
        tier,
        max(case when sla_metric = 'first_response' then target_minutes end) as first_response_target_minutes,
        max(case when sla_metric = 'first_response' then hours_basis end) as first_response_hours_basis,
        max(case when sla_metric = 'full_resolution' then target_minutes end) as full_resolution_target_minutes,
        max(case when sla_metric = 'full_resolution' then hours_basis end) as full_resolution_hours_basis
    from sla_policies
    group by tier

),

clock_as_of as (

    -- a ticket still waiting is measured up to the latest event loaded, not the wall clock
    select
        business_calendar.tier,
        as_of.data_as_of,
        business_clock(
            as_of.data_as_of, business_calendar.business_minutes_before, business_calendar.business_minutes,
            business_calendar.open_minute, business_calendar.close_minute
        ) as clock_as_of
    from (select max(event_at) as data_as_of from events) as as_of
    inner join business_calendar
        on cast(as_of.data_as_of as date) = business_calendar.calendar_date

),

sla_stops as (

    -- int_tickets__sla: first response stops at the first agent reply, else at the final
    -- solve when it came after the ticket entered the queue
    select
        clocked.*,
        sla_targets.first_response_target_minutes,
        sla_targets.first_response_hours_basis,
        sla_targets.full_resolution_target_minutes,
        sla_targets.full_resolution_hours_basis,
        clock_as_of.data_as_of,
        clock_as_of.clock_as_of,
        clocked.agent_queue_at is not null and sla_targets.tier is not null as is_sla_applicable,
        coalesce(
            clocked.first_agent_reply_at,
            case when clocked.resolved_at >= clocked.agent_queue_at then clocked.resolved_at end
        ) as first_response_stop_at,
        case
            when clocked.first_agent_reply_at is not null then clocked.clock_at_first_reply
            when clocked.resolved_at >= clocked.agent_queue_at then clocked.clock_at_resolved
        end as clock_at_first_response_stop
    from clocked
    left join sla_targets
        on clocked.tier = sla_targets.tier
    left join clock_as_of
        on clocked.tier = clock_as_of.tier

),

ticket_facts as (

    -- fct_tickets: the columns the KPI mart reads
    select
        ticket_id,
        created_date,
        resolved_date,
        channel,
        category,
        tier,
        segment,
        case
            when has_agent_touch and is_bot_handled then 'assisted'
            when has_agent_touch then 'agent'
            when is_resolved then 'automated'
            else 'unresolved'
        end as handling_path,
        is_bot_handled,
        is_bot_handled
        and is_resolved
        and not has_agent_touch
        and not is_reopened
        -- re-contacted: the next same-topic ticket came no later than 7 days after the
        -- resolution day
        and not coalesce(
            is_resolved and cast(next_ticket_created_at as date) <= resolved_date + 7, false
        ) as is_contained,
        bot_replies,
        has_agent_touch,
        agent_replies,
        cast(handle_seconds as bigint) as handle_seconds,
        -- greatest() skips nulls, as in int_tickets__reply_times
        case
            when first_agent_reply_at is not null
                then greatest(minutes_between(agent_queue_at, first_agent_reply_at), 0)
        end as first_reply_minutes,
        case
            when first_agent_reply_at is not null
                then greatest(clock_at_first_reply - clock_at_queue, 0)
        end as first_reply_business_minutes,
        minutes_between(created_at, resolved_at) as full_resolution_minutes,
        clock_at_resolved - clock_at_created as full_resolution_business_minutes,
        is_sla_applicable,
        is_sla_applicable
        and case
            when first_response_hours_basis = 'business'
                then coalesce(clock_at_first_response_stop, clock_as_of) - clock_at_queue
            else minutes_between(agent_queue_at, coalesce(first_response_stop_at, data_as_of))
        end > first_response_target_minutes as is_sla_first_response_breached,
        is_sla_applicable
        and case
            when full_resolution_hours_basis = 'business'
                then coalesce(clock_at_resolved, clock_as_of) - clock_at_created
            else minutes_between(created_at, coalesce(resolved_at, data_as_of))
        end > full_resolution_target_minutes as is_sla_resolution_breached,
        is_resolved,
        is_resolved and agent_replies <= 1 and not is_reopened as is_fcr,
        is_escalated,
        is_escalated_to_tier3,
        is_reopened,
        csat_score,
        is_negative_sentiment
    from sla_stops
    inner join ticket_segments
        using (ticket_id)

),

-- ---------------------------------------------------------------------------- costs

prices_in_force as (

    -- int_cost_rates_daily, for the creation days only: per day, tier and cost item the
    -- latest price, a tier-specific one beating a `tier = all` one of the same date
    select
        creation_days.created_date,
        tiers.tier,
        cost_model.cost_item,
        arg_max(cost_model.amount_usd, (cost_model.effective_from, cost_model.tier = tiers.tier)) as amount_usd
    from (select distinct created_date from tickets) as creation_days
    cross join (select distinct tier from sla_policies) as tiers
    inner join cost_model
        on
            creation_days.created_date >= cost_model.effective_from
            and cost_model.tier in (tiers.tier, 'all')
    group by creation_days.created_date, tiers.tier, cost_model.cost_item

),

rates as (

    select
        created_date,
        tier,
        max(case when cost_item = 'agent_hour' then amount_usd end) as agent_hour_cost_usd,
        max(case when cost_item = 'bot_conversation' then amount_usd end) as bot_conversation_cost_usd,
        max(case when cost_item = 'platform_day' then amount_usd end) as platform_day_cost_usd
    from prices_in_force
    group by created_date, tier

),

creation_day_costs as (

    -- the day's fixed platform cost, shared equally by the tickets created that day
    select
        tickets_per_day.created_date,
        coalesce(max(rates.platform_day_cost_usd), 0) / tickets_per_day.tickets_created as platform_cost_per_ticket
    from (select created_date, count(*) as tickets_created from tickets group by created_date) as tickets_per_day
    left join rates
        on tickets_per_day.created_date = rates.created_date
    group by tickets_per_day.created_date, tickets_per_day.tickets_created

),

-- ---------------------------------------------------------------------------- the mart

outcomes_daily as (

    -- ticket outcomes count on the creation day
    select
        ticket_facts.created_date as kpi_date,
        ticket_facts.channel,
        ticket_facts.category,
        ticket_facts.tier,
        ticket_facts.segment,
        ticket_facts.handling_path,
        count(*) as tickets,
        count(*) filter (where ticket_facts.is_bot_handled) as bot_handled_tickets,
        count(*) filter (where ticket_facts.is_contained) as contained_tickets,
        count(*) filter (where ticket_facts.bot_replies > 0) as bot_conversations,
        count(*) filter (where ticket_facts.has_agent_touch) as agent_touched_tickets,
        sum(ticket_facts.agent_replies) as agent_replies,
        sum(ticket_facts.handle_seconds) as handle_seconds,
        count(ticket_facts.first_reply_minutes) as first_reply_tickets,
        sum(coalesce(ticket_facts.first_reply_minutes, 0)) as first_reply_minutes_sum,
        sum(coalesce(ticket_facts.first_reply_business_minutes, 0)) as first_reply_business_minutes_sum,
        count(ticket_facts.full_resolution_minutes) as full_resolution_tickets,
        sum(coalesce(ticket_facts.full_resolution_minutes, 0)) as full_resolution_minutes_sum,
        sum(coalesce(ticket_facts.full_resolution_business_minutes, 0)) as full_resolution_business_minutes_sum,
        count(*) filter (where ticket_facts.is_sla_applicable) as sla_first_response_applicable,
        count(*) filter (where ticket_facts.is_sla_first_response_breached) as sla_first_response_breached,
        count(*) filter (where ticket_facts.is_sla_applicable) as sla_resolution_applicable,
        count(*) filter (where ticket_facts.is_sla_resolution_breached) as sla_resolution_breached,
        count(*) filter (where ticket_facts.is_sla_applicable) as sla_tickets,
        count(*) filter (
            where ticket_facts.is_sla_applicable
            and not coalesce(ticket_facts.is_sla_first_response_breached, false)
            and not coalesce(ticket_facts.is_sla_resolution_breached, false)
        ) as sla_all_met_tickets,
        count(*) filter (where ticket_facts.is_resolved) as fcr_eligible_tickets,
        count(*) filter (where ticket_facts.is_fcr) as fcr_tickets,
        count(*) filter (where ticket_facts.is_escalated) as escalated_tickets,
        count(*) filter (where ticket_facts.is_escalated_to_tier3) as escalated_to_tier3_tickets,
        count(*) filter (where ticket_facts.is_reopened) as reopened_tickets,
        count(ticket_facts.csat_score) as csat_responses,
        count(*) filter (where ticket_facts.csat_score >= 4) as csat_satisfied_responses,
        sum(coalesce(ticket_facts.csat_score, 0)) as csat_score_sum,
        count(*) filter (where ticket_facts.is_negative_sentiment) as negative_sentiment_tickets,
        sum(ticket_facts.handle_seconds / 3600.0 * coalesce(rates.agent_hour_cost_usd, 0)) as agent_cost_usd,
        sum(
            case when ticket_facts.bot_replies > 0 then coalesce(rates.bot_conversation_cost_usd, 0) else 0 end
        ) as bot_cost_usd,
        sum(creation_day_costs.platform_cost_per_ticket) as platform_cost_usd
    from ticket_facts
    inner join creation_day_costs
        on ticket_facts.created_date = creation_day_costs.created_date
    left join rates
        on ticket_facts.created_date = rates.created_date and ticket_facts.tier = rates.tier
    group by all

),

solves_daily as (

    -- solved_tickets count on the final solve's day
    select
        resolved_date as kpi_date,
        channel,
        category,
        tier,
        segment,
        handling_path,
        count(*) as solved_tickets
    from ticket_facts
    where is_resolved
    group by all

),

state_changes_daily as (

    -- fct_ticket_events.open_state_change: a ticket is open from its creation; each solve,
    -- closure, reopen or status change leaves it open (1) or not (0), and changes the
    -- backlog by the difference from the state before it
    select
        cast(state_changes.event_at as date) as kpi_date,
        ticket_facts.channel,
        ticket_facts.category,
        ticket_facts.tier,
        ticket_facts.segment,
        ticket_facts.handling_path,
        sum(state_changes.open_state_change) as open_state_change
    from (
        select
            ticket_id,
            event_at,
            open_after_event - lag(open_after_event, 1, 1) over (
                partition by ticket_id order by event_at, event_id
            ) as open_state_change
        from (
            select
                ticket_id,
                event_id,
                event_at,
                case
                    when event_type in ('solved', 'closed') then 0
                    when event_type = 'reopened' then 1
                    when event_type = 'status_change' and status in ('solved', 'closed') then 0
                    when event_type = 'status_change' and status in ('new', 'open', 'pending', 'on_hold') then 1
                end as open_after_event
            from events
        ) as state_events
        where open_after_event is not null
    ) as state_changes
    inner join ticket_facts
        on state_changes.ticket_id = ticket_facts.ticket_id
    group by all

),

activity as (

    -- the three day attributions side by side; a ticket opens the backlog on its creation day
    select
        coalesce(outcomes_daily.kpi_date, solves_daily.kpi_date, state_changes_daily.kpi_date) as kpi_date,
        coalesce(outcomes_daily.channel, solves_daily.channel, state_changes_daily.channel) as channel,
        coalesce(outcomes_daily.category, solves_daily.category, state_changes_daily.category) as category,
        coalesce(outcomes_daily.tier, solves_daily.tier, state_changes_daily.tier) as tier,
        coalesce(outcomes_daily.segment, solves_daily.segment, state_changes_daily.segment) as segment,
        coalesce(outcomes_daily.handling_path, solves_daily.handling_path, state_changes_daily.handling_path)
            as handling_path,
        outcomes_daily.* exclude (kpi_date, channel, category, tier, segment, handling_path),
        coalesce(solves_daily.solved_tickets, 0) as solved_tickets,
        coalesce(outcomes_daily.tickets, 0) + coalesce(state_changes_daily.open_state_change, 0) as backlog_change
    from outcomes_daily
    full outer join solves_daily
        using (kpi_date, channel, category, tier, segment, handling_path)
    full outer join state_changes_daily
        using (kpi_date, channel, category, tier, segment, handling_path)

),

dense as (

    -- every day x combination, so the running backlog carries over quiet days
    select
        reporting_days.kpi_date,
        combinations.channel,
        combinations.category,
        combinations.tier,
        combinations.segment,
        combinations.handling_path,
        activity.* exclude (kpi_date, channel, category, tier, segment, handling_path)
    from (
        select unnest(generate_series(min(kpi_date), max(kpi_date), interval 1 day))::date as kpi_date
        from activity
    ) as reporting_days
    cross join (select distinct channel, category, tier, segment, handling_path from activity) as combinations
    left join activity
        on
            reporting_days.kpi_date = activity.kpi_date
            and combinations.channel = activity.channel
            and combinations.category = activity.category
            and combinations.tier = activity.tier
            and combinations.segment = activity.segment
            and combinations.handling_path = activity.handling_path

),

with_backlog as (

    select
        *,
        sum(coalesce(backlog_change, 0)) over (
            partition by channel, category, tier, segment, handling_path
            order by kpi_date
            rows between unbounded preceding and current row
        ) as backlog_tickets
    from dense

)

-- fct_support_kpis_daily's columns and types; sums of minutes and dollars rounded to 6
-- decimals as the mart rounds them
select
    kpi_date,
    channel,
    category,
    tier,
    segment,
    handling_path,
    cast(coalesce(tickets, 0) as integer) as tickets,
    cast(coalesce(bot_handled_tickets, 0) as integer) as bot_handled_tickets,
    cast(coalesce(contained_tickets, 0) as integer) as contained_tickets,
    cast(coalesce(bot_conversations, 0) as integer) as bot_conversations,
    cast(coalesce(agent_touched_tickets, 0) as integer) as agent_touched_tickets,
    cast(coalesce(agent_replies, 0) as integer) as agent_replies,
    cast(coalesce(handle_seconds, 0) as bigint) as handle_seconds,
    cast(coalesce(first_reply_tickets, 0) as integer) as first_reply_tickets,
    cast(round(coalesce(first_reply_minutes_sum, 0), 6) as double) as first_reply_minutes_sum,
    cast(round(coalesce(first_reply_business_minutes_sum, 0), 6) as double) as first_reply_business_minutes_sum,
    cast(coalesce(full_resolution_tickets, 0) as integer) as full_resolution_tickets,
    cast(round(coalesce(full_resolution_minutes_sum, 0), 6) as double) as full_resolution_minutes_sum,
    cast(round(coalesce(full_resolution_business_minutes_sum, 0), 6) as double) as full_resolution_business_minutes_sum,
    cast(coalesce(sla_first_response_applicable, 0) as integer) as sla_first_response_applicable,
    cast(coalesce(sla_first_response_breached, 0) as integer) as sla_first_response_breached,
    cast(coalesce(sla_resolution_applicable, 0) as integer) as sla_resolution_applicable,
    cast(coalesce(sla_resolution_breached, 0) as integer) as sla_resolution_breached,
    cast(coalesce(sla_tickets, 0) as integer) as sla_tickets,
    cast(coalesce(sla_all_met_tickets, 0) as integer) as sla_all_met_tickets,
    cast(coalesce(fcr_eligible_tickets, 0) as integer) as fcr_eligible_tickets,
    cast(coalesce(fcr_tickets, 0) as integer) as fcr_tickets,
    cast(coalesce(escalated_tickets, 0) as integer) as escalated_tickets,
    cast(coalesce(escalated_to_tier3_tickets, 0) as integer) as escalated_to_tier3_tickets,
    cast(coalesce(reopened_tickets, 0) as integer) as reopened_tickets,
    cast(coalesce(csat_responses, 0) as integer) as csat_responses,
    cast(coalesce(csat_satisfied_responses, 0) as integer) as csat_satisfied_responses,
    cast(coalesce(csat_score_sum, 0) as integer) as csat_score_sum,
    cast(coalesce(negative_sentiment_tickets, 0) as integer) as negative_sentiment_tickets,
    cast(coalesce(solved_tickets, 0) as integer) as solved_tickets,
    cast(backlog_tickets as integer) as backlog_tickets,
    cast(round(coalesce(agent_cost_usd, 0), 6) as double) as agent_cost_usd,
    cast(round(coalesce(bot_cost_usd, 0), 6) as double) as bot_cost_usd,
    cast(round(coalesce(platform_cost_usd, 0), 6) as double) as platform_cost_usd,
    cast(round(coalesce(agent_cost_usd, 0) + coalesce(bot_cost_usd, 0) + coalesce(platform_cost_usd, 0), 6) as double)
        as total_cost_usd
from with_backlog
-- the mart keeps the rows where something happened or tickets are open
where
    coalesce(tickets, 0) > 0
    or coalesce(solved_tickets, 0) > 0
    or coalesce(backlog_change, 0) <> 0
    or backlog_tickets <> 0
order by kpi_date, channel, category, tier, segment, handling_path
