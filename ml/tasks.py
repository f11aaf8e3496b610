"""The two support tasks as task specs: which table columns the library learns from.

Everything support-specific the library needs is here (features, labels, the rule each
model must beat, the known directions of risk and the named ticket-burst signal); the
rest of `ml` works on any table given a `TaskSpec`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.datasets import ACCOUNT_FEATURES, TICKET_FEATURES
from ml.model import Baseline, Signal, TaskSpec

_PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


def health_score_risk(frame: pd.DataFrame) -> np.ndarray:
    """The health score turned into a churn risk, (100 - score) / 100."""
    return ((100.0 - frame["health_score"].astype(float)) / 100.0).to_numpy()


def triage_rule(frame: pd.DataFrame) -> np.ndarray:
    """What a support lead triages by at creation: priority (low 0 to urgent 3), a VIP
    requester and a negative description, (priority + vip + negative) / 5."""
    priority = frame["priority"].map(_PRIORITY_RANK).fillna(1).astype(float)
    vip = (frame["tier"] == "vip").astype(float)
    negative = frame["is_negative_sentiment"].astype("boolean").fillna(False).astype(float)
    return ((priority + vip + negative) / 5.0).to_numpy()


# Directions a CSM would sign off on: more tickets, breaches, escalations, errors or
# negative tickets never lower the risk; more use, users, CSAT or tenure never raise it.
_RAISES = [
    "tickets_7d",
    "tickets_14d",
    "tickets_30d",
    "negative_tickets_30d",
    "negative_sentiment_share_30d",
    "sla_breaches_30d",
    "escalations_30d",
    "tier3_escalations_30d",
    "errors_7d",
    "errors_28d",
    "tickets_per_seat_30d",
    "errors_per_event_28d",
    "renewal_within_90d",
    "renewal_within_90d_manual",
]
_LOWERS = [
    "csat_avg_30d",
    "csat_trend_30d",
    "events_7d",
    "events_prior_28d",
    "usage_change_7d_vs_prior_28d",
    "active_users_7d",
    "active_users_28d",
    "feature_breadth_28d",
    "seat_utilization",
    "events_per_seat_7d",
    "tenure_days",
    "days_to_renewal",
    "auto_renew",
    "usage_vs_peak_90d",
    "usage_vs_avg_90d",
]

TICKET_BURST = Signal(
    "ticket_burst",
    "tickets_14d",
    4,
    "ticket burst: {v} tickets in the last 14 days (the 4-in-two-weeks rule fires)",
)

CHURN = TaskSpec(
    name="churn",
    features=ACCOUNT_FEATURES,
    label="churned",
    id_columns=("account_id", "as_of_date"),
    date_column="as_of_date",
    baseline=Baseline("health_score", health_score_risk),
    horizon_days=90,
    test_days=14,
    group_column="account_id",
    mature_column="label_mature",
    snapshot_every_days=3,
    directions={**dict.fromkeys(_RAISES, 1), **dict.fromkeys(_LOWERS, -1)},
    firmographic=("segment", "tier", "plan", "tenure_days", "auto_renew"),
    signals=(TICKET_BURST,),
    id_label="accounts",
)
ESCALATION = TaskSpec(
    name="escalation",
    features=TICKET_FEATURES,
    label="escalated_tier3",
    id_columns=("ticket_id",),
    date_column="created_date",
    baseline=Baseline("triage_rule", triage_rule),
    horizon_days=14,
    test_days=28,
    group_column="account_id",
    mature_column="label_mature",
    id_label="tickets",
    review_label_column="review_label",
    review_time_column="review_decided_at",
)
TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (CHURN, ESCALATION)}
