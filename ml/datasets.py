"""Training frames built in DuckDB: point-in-time features joined to labels from later data.

Labels come from the warehouse's own later state (dim_accounts, fct_tickets), never from
the generator's truth, so the same code trains on a real support stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd


@dataclass(frozen=True)
class FeatureSet:
    """Model inputs by kind: numeric columns are imputed (and scaled), categoricals encoded."""

    numeric: list[str]
    categorical: list[str]

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]


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
    ],
    categorical=["segment", "industry", "region", "tier", "plan"],
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

# Feature rows before this much history have truncated windows (usage change needs 35
# days); the model would learn the warehouse's age instead of the account's behaviour.
MIN_HISTORY_DAYS = 35

# Per-seat and per-event ratios: the level of use against the account's size, which a tree
# cannot divide out of two raw columns.
ACTIVE_ACCOUNT_ROWS = """
    select
        features.*,
        features.events_7d / nullif(features.seats, 0) as events_per_seat_7d,
        features.tickets_30d / nullif(features.seats, 0) as tickets_per_seat_30d,
        features.errors_28d / nullif(features.events_7d + features.events_prior_28d, 0)
            as errors_per_event_28d,
        health.health_score,
        health.health_band
    from features.feat_account_daily as features
    inner join features.health_score_daily as health
        on features.account_id = health.account_id and features.as_of_date = health.as_of_date
    where features.account_status = 'active' and features.subscription_status = 'active'
"""


def churn_dataset(
    con: duckdb.DuckDBPyConnection,
    *,
    horizon_days: int = 90,
    min_history_days: int = MIN_HISTORY_DAYS,
) -> pd.DataFrame:
    """Active account-days with `churned` = a non-active CRM version starts in [D, D + horizon).

    The account is active in the snapshot of D-1 (the row's CRM state), so the first
    cancelled or expired version starting in the window is the churn. `label_mature` says
    the snapshots reach D + horizon - 1, so a False label is a real "did not churn".
    """
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
        rows as ({ACTIVE_ACCOUNT_ROWS} and features.history_days >= $min_history)
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
        order by rows.as_of_date, rows.account_id
    """
    params = {"horizon": horizon_days, "min_history": min_history_days}
    return con.execute(sql, params).df()


def escalation_dataset(con: duckdb.DuckDBPyConnection, *, maturity_days: int = 14) -> pd.DataFrame:
    """Tickets with what was known at creation and `escalated_tier3` from their later life.

    A ticket still open may yet escalate: its label is mature once it is resolved or has
    been open `maturity_days` by the warehouse's newest event (fct_tickets.data_as_of).
    """
    sql = """
        with data_end as (select max(data_as_of) as newest_event_at from marts.fct_tickets)
        select
            features.*,
            tickets.is_escalated_to_tier3 as escalated_tier3,
            not tickets.is_open
                or features.created_at <= data_end.newest_event_at - to_days($maturity)
                as label_mature
        from features.feat_ticket_at_creation as features
        inner join marts.fct_tickets as tickets on features.ticket_id = tickets.ticket_id
        cross join data_end
        order by features.created_at, features.ticket_id
    """
    return con.execute(sql, {"maturity": maturity_days}).df()


@dataclass(frozen=True)
class Split:
    """Time windows of one dataset; each frame holds only rows with mature labels."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    date_column: str

    def windows(self) -> dict[str, dict[str, str]]:
        """First and last date of each part, for the model card."""
        return {
            name: {
                "start": _iso(part[self.date_column].min()),
                "end": _iso(part[self.date_column].max()),
            }
            for name, part in (("train", self.train), ("valid", self.valid), ("test", self.test))
        }


def _iso(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def time_split(
    frame: pd.DataFrame, date_column: str, *, test_days: int, valid_days: int, gap_days: int
) -> Split:
    """Newest mature `test_days` are test; validation ends `gap_days` before the test starts.

    The gap is the label horizon: a validation row as of D looks at [D, D + gap), which
    then ends before the test window opens, so no outcome is seen twice. Train is
    everything before validation.
    """
    mature = frame[frame["label_mature"]]
    if mature.empty:
        raise ValueError("no rows with mature labels")
    dates = pd.to_datetime(mature[date_column]).dt.normalize()
    test_start = dates.max() - pd.Timedelta(days=test_days - 1)
    valid_end = test_start - pd.Timedelta(days=gap_days)
    valid_start = valid_end - pd.Timedelta(days=valid_days - 1)
    train = mature[dates < valid_start]
    if train.empty:
        needed = test_days + gap_days + valid_days
        span = (dates.max() - dates.min()).days + 1
        raise ValueError(f"mature labels span {span} days; the split needs more than {needed}")
    return Split(
        train=train,
        valid=mature[(dates >= valid_start) & (dates <= valid_end)],
        test=mature[dates >= test_start],
        date_column=date_column,
    )
