"""Features of tickets that are not in the warehouse yet: a helpdesk ticket posted to the
scoring service, turned into a `feat_ticket_at_creation` row in one DuckDB query.

The ticket's own columns and text features are computed as ingestion computes them
(`extracts.ingest.score_texts`: the lexicon sentiment SQL and lingua's language, here
inside the one features query); the
requester's earlier tickets come from `marts.fct_tickets` and the account's features from
`features.feat_account_daily` as of the newest published day, both in the serving copy,
which the caller attaches as `serving`. Business hours follow the warehouse's business
calendar (`marts.dim_business_hours`: the ticket's schedule, else its tier's clock, with
holidays and time zones), as `feat_ticket_at_creation` computes them. A new ticket has had
no bot exchange yet: its bot columns are empty, a fact at posting time (see
docs/decisions-layer.md). The SLA state at creation uses the newest first-response target the
warehouse applied to the same tier and priority.
"""

from __future__ import annotations

from functools import cache

import duckdb
import pandas as pd
import pyarrow as pa
import yaml

from config.settings import PROJECT_ROOT
from extracts.language import DEFAULT_LANGUAGES, detect_languages
from extracts.lexicon import sentiment_sql

# The columns of a posted ticket the features are computed from (the helpdesk contract's
# non-PII columns; PII fields are dropped before anything is built).
TICKET_COLUMNS = ("ticket_id", "created_at", "channel", "category", "priority", "tier",
                  "account_id", "requester_id", "schedule_id", "subject",
                  "description")  # fmt: skip


@cache
def negative_sentiment_threshold() -> float:
    """dbt's `negative_sentiment_threshold` var: the warehouse's line for a negative ticket."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    return float(project["vars"]["negative_sentiment_threshold"])


FEATURES_SQL = (
    """
with
posted as (select * from _posted),
text_features as (
    -- the ingestion's lexicon sentiment of each distinct text, in this one query
    select texts.text, scores.sentiment, texts.language
    from _posted_texts as texts
    inner join ("""
    + sentiment_sql("_posted_texts")
    + """) as scores on texts.text_id = scores.text_id
),
history as (
    select
        posted._position,
        count(earlier.ticket_id) as requester_prior_tickets,
        count(earlier.ticket_id) filter (
            where earlier.created_at >= posted.created_at - interval 30 day
        ) as requester_prior_tickets_30d,
        count(earlier.ticket_id) filter (
            where earlier.category = posted.category
                and earlier.created_at >= posted.created_at - interval 7 day
        ) as requester_prior_same_category_7d,
        count(earlier.ticket_id) filter (
            where earlier.first_escalated_at < posted.created_at
        ) as requester_prior_escalated_tickets,
        max(earlier.created_at) as requester_last_ticket_at
    from posted
    left join serving.marts.fct_tickets as earlier
        on earlier.requester_id = posted.requester_id and earlier.created_at < posted.created_at
    group by posted._position
)
select
    posted.ticket_id::bigint as ticket_id,
    posted.created_at::timestamp as created_at,
    posted.created_at::date as created_date,
    posted.account_id,
    posted.requester_id,
    posted.channel,
    posted.category,
    posted.priority,
    posted.tier,
    hour(posted.created_at)::integer as created_hour,
    isodow(posted.created_at)::integer as created_iso_day_of_week,
    exists (
        select 1 from _business_windows as windows
        where windows.schedule_id = coalesce(known.schedule_id, 'tier:' || posted.tier)
            and windows.calendar_date = posted.created_at::date
            and windows.opens_at <= posted.created_at::timestamp
            and posted.created_at::timestamp < windows.closes_at
    ) as is_created_in_business_hours,
    length(posted.subject)::integer as subject_chars,
    subject_text.sentiment::double as subject_sentiment,
    length(posted.description)::integer as description_chars,
    description_text.sentiment::double as description_sentiment,
    description_text.language as description_language,
    coalesce(description_text.sentiment < $negative, false) as is_negative_sentiment,
    false as has_bot_exchange,
    null::integer as bot_first_reply_seconds,
    null::integer as bot_first_reply_chars,
    null::double as bot_first_reply_sentiment,
    null::integer as requester_followup_chars,
    null::double as requester_followup_sentiment,
    history.requester_prior_tickets::integer as requester_prior_tickets,
    history.requester_prior_tickets_30d::integer as requester_prior_tickets_30d,
    history.requester_prior_same_category_7d::integer as requester_prior_same_category_7d,
    history.requester_prior_escalated_tickets::integer as requester_prior_escalated_tickets,
    date_diff('day', history.requester_last_ticket_at::date, posted.created_at::date)::integer
        as requester_days_since_last_ticket,
    accounts.as_of_date is not null as has_account_features,
    accounts.as_of_date as account_features_as_of,
    accounts.tickets_14d::integer as account_tickets_14d,
    accounts.tickets_30d::integer as account_tickets_30d,
    accounts.negative_sentiment_share_30d::double as account_negative_sentiment_share_30d,
    accounts.sla_breaches_30d::integer as account_sla_breaches_30d,
    accounts.escalations_30d::integer as account_escalations_30d,
    accounts.tier3_escalations_30d::integer as account_tier3_escalations_30d,
    accounts.csat_avg_30d::double as account_csat_avg_30d,
    accounts.events_7d::integer as account_events_7d,
    accounts.usage_change_7d_vs_prior_28d::double as account_usage_change_7d_vs_prior_28d,
    accounts.active_users_28d::integer as account_active_users_28d,
    accounts.segment as account_segment,
    accounts.plan as account_plan,
    accounts.seats::integer as account_seats,
    accounts.arr::double as account_arr,
    accounts.tenure_days::integer as account_tenure_days,
    accounts.days_to_renewal::integer as account_days_to_renewal,
    sla_targets.sla_target_minutes
from posted
left join history on posted._position = history._position
left join _known_schedules as known on posted.schedule_id::varchar = known.schedule_id
left join _newest_accounts as accounts on posted.account_id = accounts.account_id
left join _sla_targets as sla_targets
    on posted.tier = sla_targets.tier and posted.priority = sla_targets.priority
left join text_features as subject_text on subject_text.text = posted.subject
left join text_features as description_text on description_text.text = posted.description
order by posted._position
"""
)


PREPARE_SQL = (
    """create or replace temp table _newest_accounts as
    select daily.* from serving.features.feat_account_daily as daily
    where daily.as_of_date = (select max(as_of_date) from serving.features.feat_account_daily)""",
    """create or replace temp table _sla_targets as
    select tier, priority,
        arg_max(sla_first_response_target_minutes, created_at) as sla_target_minutes
    from serving.marts.fct_tickets
    where sla_first_response_target_minutes is not null
    group by tier, priority""",
    # business_minutes > 0: the windows; every schedule id: those the calendar knows
    """create or replace temp table _business_windows as
    select schedule_id, calendar_date, opens_at, closes_at
    from serving.marts.dim_business_hours where business_minutes > 0""",
    """create or replace temp table _known_schedules as
    select distinct schedule_id from serving.marts.dim_business_hours""",
)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """What every request reads and only a publish changes, kept once per serving copy: the
    accounts' newest feature day, the newest SLA target per tier and priority and the
    business calendar's windows."""
    con.execute("set TimeZone = 'UTC'")  # a posted time with an offset: read as UTC
    for sql in PREPARE_SQL:
        con.execute(sql)


def ticket_features(
    con: duckdb.DuckDBPyConnection,
    tickets: pd.DataFrame,
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
) -> pd.DataFrame:
    """`feat_ticket_at_creation` rows (plus `sla_target_minutes` and the account features'
    day) of posted `tickets` (`TICKET_COLUMNS`), in their order. `con` has the serving copy
    attached as `serving`, the lexicon tables loaded (`load_lexicon_tables`) and `prepare`
    run since it was attached."""
    posted = tickets[list(TICKET_COLUMNS)].assign(_position=range(len(tickets)))
    # Each distinct text once, its language detected as ingestion does (`score_texts`);
    # the sentiment is the ingestion's SQL inside the one features query: no temp tables
    # and no extra statements per request.
    texts = pd.unique(pd.concat([posted["subject"], posted["description"]]).dropna())
    detected = pa.table(
        {
            "text_id": pa.array(range(1, len(texts) + 1), pa.int64()),
            "text": pa.array(texts, pa.string()),
            "language": pa.array(detect_languages(list(texts), languages), pa.string()),
        }
    )
    con.register("_posted", posted)
    con.register("_posted_texts", detected)
    try:
        return con.execute(FEATURES_SQL, {"negative": negative_sentiment_threshold()}).df()
    finally:
        con.unregister("_posted")
        con.unregister("_posted_texts")
