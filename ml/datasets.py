"""Training frames built in DuckDB: point-in-time features joined to labels from later data.

Labels come from the warehouse's own later state (dim_accounts, fct_tickets), never from
the generator's truth, so the same code trains on a real support stack.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ml.model import FeatureSet, TaskSpec

# Everything in these lists is known at the start of the as-of day (or at ticket creation).
# history_days is left out: it only says how old the warehouse is, not the account. ARR and
# seats are left out as raw numbers: with a few hundred churners they single out accounts
# the model then memorises; size enters through the per-seat ratios and segment and plan.
ACCOUNT_FEATURES = FeatureSet(
    numeric=[
        "tickets_7d",
        "tickets_14d",
        "tickets_30d",
        "negative_tickets_30d",
        "negative_sentiment_share_30d",
        "sla_breaches_30d",
        "escalations_30d",
        "tier3_escalations_30d",
        "csat_responses_30d",
        "csat_avg_30d",
        "csat_trend_30d",
        "events_7d",
        "events_prior_28d",
        "usage_change_7d_vs_prior_28d",
        "active_users_7d",
        "active_users_28d",
        "feature_breadth_28d",
        "errors_7d",
        "errors_28d",
        "seat_utilization",
        "events_per_seat_7d",
        "tickets_per_seat_30d",
        "errors_per_event_28d",
        "tenure_days",
        "days_to_renewal",
        "auto_renew",
        "renewal_within_90d",
        "renewal_within_90d_manual",
        "usage_vs_peak_90d",
        "usage_vs_avg_90d",
    ],
    # Industry and region are left out: they say nothing a CSM can act on, and with a few
    # hundred churners the booster used them to single out accounts.
    categorical=["segment", "tier", "plan"],
)

TICKET_FEATURES = FeatureSet(
    numeric=[
        "created_hour",
        "created_iso_day_of_week",
        "is_created_in_business_hours",
        "subject_chars",
        "subject_sentiment",
        "description_chars",
        "description_sentiment",
        "is_negative_sentiment",
        "has_bot_exchange",
        "bot_first_reply_seconds",
        "bot_first_reply_chars",
        "bot_first_reply_sentiment",
        "requester_followup_chars",
        "requester_followup_sentiment",
        "requester_prior_tickets",
        "requester_prior_tickets_30d",
        "requester_prior_same_category_7d",
        "requester_prior_escalated_tickets",
        "requester_days_since_last_ticket",
        "account_tickets_14d",
        "account_tickets_30d",
        "account_negative_sentiment_share_30d",
        "account_sla_breaches_30d",
        "account_escalations_30d",
        "account_tier3_escalations_30d",
        "account_csat_avg_30d",
        "account_events_7d",
        "account_usage_change_7d_vs_prior_28d",
        "account_active_users_28d",
        "account_seats",
        "account_arr",
        "account_tenure_days",
        "account_days_to_renewal",
    ],
    categorical=[
        "channel",
        "category",
        "priority",
        "tier",
        "description_language",
        "account_segment",
        "account_plan",
    ],
)


# Arrow's integer and boolean types as pandas' nullable types (`query_frame`).
_NULLABLE = {
    pa.bool_(): pd.BooleanDtype(),
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}


def query_frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """The query's rows as pandas by way of Arrow, typed as DuckDB's own `df()` types them:
    dates as datetime64[us], decimals as floats, integers and booleans as numpy's, or as
    pandas' nullable types where the column holds a null. `df()` took 6-14 s for the churn
    training frame at 1M tickets (1.6M rows, 50 columns), Arrow under 1 s. On a cursor:
    Arrow from `execute` would copy the rows once more, and the relation API refuses to run
    beside a result the caller left unfinished (a `fetchone`)."""
    with con.cursor() as cursor:
        table = cursor.sql(sql, params=params).to_arrow_table()
    frame = table.to_pandas(date_as_object=False, types_mapper=_NULLABLE.get)
    for field in table.schema:
        if pa.types.is_date(field.type):
            frame[field.name] = frame[field.name].astype("datetime64[us]")
        elif pa.types.is_decimal(field.type):
            frame[field.name] = frame[field.name].astype("float64")
        elif field.type in _NULLABLE and not table[field.name].null_count:
            frame[field.name] = frame[field.name].astype(field.type.to_pandas_dtype())
    return frame


# Feature rows before this much history have truncated windows (usage change needs 35
# days); the model would learn the warehouse's age instead of the account's behaviour.
MIN_HISTORY_DAYS = 35

# Per-seat and per-event ratios: the level of use against the account's size, which a tree
# cannot divide out of two raw columns. A renewal inside the churn horizon is when most
# churn happens (a lapse), above all without auto-renew: a flag the logistic cannot carve
# out of days_to_renewal. Last week's use against the account's own 90-day peak and mean
# (rows up to the as-of day only) shows a decline that began more than a month ago.
# `$start` (a date or null) is the first as-of day the caller keeps: only the 90 days
# before it feed the windows, so scoring one day reads 91 days, not the whole history.
# `$end` (a date or null) is the last: the windows look back only, so it changes no row.
# The windows run over the three columns they need and join back (sorting every feature
# column through them cost three times as much).
USAGE_WINDOW_DAYS = 90


def _active_in_range(table: str) -> str:
    """The active account-days in range, for the windows' rows and the features' alike."""
    return f"""{table}.account_status = 'active' and {table}.subscription_status = 'active'
        and ($start is null
             or {table}.as_of_date >= cast($start as date) - {USAGE_WINDOW_DAYS})
        and ($end is null or {table}.as_of_date <= cast($end as date))"""


ACTIVE_ACCOUNT_ROWS = f"""
    select
        features.*,
        features.events_7d / nullif(features.seats, 0) as events_per_seat_7d,
        features.tickets_30d / nullif(features.seats, 0) as tickets_per_seat_30d,
        features.errors_28d / nullif(features.events_7d + features.events_prior_28d, 0)
            as errors_per_event_28d,
        coalesce(features.days_to_renewal between 0 and 89, false) as renewal_within_90d,
        coalesce(features.days_to_renewal between 0 and 89 and not features.auto_renew, false)
            as renewal_within_90d_manual,
        features.events_7d / nullif(usage.peak_events_7d, 0) as usage_vs_peak_90d,
        features.events_7d / nullif(usage.mean_events_7d, 0) as usage_vs_avg_90d,
        health.health_score,
        health.health_band
    from features.feat_account_daily as features
    inner join features.health_score_daily as health
        on features.account_id = health.account_id and features.as_of_date = health.as_of_date
    inner join (
        select
            usage.account_id,
            usage.as_of_date,
            max(usage.events_7d) over recent as peak_events_7d,
            avg(usage.events_7d) over recent as mean_events_7d
        from features.feat_account_daily as usage
        where {_active_in_range("usage")}
        window recent as (
            partition by usage.account_id order by usage.as_of_date
            range between interval {USAGE_WINDOW_DAYS} days preceding and current row
        )
    ) as usage
        on features.account_id = usage.account_id and features.as_of_date = usage.as_of_date
    where {_active_in_range("features")}
"""


def churn_dataset(
    con: duckdb.DuckDBPyConnection,
    *,
    horizon_days: int = 90,
    min_history_days: int = MIN_HISTORY_DAYS,
    start: dt.date | None = None,
    snapshot_every_days: int = 1,
    every_day_of_newest: int = 0,
    mature_only: bool = False,
) -> pd.DataFrame:
    """Active account-days with `churned` = a non-active CRM version starts in [D, D + horizon).

    The account is active in the snapshot of D-1 (the row's CRM state), so the first
    cancelled or expired version starting in the window is the churn. `label_mature` says
    the snapshots reach D + horizon - 1, so a False label is a real "did not churn".
    `start` keeps the days from then on only (their 90-day usage ratios still see the days
    before).
    With `snapshot_every_days` above 1 it returns only what training uses: mature rows, on
    every `snapshot_every_days`-th day from the first (the days `thin_snapshots` keeps) and
    on each of the newest `every_day_of_newest` mature days (the test window). Training then
    holds a share of the history, not all of it, and splits and thins it to the same rows.
    `mature_only` keeps the mature rows only (live performance scores nothing else), and
    reads no feature row of a later day.
    """
    end = None
    if mature_only:
        (newest,) = con.execute("select max(last_snapshot_date) from marts.dim_accounts").fetchone()
        end = None if newest is None else newest + dt.timedelta(days=1 - horizon_days)
    sql = f"""
        with
        churn_events as (
            select account_id, valid_from as churned_on
            from marts.dim_accounts
            where account_status <> 'active' or subscription_status <> 'active'
        ),
        data_end as (
            select max(last_snapshot_date) as newest_snapshot from marts.dim_accounts
        ),
        active as ({ACTIVE_ACCOUNT_ROWS}),
        rows as (
            select * from active
            where history_days >= $min_history and ($start is null or as_of_date >= $start)
        )
        select
            rows.*,
            exists (
                select 1 from churn_events
                where churn_events.account_id = rows.account_id
                    and churn_events.churned_on >= rows.as_of_date
                    and churn_events.churned_on < rows.as_of_date + $horizon
            ) as churned,
            rows.as_of_date + $horizon <= data_end.newest_snapshot + 1 as label_mature
        from rows
        cross join data_end
        qualify (label_mature or not $mature_only) and ($every = 1 or (
            label_mature and (
                datediff('day', min(rows.as_of_date) over (), rows.as_of_date) % $every = 0
                or rows.as_of_date
                > max(rows.as_of_date) filter (where label_mature) over () - $newest
            )
        ))
        order by rows.as_of_date, rows.account_id
    """
    params = {
        "horizon": horizon_days,
        "min_history": min_history_days,
        "start": start,
        "end": end,
        "every": snapshot_every_days,
        "newest": every_day_of_newest,
        "mature_only": mature_only,
    }
    return query_frame(con, sql, params)


def escalation_dataset(
    con: duckdb.DuckDBPyConnection,
    *,
    maturity_days: int = 14,
    start: dt.date | None = None,
    end: dt.date | None = None,
    mature_only: bool = False,
) -> pd.DataFrame:
    """Tickets with what was known at creation and `escalated_tier3` from their later life.

    A ticket still open may yet escalate: its label is mature once it is resolved or has
    been open `maturity_days` by the warehouse's newest event (fct_tickets.data_as_of).
    `start`/`end` keep tickets created on those days (inclusive) only; `mature_only` the
    tickets with a mature label. Beside the features: the first-response SLA target (known
    at creation) and whether an SLA was breached (an outcome, for the policy backtest; never
    a feature).
    """
    sql = """
        with
        data_end as (select max(data_as_of) as newest_event_at from marts.fct_tickets),
        labelled as (
            select
                features.*,
                tickets.is_escalated_to_tier3 as escalated_tier3,
                not tickets.is_open
                    or features.created_at <= data_end.newest_event_at - to_days($maturity)
                    as label_mature,
                tickets.sla_first_response_target_minutes as sla_target_minutes,
                coalesce(tickets.is_sla_first_response_breached, false)
                    or coalesce(tickets.is_sla_resolution_breached, false) as is_sla_breached
            from features.feat_ticket_at_creation as features
            inner join marts.fct_tickets as tickets on features.ticket_id = tickets.ticket_id
            cross join data_end
            where ($start is null or features.created_date >= $start)
                and ($end is null or features.created_date <= $end)
        )
        select * from labelled
        where label_mature or not $mature_only
        order by created_at, ticket_id
    """
    params = {"maturity": maturity_days, "start": start, "end": end, "mature_only": mature_only}
    return query_frame(con, sql, params)


@dataclass(frozen=True)
class Split:
    """Training and test rows of one dataset (rows with mature labels only).

    Validation is not a window here: training cuts the training rows into group folds
    (`group_folds`), so selection and calibration use every training row out of fold.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    date_column: str | None
    kind: str
    review_labels: int = 0
    """Training rows labelled by a reviewer instead of their outcome (`review_rows`)."""

    def windows(self) -> dict[str, dict[str, str]]:
        """First and last date of each part, for the model card (empty without dates)."""
        if self.date_column is None:
            return {}
        return {
            name: {
                "start": _iso(part[self.date_column].min()),
                "end": _iso(part[self.date_column].max()),
            }
            for name, part in (("train", self.train), ("test", self.test))
        }


def _iso(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def mature_rows(frame: pd.DataFrame, spec: TaskSpec) -> pd.DataFrame:
    """Rows whose label can no longer change (all rows when the spec names no such column)."""
    mature = frame if spec.mature_column is None else frame[frame[spec.mature_column]]
    if mature.empty:
        raise ValueError(f"{spec.name}: no rows with mature labels")
    return mature


def review_rows(frame: pd.DataFrame, spec: TaskSpec, eligible: pd.Series) -> pd.DataFrame:
    """The `eligible` rows a reviewer labelled, with the reviewer's label as the label.

    A reviewer's verdict comes days before the helpdesk's outcome matures; the callers pass
    only rows whose outcome training cannot use (not mature, or inside the time split's gap)
    and whose verdict is no later than training may see. Empty when the spec has no review
    column or the frame does not carry it.
    """
    column = spec.review_label_column
    if column is None or column not in frame.columns:
        return frame.iloc[:0]
    rows = frame[eligible & frame[column].notna()]
    return rows.assign(**{spec.label: rows[column].astype(bool)})


def _with_reviews(split: Split, reviewed: pd.DataFrame) -> Split:
    if reviewed.empty:
        return split
    train = pd.concat([split.train, reviewed])
    return replace(split, train=train, review_labels=len(reviewed))


def time_split(frame: pd.DataFrame, spec: TaskSpec, *, test_days: int | None = None) -> Split:
    """The newest mature `test_days` are test; training rows end `horizon_days` earlier.

    A training row as of D is labelled from [D, D + horizon), which then closes before the
    test window opens, so no outcome is seen twice. With a zero horizon training still
    stops the day before the test starts (the boundary day is in one part only).
    Rows before the test window that lack a usable outcome (not mature, or in the gap, where
    the outcome may fall in the test window) train on a reviewer's label when one was given
    before the test window opened: it was known then. The test rows keep their outcomes.
    """
    if spec.date_column is None:
        raise ValueError(f"{spec.name}: a time split needs the spec's date_column")
    mature = mature_rows(frame, spec)
    dates = pd.to_datetime(mature[spec.date_column]).dt.normalize()
    days = test_days or spec.test_days
    test_start = dates.max() - pd.Timedelta(days=days - 1)
    train_end = test_start - pd.Timedelta(days=max(spec.horizon_days, 1))
    train = mature[dates <= train_end]
    if train.empty:
        span = (dates.max() - dates.min()).days + 1
        needed = days + spec.horizon_days
        raise ValueError(
            f"{spec.name}: mature labels span {span} days; the split needs more than {needed}"
        )
    split = Split(train, mature[dates >= test_start], spec.date_column, "time")
    if spec.review_time_column not in frame.columns:
        return split
    every_date = pd.to_datetime(frame[spec.date_column]).dt.normalize()
    reviewed_at = pd.to_datetime(frame[spec.review_time_column])
    eligible = (
        (every_date < test_start) & (reviewed_at < test_start) & ~frame.index.isin(train.index)
    )
    return _with_reviews(split, review_rows(frame, spec, eligible))


def random_split(frame: pd.DataFrame, spec: TaskSpec, *, seed: int = 0) -> Split:
    """A random `test_share` of the groups (or rows) is test, the rest trains; rows of the
    training groups without a mature outcome train on a reviewer's label (`review_rows`)."""
    mature = mature_rows(frame, spec)
    groups = mature[spec.group_column] if spec.group_column else pd.Series(range(len(mature)))
    unique = np.sort(groups.unique())
    rng = np.random.default_rng(seed)
    chosen = rng.choice(unique, size=max(1, round(spec.test_share * len(unique))), replace=False)
    is_test = groups.isin(chosen).to_numpy()
    split = Split(mature[~is_test], mature[is_test], spec.date_column, "random")
    if spec.group_column is None:  # rows, not groups: an unmatured row has no side yet
        return split
    eligible = ~frame.index.isin(mature.index) & ~frame[spec.group_column].isin(chosen)
    return _with_reviews(split, review_rows(frame, spec, eligible))


def thin_snapshots(frame: pd.DataFrame, spec: TaskSpec) -> pd.DataFrame:
    """One snapshot every `snapshot_every_days` days (counted from the first date)."""
    if spec.snapshot_every_days <= 1 or spec.date_column is None:
        return frame
    dates = pd.to_datetime(frame[spec.date_column]).dt.normalize()
    return frame[((dates - dates.min()).dt.days % spec.snapshot_every_days) == 0]


def sample_groups(frame: pd.DataFrame, spec: TaskSpec, max_rows: int, seed: int) -> pd.DataFrame:
    """At most about `max_rows` rows: a random share of the groups (accounts), each whole, so
    group folds still never split one. The frame itself when it is no larger."""
    if len(frame) <= max_rows:
        return frame
    groups = frame[spec.group_column] if spec.group_column else pd.Series(range(len(frame)))
    unique = np.sort(groups.unique())
    size = max(1, int(len(unique) * max_rows / len(frame)))
    chosen = np.random.default_rng(seed).choice(unique, size=size, replace=False)
    return frame[groups.isin(chosen).to_numpy()]


def group_folds(
    frame: pd.DataFrame, spec: TaskSpec, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validation) positions of `folds` folds that never split a group: one
    account's near-identical days would otherwise sit on both sides and flatter the fit."""
    groups = frame[spec.group_column] if spec.group_column else pd.Series(range(len(frame)))
    unique = np.sort(groups.unique())
    fold_of = pd.Series(np.random.default_rng(seed).permutation(len(unique)) % folds, unique)
    assigned = groups.map(fold_of).to_numpy()
    positions = np.arange(len(frame))
    return [(positions[assigned != k], positions[assigned == k]) for k in range(folds)]
