"""Metrics, reasons and SLA bands on hand-built inputs whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.evaluation import calibration_table, metrics, rule_score, top_decile_lift
from ml.reasons import top_features, top_reasons
from ml.scoring import sla_risk


def test_top_decile_lift_counts_ties_at_their_average_rate() -> None:
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 2)
    ranked = np.arange(20, 0, -1, dtype=float)  # rows 0 and 10 lead
    # top 2 of 20 rows: row 0 (positive, score 20) and row 1 (positive, 19); base rate 0.2
    assert top_decile_lift(y, ranked) == pytest.approx(1.0 / 0.2)
    flat = np.ones(20)
    # every row tied: the top decile is expected to hold the base rate, lift 1
    assert top_decile_lift(y, flat) == pytest.approx(1.0)
    half = np.r_[np.ones(4), np.zeros(16)]  # rows 0-3 tied on top: 2 positives of 4
    assert top_decile_lift(y, half) == pytest.approx(0.5 / 0.2)


def test_metrics_of_a_perfect_ranking() -> None:
    y = np.array([0, 0, 0, 1])
    got = metrics(y, np.array([0.1, 0.2, 0.3, 0.9]))
    assert got["roc_auc"] == 1.0 and got["pr_auc"] == 1.0
    assert got["brier"] == pytest.approx((0.01 + 0.04 + 0.09 + 0.01) / 4)
    assert got["rows"] == 4 and got["positives"] == 1
    assert got["top_decile_lift"] == pytest.approx(4.0)


def test_calibration_table_bins() -> None:
    table = calibration_table(np.array([0, 1, 1, 0]), np.array([0.05, 0.15, 0.95, 1.0]), bins=10)
    assert table.to_dict("list") == {
        "bin": [0, 1, 9],
        "mean_predicted": [0.05, 0.15, 0.975],
        "observed_rate": [0.0, 1.0, 0.5],
        "rows": [1, 1, 2],
    }


def test_escalation_rule_score() -> None:
    tickets = pd.DataFrame(
        {
            "priority": ["urgent", "low", "normal"],
            "tier": ["vip", "standard", "vip"],
            "is_negative_sentiment": [True, False, False],
        }
    )
    assert rule_score("escalation", tickets).tolist() == [1.0, 0.0, 0.4]
    health = pd.DataFrame({"health_score": [100, 25]})
    assert rule_score("churn", health).tolist() == [0.0, 0.75]


def test_reasons_read_the_rows_own_values() -> None:
    frame = pd.DataFrame(
        {
            "tickets_14d": [0] * 98 + [1, 6],
            "usage_change_7d_vs_prior_28d": [0.0] * 99 + [-0.45],
            "days_to_renewal": [300] * 99 + [21],
            "sla_breaches_30d": [0] * 99 + [3],
            "active_users_28d": [10] * 99 + [2],
            "plan": ["pro"] * 99 + ["starter"],
        }
    )
    pushes = pd.DataFrame(0.0, index=frame.index, columns=frame.columns)
    pushes.iloc[99] = [0.30, 0.20, 0.10, 0.05, 0.04, -0.10]
    typical = {"tickets_14d": 0.0, "active_users_28d": 10.0, "sla_breaches_30d": 0.0}
    reasons = top_reasons(frame, pushes, k=3, typical=typical)
    assert reasons[99] == [
        "6 tickets in the last 14 days, more than 99% of accounts",
        "product usage down 45% against the prior 4 weeks",
        "renewal in 21 days",
    ]
    assert reasons[0] == []  # nothing pushes its risk up
    more = top_reasons(frame, pushes, k=5, typical=typical)[99]
    assert more[3:] == [
        "3 SLA breaches in 30 days, more than 99% of accounts",
        "2 active users in the last 28 days, fewer than 99% of accounts",
    ]
    assert top_features(pushes, k=6)[99][-1] == "active_users_28d"  # plan lowers risk


def test_sla_bands() -> None:
    minutes = pd.Series([-5, 0, 59, 60, 239, 240, None])
    assert sla_risk(minutes).tolist() == [
        "breached",
        "high",
        "high",
        "medium",
        "medium",
        "low",
        "none",
    ]
