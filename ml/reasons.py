"""Why an entity scores high: per-feature contributions and plain-language reasons.

A feature's contribution on a row is how much the risk drops, on average, when that
feature alone takes the values it has across the scored population (a sample of it, kept
with the model as `reference`), the rest of the row unchanged. Against the population,
not its mode: a common value that raises the risk (a month-to-month contract) can still
be a reason, and nothing depends on which rows are being explained. It uses the
uncalibrated model (sigmoid calibration is monotone, so the ranking of pushes is the same)
and costs one batch prediction per feature.

A reason must agree with the risk: a feature with a known direction (`TaskSpec.directions`)
is a reason only on its risky side of the population median. Behavioural features come
first; firmographics (`TaskSpec.firmographic`) only when nothing behavioural explains the
score; a named signal that fires (the ticket burst) is always the first reason.
"""

from __future__ import annotations

import math
import weakref

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ml.model import TaskSpec, TrainedModel

# Population rows each feature is swapped with: enough for a stable average.
BACKGROUND_ROWS = 40
# Rows per model call when contributions batch several features' swaps together.
BATCH_ROWS = 50_000
# Features that say the same thing in a CSM's words: one reason per group (the strongest).
_SAME_REASON = {
    **dict.fromkeys(
        ("days_to_renewal", "renewal_within_90d", "renewal_within_90d_manual"), "renewal"
    ),
    **dict.fromkeys(("tickets_7d", "tickets_14d", "tickets_30d"), "tickets"),
    **dict.fromkeys(
        ("usage_change_7d_vs_prior_28d", "usage_vs_peak_90d", "usage_vs_avg_90d"), "usage"
    ),
}

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
_NO_COMPARISON = {
    "days_to_renewal",
    "usage_change_7d_vs_prior_28d",
    "csat_trend_30d",
    "auto_renew",
    "renewal_within_90d",
    "renewal_within_90d_manual",
    "usage_vs_peak_90d",
    "usage_vs_avg_90d",
}


def contributions(
    trained: TrainedModel, frame: pd.DataFrame, population: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Risk points each feature adds on each row (positive = pushes risk up), measured
    against `population` (default: the model's reference, the recent scored population)."""
    return _contributions(trained, frame, population)[0]


def _raw_risks(
    trained: TrainedModel, batch: pd.DataFrame, own: slice
) -> tuple[np.ndarray, np.ndarray | None]:
    """The uncalibrated model's risk of every `batch` row and, from the same pass, the
    calibrated probability of the `own` rows (None when the model cannot give it so)."""
    raw = trained.raw
    if not isinstance(raw, Pipeline):
        return raw.predict_proba(batch)[:, 1], None
    transformed = raw[:-1].transform(batch)
    return raw[-1].predict_proba(transformed)[:, 1], trained.calibrated_probability(
        transformed[own]
    )


def _contributions(
    trained: TrainedModel, frame: pd.DataFrame, population: pd.DataFrame | None
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """`contributions`, and the rows' calibrated probability when the batch gave it."""
    columns = trained.features.columns
    population = trained.reference if population is None else population
    background = population[columns].sample(n=min(BACKGROUND_ROWS, len(population)), random_state=0)
    x = frame[columns].reset_index(drop=True)
    n, b = len(x), len(background)
    repeated = x.loc[np.tile(np.arange(n), b)].reset_index(drop=True)
    averages = {}
    # Several features' swaps go through one prediction (up to BATCH_ROWS rows): a model
    # call's fixed cost, not its rows, dominates when few rows are explained (one ticket).
    # The first call also carries the rows unchanged (one more block): their own risk.
    chunk = max(1, BATCH_ROWS // max(n * b, 1))
    block = n * b
    for first in range(0, len(columns), chunk):
        names = columns[first : first + chunk]
        blocks = len(names) + (first == 0)
        swapped = {}
        for column in columns:  # every block is `repeated`, except its own feature's block
            own = repeated[column].to_numpy()
            if column in names:
                theirs = np.repeat(background[column].to_numpy(), n)
                own = own.astype(np.result_type(own, theirs))  # an int column meets a NaN
            values = np.tile(own, blocks)
            if column in names:
                at = names.index(column) * block
                values[at : at + block] = theirs
            swapped[column] = values
        own = slice((blocks - 1) * block, (blocks - 1) * block + n)  # the rows unchanged
        risks, calibrated = _raw_risks(trained, pd.DataFrame(swapped), own)
        means = risks.reshape(blocks, b, n).mean(axis=1)
        averages.update(zip(names, means, strict=False))
        if first == 0:
            risk, probability = means[-1], calibrated
    pushes = {feature: risk - averages[feature] for feature in columns}
    return pd.DataFrame(pushes, index=frame.index)[columns], probability


def _risky_side(spec: TaskSpec, feature: str, value: object, median: float | None) -> bool:
    """False when the feature's known direction says this value lowers the risk."""
    direction = spec.directions.get(feature, 0)
    if direction == 0 or median is None or _missing(value):
        return True
    number = float(value)
    return number > median if direction > 0 else number < median


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def pick_features(
    spec: TaskSpec,
    frame: pd.DataFrame,
    contributions: pd.DataFrame,
    medians: dict[str, float],
    k: int = 3,
) -> list[list[str]]:
    """Per row, up to k features that raise its risk: fired signals first, then behavioural
    features by push, then firmographics only if no behavioural feature qualified."""
    firmographic = set(spec.firmographic)
    values = contributions.to_numpy(float)
    names = list(contributions.columns)
    picked = []
    for i in range(len(frame)):
        row = frame.iloc[i]
        fired = [
            s.feature for s in spec.signals
            if not _missing(row[s.feature]) and float(row[s.feature]) >= s.at_least
        ]  # fmt: skip
        ranked = [
            names[j]
            for j in np.argsort(-values[i], kind="stable")
            if values[i, j] > MIN_CONTRIBUTION
            and names[j] not in fired
            and _risky_side(spec, names[j], row[names[j]], medians.get(names[j]))
        ]
        behavioural = fired + [f for f in ranked if f not in firmographic]
        chosen = behavioural or [f for f in ranked if f in firmographic]
        picked.append(_one_per_group(chosen)[:k])
    return picked


def _one_per_group(features: list[str]) -> list[str]:
    """The first feature of each `_SAME_REASON` group (features keep their order)."""
    seen: set[str] = set()
    kept = []
    for feature in features:
        group = _SAME_REASON.get(feature, feature)
        if group not in seen:
            seen.add(group)
            kept.append(feature)
    return kept


def _share(population: np.ndarray, value: float, above: bool) -> int:
    """Whole percent of the sorted population strictly below (above=True) or above value."""
    n = len(population)
    if above:
        beaten = np.searchsorted(population, value, side="left")
    else:
        beaten = n - np.searchsorted(population, value, side="right")
    return math.floor(100 * beaten / n) if n else 0


def describe(
    feature: str,
    row: pd.Series,
    population: np.ndarray,
    direction: int = 0,
    who: str = "accounts",
) -> str:
    """One reason: the row's own value, and where it sits in the sorted `population`
    (the share of the population it is above, or below for a feature that raises risk
    when low)."""
    value = row[feature]
    if feature not in _PHRASES and isinstance(value, str):
        return f"{feature.replace('_', ' ')}: {value}"
    if _missing(value):
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
    if feature in ("renewal_within_90d", "renewal_within_90d_manual"):
        days = row.get("days_to_renewal")
        when = "within 90 days" if _missing(days) else f"in {round(float(days))} days"
        manual = " without auto-renew" if feature.endswith("manual") else ""
        return f"renewal due {when}{manual}"
    if feature in ("usage_vs_peak_90d", "usage_vs_avg_90d"):
        level = "peak" if feature == "usage_vs_peak_90d" else "average"
        return f"product usage last week at {round(number * 100)}% of its 90-day {level}"
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
    else:
        text = f"{number:g} ({feature.replace('_', ' ')})"
    if feature in _NO_COMPARISON or not len(population):
        return text
    above = direction > 0 or (direction == 0 and number >= float(np.median(population)))
    share = _share(population, number, above)
    more, less = ("more", "fewer") if feature in _COUNTS else ("higher", "lower")
    return f"{text}, {more if above else less} than {share}% of {who}"


# Sorted values and medians per population (by identity) and feature list: a service
# explaining one ticket at a time against the same reference sorts it once, not per request.
_DISTRIBUTIONS: dict[tuple[int, tuple[str, ...]], tuple[weakref.ref, dict, dict]] = {}


def _distributions(
    population: pd.DataFrame, features: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Each numeric feature's sorted known values in `population`, and their medians."""
    key = (id(population), features)
    kept = _DISTRIBUTIONS.get(key)
    if kept is not None and kept[0]() is population:
        return kept[1], kept[2]
    numeric = [f for f in features if not pd.api.types.is_object_dtype(population[f])]
    # One sort of the whole population (NaN sorts last), not one per feature.
    values = population[numeric].apply(pd.to_numeric, errors="coerce").astype("float64")
    ordered = np.sort(values.to_numpy(), axis=0)
    known = values.notna().sum().to_numpy()
    sorted_values = {f: ordered[: known[j], j] for j, f in enumerate(numeric)}
    medians = {f: float(np.median(v)) for f, v in sorted_values.items() if len(v)}
    for stale in [k for k, (ref, _, _) in _DISTRIBUTIONS.items() if ref() is None]:
        del _DISTRIBUTIONS[stale]
    _DISTRIBUTIONS[key] = (weakref.ref(population), sorted_values, medians)
    return sorted_values, medians


def top_reasons(
    spec: TaskSpec,
    frame: pd.DataFrame,
    contributions: pd.DataFrame,
    population: pd.DataFrame,
    k: int = 3,
) -> list[list[str]]:
    """Plain-language reasons per row (`pick_features`); shares are of `population`."""
    sorted_values, medians = _distributions(population, tuple(contributions.columns))
    picked = pick_features(spec, frame, contributions, medians, k)
    signals = {s.feature: s for s in spec.signals}
    empty = np.array([])
    reasons = []
    for i, features in enumerate(picked):
        row = frame.iloc[i]
        texts = []
        for feature in features:
            signal = signals.get(feature)
            fired = signal is not None and not _missing(row[feature])
            if fired and float(row[feature]) >= signal.at_least:
                texts.append(signal.text.format(v=round(float(row[feature]))))
                continue
            direction = spec.directions.get(feature, 0)
            population_values = sorted_values.get(feature, empty)
            texts.append(describe(feature, row, population_values, direction, spec.id_label))
        reasons.append(texts)
    return reasons


def explain(trained: TrainedModel, frame: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The id column(s) with reason_1..reason_k (None where fewer features raise the risk)."""
    return _explained(trained, frame, k)[0]


def explain_and_predict(
    trained: TrainedModel, frame: pd.DataFrame, k: int = 3
) -> tuple[pd.DataFrame, np.ndarray]:
    """`explain`, and the calibrated probability of each row (`TrainedModel.predict`), from
    the same pass through the model's preprocessing when it can: a service scoring and
    explaining one ticket transforms it once, not twice."""
    table, probability = _explained(trained, frame, k)
    return table, trained.predict(frame) if probability is None else probability


def _explained(
    trained: TrainedModel, frame: pd.DataFrame, k: int
) -> tuple[pd.DataFrame, np.ndarray | None]:
    key = trained.spec.id_columns[0]
    if frame.empty:  # nothing to explain (an empty outreach list): no model call
        columns = [key, *(f"reason_{i + 1}" for i in range(k))]
        return pd.DataFrame(columns=columns), np.array([], dtype=float)
    population = trained.reference
    pushes, probability = _contributions(trained, frame, population)
    reasons = top_reasons(trained.spec, frame, pushes, population, k)
    padded = [row + [None] * (k - len(row)) for row in reasons]
    table = pd.DataFrame(padded, columns=[f"reason_{i + 1}" for i in range(k)], index=frame.index)
    table.insert(0, key, frame[key].to_numpy())
    return table.reset_index(drop=True), probability
