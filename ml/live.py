"""Features of tickets that are not in the warehouse yet: a helpdesk ticket posted to the
scoring service, turned into a `feat_ticket_at_creation` row without a query per request.

What the features read from the serving copy changes only when a new copy is published, so
`prepare` reads it once per copy into `Lookups`: the requesters' earlier tickets
(`marts.fct_tickets`) as sorted keys, the accounts' features as of the newest published day
(`features.feat_account_daily`), the business calendar's windows
(`marts.dim_business_hours`) and the newest SLA targets. A request then costs a few binary
searches (numpy's `searchsorted` over structured keys, exact to the microsecond, a whole
batch at once) and lookups by index: a few milliseconds flat, where one DuckDB query's
fixed cost was three times the rest of the request, and its scan of the tickets grew with
the history.

The ticket's own text features are computed as ingestion computes them: lingua's language,
and the lexicon sentiment by `extracts.lexicon.sentiment_score`, the Python form of
ingestion's sentiment SQL (equal to its last digit, test-guarded); a request holds at most a
batch of texts, scored in microseconds each, while the warehouse's bulk stays in SQL.
Business hours follow the warehouse's calendar (the ticket's schedule, else its tier's
clock, with holidays and time zones), as `feat_ticket_at_creation` computes them. A new
ticket has had no bot exchange yet: its bot columns are empty, a fact at posting time (see
docs/decisions-layer.md). The SLA state at creation uses the newest first-response target the
warehouse applied to the same tier and priority.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import duckdb
import numpy as np
import pandas as pd
import yaml

from config.settings import PROJECT_ROOT
from extracts.language import DEFAULT_LANGUAGES, detect_languages
from extracts.lexicon import sentiment_score

# The columns of a posted ticket the features are computed from (the helpdesk contract's
# non-PII columns; PII fields are dropped before anything is built).
TICKET_COLUMNS = ("ticket_id", "created_at", "channel", "category", "priority", "tier",
                  "account_id", "requester_id", "schedule_id", "subject",
                  "description")  # fmt: skip
# feat_account_daily's columns a ticket carries, as `account_<name>`.
ACCOUNT_COLUMNS = ("tickets_14d", "tickets_30d", "negative_sentiment_share_30d",
                   "sla_breaches_30d", "escalations_30d", "tier3_escalations_30d",
                   "csat_avg_30d", "events_7d", "usage_change_7d_vs_prior_28d",
                   "active_users_28d", "segment", "plan", "seats", "arr", "tenure_days",
                   "days_to_renewal")  # fmt: skip
DAY_US = 86_400_000_000
_FIRST = np.iinfo(np.int64).min  # below every time: a key's lowest bound


@cache
def negative_sentiment_threshold() -> float:
    """dbt's `negative_sentiment_threshold` var: the warehouse's line for a negative ticket."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    return float(project["vars"]["negative_sentiment_threshold"])


def _keys(*columns: np.ndarray) -> np.ndarray:
    """Rows of int64 columns as one structured array: numpy sorts and searches it
    lexicographically (column by column), which is what a composite key needs."""
    keys = np.empty(len(columns[0]), np.dtype([(f"k{i}", "<i8") for i in range(len(columns))]))
    for i, column in enumerate(columns):
        keys[f"k{i}"] = column
    return keys


def _sorted_keys(*columns: np.ndarray) -> np.ndarray:
    keys = _keys(*columns)
    return keys[np.argsort(keys, kind="stable")]


def _before(keys: np.ndarray, *bound: np.ndarray) -> np.ndarray:
    """How many keys sort before each bound."""
    return np.searchsorted(keys, _keys(*bound), side="left")


def _micros(values: object) -> np.ndarray:
    """Timestamps (UTC, naive) as int64 microseconds since the epoch."""
    return np.asarray(values, dtype="datetime64[us]").astype(np.int64)


@dataclass(frozen=True)
class Lookups:
    """What features read from one serving copy, read once (`prepare`): immutable, so any
    number of requests share it and a new copy's replaces it whole."""

    requesters: pd.Index
    """Requester ids; a requester's code is its position."""
    tickets: np.ndarray
    """(requester, created_at) per ticket, sorted."""
    categories: pd.Index
    tickets_by_category: np.ndarray
    """(requester, category, created_at), sorted."""
    escalations: np.ndarray
    """(requester, the later of created_at and first_escalated_at) per escalated ticket."""
    accounts: pd.DataFrame
    """The newest feature day's row per account (`as_of_date` and `ACCOUNT_COLUMNS`)."""
    sla_targets: pd.Series
    """Newest first-response target (minutes) by (tier, priority)."""
    schedules: pd.Index
    """Every schedule the calendar knows (a window's schedule code is its position)."""
    windows: np.ndarray
    """(schedule, calendar day, opens_at) per open window, sorted."""
    windows_closed: np.ndarray
    """Per window: the latest close among its day's windows up to it (overlaps stay exact)."""


def prepare(con: duckdb.DuckDBPyConnection) -> Lookups:
    """The serving copy's `Lookups`; `con` has it attached as `serving`."""
    con.execute("set TimeZone = 'UTC'")  # a posted time with an offset: read as UTC
    tickets = con.execute(
        """select requester_id, category, created_at,
            greatest(created_at, first_escalated_at) as escalated_by,
            first_escalated_at is not null as is_escalated
        from serving.marts.fct_tickets
        where requester_id is not null and created_at is not null
        order by requester_id, created_at"""
    ).fetchnumpy()
    codes, requesters = pd.factorize(tickets["requester_id"])  # in order: codes ascend
    created = _micros(tickets["created_at"])
    category, categories = pd.factorize(tickets["category"])
    escalated = np.asarray(tickets["is_escalated"], dtype=bool)
    accounts = con.execute(
        f"""select account_id, as_of_date, {", ".join(ACCOUNT_COLUMNS)}
        from serving.features.feat_account_daily
        where as_of_date = (select max(as_of_date) from serving.features.feat_account_daily)"""
    ).df()
    sla_targets = con.execute(
        """select tier, priority,
            arg_max(sla_first_response_target_minutes, created_at) as sla_target_minutes
        from serving.marts.fct_tickets
        where sla_first_response_target_minutes is not null
        group by tier, priority"""
    ).df()
    schedules = pd.Index(
        con.execute("select distinct schedule_id from serving.marts.dim_business_hours")
        .df()["schedule_id"]
        .astype(str)
    )
    # business_minutes > 0: the open windows; each day's latest close so far, in opening order
    windows = con.execute(
        """select schedule_id::varchar as schedule_id, calendar_date,
            opens_at::timestamp as opens_at, closes_at::timestamp as closes_at
        from serving.marts.dim_business_hours where business_minutes > 0
        order by schedule_id, calendar_date, opens_at"""
    ).df()
    closed = (
        windows.assign(closes=_micros(windows["closes_at"]))
        .groupby(["schedule_id", "calendar_date"], sort=False)["closes"]
        .cummax()
        .to_numpy(np.int64)
    )
    window_keys = _keys(
        schedules.get_indexer(windows["schedule_id"]),
        windows["calendar_date"].to_numpy("datetime64[D]").astype(np.int64),
        _micros(windows["opens_at"]),
    )
    by_window = np.argsort(window_keys, kind="stable")
    return Lookups(
        requesters=pd.Index(requesters),
        tickets=_keys(codes, created),  # already in (requester, created_at) order
        categories=pd.Index(categories),
        tickets_by_category=_sorted_keys(codes, category, created),
        escalations=_sorted_keys(codes[escalated], _micros(tickets["escalated_by"][escalated])),
        accounts=accounts.set_index("account_id"),
        sla_targets=sla_targets.set_index(["tier", "priority"])["sla_target_minutes"],
        schedules=schedules,
        windows=window_keys[by_window],
        windows_closed=closed[by_window],
    )


def _history(lookups: Lookups, posted: pd.DataFrame, created: np.ndarray) -> dict:
    """The requester's earlier tickets, as `feat_ticket_at_creation` counts them."""
    requester = lookups.requesters.get_indexer(posted["requester_id"].astype(str))  # -1: new
    category = lookups.categories.get_indexer(posted["category"])
    earliest = np.full_like(created, _FIRST)
    first = _before(lookups.tickets, requester, earliest)
    at = _before(lookups.tickets, requester, created)
    prior = at - first
    same_category = _before(lookups.tickets_by_category, requester, category, created)
    since = created - 7 * DAY_US
    last = np.where(prior > 0, lookups.tickets["k1"][np.maximum(at - 1, 0)], 0)
    days_since = created // DAY_US - last // DAY_US
    escalations = lookups.escalations
    return {
        "requester_prior_tickets": prior,
        "requester_prior_tickets_30d": at
        - _before(lookups.tickets, requester, created - 30 * DAY_US),
        "requester_prior_same_category_7d": same_category
        - _before(lookups.tickets_by_category, requester, category, since),
        "requester_prior_escalated_tickets": _before(escalations, requester, created)
        - _before(escalations, requester, earliest),
        "requester_days_since_last_ticket": pd.Series(days_since)
        .where(prior > 0)
        .astype("Int32")
        .array,
    }


def _in_business_hours(lookups: Lookups, posted: pd.DataFrame, created: np.ndarray) -> np.ndarray:
    """Whether each ticket was created in an open window of its schedule (else its tier's
    clock) on its day: the last window opened by then, or one opened before it, still open."""
    if not len(lookups.windows):
        return np.zeros(len(posted), dtype=bool)
    given = posted["schedule_id"].astype("string")
    known = given.isin(lookups.schedules).to_numpy(bool)
    schedule = np.where(known, given.to_numpy(object), "tier:" + posted["tier"].astype(str))
    code = lookups.schedules.get_indexer(schedule)
    day = created // DAY_US
    latest = np.searchsorted(lookups.windows, _keys(code, day, created), side="right") - 1
    at = np.maximum(latest, 0)
    candidate = lookups.windows[at]
    return (
        (latest >= 0)
        & (code >= 0)
        & (candidate["k0"] == code)
        & (candidate["k1"] == day)
        & (created < lookups.windows_closed[at])
    )


def ticket_features(
    lookups: Lookups,
    tickets: pd.DataFrame,
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
) -> pd.DataFrame:
    """`feat_ticket_at_creation` rows (plus `sla_target_minutes` and the account features'
    day) of posted `tickets` (`TICKET_COLUMNS`), in their order."""
    posted = tickets[list(TICKET_COLUMNS)].reset_index(drop=True)
    at = (
        pd.to_datetime(posted["created_at"], utc=True).dt.tz_localize(None).astype("datetime64[us]")
    )
    created = _micros(at)
    # Each distinct text once, as ingestion does (`extracts.ingest.score_texts`).
    texts = pd.unique(pd.concat([posted["subject"], posted["description"]]).dropna())
    language = dict(zip(texts, detect_languages(list(texts), languages), strict=True))
    sentiment = {text: sentiment_score(text, language[text]) for text in texts}
    description_sentiment = posted["description"].map(sentiment).astype("float64")
    account = lookups.accounts.reindex(posted["account_id"])
    sla = lookups.sla_targets.reindex(
        pd.MultiIndex.from_arrays([posted["tier"], posted["priority"]])
    )
    no_bot = pd.array([None] * len(posted), dtype="Int32")
    no_bot_sentiment = np.full(len(posted), np.nan)
    return pd.DataFrame(
        {
            "ticket_id": posted["ticket_id"].astype("int64"),
            "created_at": at,
            "created_date": at.dt.normalize(),
            **{
                c: posted[c]
                for c in ("account_id", "requester_id", "channel", "category", "priority", "tier")
            },
            "created_hour": at.dt.hour.astype("int32"),
            "created_iso_day_of_week": at.dt.dayofweek.astype("int32") + 1,
            "is_created_in_business_hours": _in_business_hours(lookups, posted, created),
            "subject_chars": posted["subject"].str.len().astype("Int32"),
            "subject_sentiment": posted["subject"].map(sentiment).astype("float64"),
            "description_chars": posted["description"].str.len().astype("Int32"),
            "description_sentiment": description_sentiment,
            "description_language": posted["description"].map(language),
            "is_negative_sentiment": (
                description_sentiment < negative_sentiment_threshold()
            ).to_numpy(),
            "has_bot_exchange": False,
            "bot_first_reply_seconds": no_bot,
            "bot_first_reply_chars": no_bot,
            "bot_first_reply_sentiment": no_bot_sentiment,
            "requester_followup_chars": no_bot,
            "requester_followup_sentiment": no_bot_sentiment,
            **_history(lookups, posted, created),
            "has_account_features": account["as_of_date"].notna().to_numpy(),
            "account_features_as_of": account["as_of_date"].to_numpy(),
            **{f"account_{c}": account[c].array for c in ACCOUNT_COLUMNS},
            "sla_target_minutes": sla.array,
        }
    )
