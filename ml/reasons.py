"""Why an account scores high: per-feature contributions and plain-language reasons.

A feature's contribution on a row is how much the predicted risk drops when that feature
alone is set to its typical training value (median, or mode for categories), the rest of
the row unchanged. It needs no extra dependency, is in probability units a customer
success manager can read, keeps the booster's interactions at the row's own values, and
costs one batch prediction per feature (vectorised over all rows). It uses the
uncalibrated booster: isotonic calibration is a step function, so on the calibrated
scale a real but small push often vanishes inside a step.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ml.model import TrainedModel

# Contributions below this (probability points) are noise, not reasons.
MIN_CONTRIBUTION = 0.001

# Features that are counts: "more/fewer than X% of accounts"; others "higher/lower".
_COUNTS = {
    "tickets_7d",
    "tickets_14d",
    "tickets_30d",
    "negative_tickets_30d",
    "sla_breaches_30d",
    "escalations_30d",
    "tier3_escalations_30d",
    "csat_responses_30d",
    "events_7d",
    "events_prior_28d",
    "active_users_7d",
    "active_users_28d",
    "feature_breadth_28d",
    "errors_7d",
    "errors_28d",
    "seats",
}
# Counts first, then the feature's own wording; {v} is the value as an integer.
_PHRASES = {
    "tickets_7d": "{v} tickets in the last 7 days",
    "tickets_14d": "{v} tickets in the last 14 days",
    "tickets_30d": "{v} tickets in the last 30 days",
    "negative_tickets_30d": "{v} negative tickets in the last 30 days",
    "sla_breaches_30d": "{v} SLA breaches in 30 days",
    "escalations_30d": "{v} escalations in 30 days",
    "tier3_escalations_30d": "{v} tier-3 escalations in 30 days",
    "csat_responses_30d": "{v} CSAT answers in 30 days",
    "events_7d": "{v} product events in the last 7 days",
    "events_prior_28d": "{v} product events in the 4 weeks before last week",
    "active_users_7d": "{v} active users in the last 7 days",
    "active_users_28d": "{v} active users in the last 28 days",
    "feature_breadth_28d": "{v} product features used in the last 28 days",
    "errors_7d": "{v} errors in the last 7 days",
    "errors_28d": "{v} errors in the last 28 days",
    "seats": "{v} seats",
    "tenure_days": "customer for {v} days",
    "days_to_renewal": "renewal in {v} days",
}
# What a missing value means, where the model uses the absence itself.
_MISSING = {
    "csat_avg_30d": "no CSAT answers in the last 30 days",
    "csat_trend_30d": "no CSAT answers to compare with the 30 days before",
    "usage_change_7d_vs_prior_28d": "no product usage in the prior 4 weeks to compare with",
}
# Features whose sentence already says enough without a population comparison.
_NO_COMPARISON = {"days_to_renewal", "usage_change_7d_vs_prior_28d", "csat_trend_30d", "auto_renew"}


def contributions(trained: TrainedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Risk points each feature adds on each row (positive = pushes risk up).

    All the "feature set to typical" copies are stacked into one frame and scored in one
    call: one prediction pass instead of one per feature.
    """
    columns = trained.features.columns
    x = frame[columns].reset_index(drop=True)
    swapped = pd.concat(
        [x.assign(**{feature: trained.typical[feature]}) for feature in columns],
        ignore_index=True,
    )
    risk = trained.raw.predict_proba(x)[:, 1]
    typical_risk = trained.raw.predict_proba(swapped)[:, 1].reshape(len(columns), len(x))
    return pd.DataFrame((risk - typical_risk).T, columns=columns, index=frame.index)


def top_features(contributions: pd.DataFrame, k: int = 3) -> list[list[str]]:
    """Per row, up to k features with the largest positive contribution, largest first."""
    values = contributions.to_numpy(float)
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    names = np.asarray(contributions.columns)
    return [
        [names[j] for j in row if values[i, j] > MIN_CONTRIBUTION] for i, row in enumerate(order)
    ]


def _share(population: np.ndarray, value: float, above: bool) -> int:
    """Whole percent of the sorted population strictly below (above=True) or above value."""
    n = len(population)
    if above:
        beaten = np.searchsorted(population, value, side="left")
    else:
        beaten = n - np.searchsorted(population, value, side="right")
    return math.floor(100 * beaten / n) if n else 0


def _sorted_known(values: pd.Series) -> np.ndarray:
    return np.sort(pd.to_numeric(values, errors="coerce").dropna().to_numpy(float))


def describe(feature: str, value: object, population: np.ndarray, typical: object) -> str:
    """One reason: the account's own value, and where it sits in the sorted `population`."""
    if feature not in _PHRASES and isinstance(value, str):
        return f"{feature.replace('_', ' ')}: {value}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _MISSING.get(feature, f"no {feature.replace('_', ' ')} recorded")
    number = float(value)
    if feature == "usage_change_7d_vs_prior_28d":
        word = "down" if number < 0 else "up"
        return f"product usage {word} {round(abs(number) * 100)}% against the prior 4 weeks"
    if feature == "csat_trend_30d":
        word = "down" if number < 0 else "up"
        return f"CSAT {word} {abs(number):.1f} points against the prior 30 days"
    if feature == "auto_renew":
        return "auto-renew is on" if number else "auto-renew is off"
    if feature in _PHRASES:
        text = _PHRASES[feature].format(v=round(number))
    elif feature in ("negative_sentiment_share_30d", "seat_utilization"):
        label = {
            "negative_sentiment_share_30d": "of tickets in the last 30 days negative",
            "seat_utilization": "of seats in use",
        }[feature]
        text = f"{round(number * 100)}% {label}"
    elif feature == "events_per_seat_7d":
        text = f"{number:.1f} product events per seat in the last 7 days"
    elif feature == "tickets_per_seat_30d":
        text = f"{number:.2f} tickets per seat in the last 30 days"
    elif feature == "errors_per_event_28d":
        text = f"{round(number * 100)}% of product events in the last 28 days were errors"
    elif feature == "csat_avg_30d":
        text = f"average CSAT {number:.1f} in the last 30 days"
    elif feature == "arr":
        text = f"ARR {number:,.0f}"
    else:
        text = f"{number:g} ({feature.replace('_', ' ')})"
    if feature in _NO_COMPARISON:
        return text
    above = typical is None or number >= float(typical)
    share = _share(population, number, above)
    more, less = ("more", "fewer") if feature in _COUNTS else ("higher", "lower")
    word = more if above else less
    return f"{text}, {word} than {share}% of accounts"


def top_reasons(
    frame: pd.DataFrame,
    contributions: pd.DataFrame,
    k: int = 3,
    typical: dict[str, object] | None = None,
) -> list[list[str]]:
    """Plain-language reasons per row, from the features that push its risk up most.

    Percentiles are among the rows of `frame` (the scored accounts); `typical` (the
    model's training medians) decides whether a value is "more" or "fewer" than usual.
    """
    typical = typical or {}
    picked = top_features(contributions, k)
    used = {feature for features in picked for feature in features}
    populations = {
        f: _sorted_known(frame[f]) for f in used if not pd.api.types.is_object_dtype(frame[f])
    }
    empty = np.array([])
    return [
        [
            describe(
                feature,
                frame[feature].iloc[i],
                populations.get(feature, empty),
                typical.get(feature),
            )
            for feature in features
        ]
        for i, features in enumerate(picked)
    ]


def explain(trained: TrainedModel, frame: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """account_id with reason_1..reason_k (None where fewer features push risk up)."""
    reasons = top_reasons(frame, contributions(trained, frame), k, trained.typical)
    padded = [row + [None] * (k - len(row)) for row in reasons]
    table = pd.DataFrame(padded, columns=[f"reason_{i + 1}" for i in range(k)], index=frame.index)
    table.insert(0, "account_id", frame["account_id"].to_numpy())
    return table.reset_index(drop=True)
