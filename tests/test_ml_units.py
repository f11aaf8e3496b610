"""Metrics, thresholds, rules and SLA bands on hand-built inputs whose answers are worked out
by hand. Reasons have their own module (test_ml_reasons.py)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.datasets import query_frame
from ml.evaluation import calibration_table, metrics, threshold_for_precision, top_decile_lift
from ml.scoring import sla_risk
from ml.tasks import health_score_risk, triage_rule


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
    assert got["base_rate_brier"] == pytest.approx(0.25 * 0.75)
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
    assert triage_rule(tickets).tolist() == [1.0, 0.0, 0.4]
    health = pd.DataFrame({"health_score": [100, 25]})
    assert health_score_risk(health).tolist() == [0.0, 0.75]


def test_threshold_for_a_target_precision() -> None:
    # scores 0.9 .. 0.1; positives at ranks 1, 2, 4, 7 (10 rows, 4 positives)
    y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    p = np.linspace(0.9, 0.0, 10)
    # precision at each cut: 1, 1, 2/3, 3/4, 3/5, 1/2, 4/7, 1/2, 4/9, 2/5
    got = threshold_for_precision(y, p, target=0.55, min_flagged=1)
    assert got["threshold"] == pytest.approx(p[6])  # 4/7 = 0.571, the lowest cut >= 0.55
    assert got["precision"] == pytest.approx(4 / 7) and got["recall"] == 1.0
    assert got["reached"]
    # ties: the two rows at 0.8 go together (a cut cannot split them)
    tied = np.array([0.9, 0.8, 0.8, 0.1])
    got = threshold_for_precision(np.array([1, 0, 1, 0]), tied, target=0.6, min_flagged=1)
    assert got["threshold"] == 0.8 and got["precision"] == pytest.approx(2 / 3)
    # out of reach: the most precise cut with at least min_flagged rows instead
    got = threshold_for_precision(y, p, target=0.95, min_flagged=3)
    assert not got["reached"] and got["precision"] == pytest.approx(3 / 4)
    assert got["threshold"] == pytest.approx(p[3])


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


def test_query_frame_types_columns_as_duckdbs_own_df() -> None:
    """Training frames come through Arrow (`query_frame`); they must be the frames DuckDB's
    `df()` gives, nulls, dates and integers past float precision included."""
    con = duckdb.connect()
    con.execute("""
        create table t as select * from (values
            (1, (1::bigint << 60) + 1, null::integer, true, null::boolean, date '2026-03-01', 'a', 0.5),
            (2, null, null, false, true, date '2026-03-02', null, null),
            (3, 7, null, true, false, null, 'c', 1.5)
        ) as v(n, big, empty, flag, maybe, day, label, ratio)
    """)
    con.execute("select max(n) from t").fetchone()  # a result left unfinished
    sql = "select * from t where n >= $low order by n"
    ours = query_frame(con, sql, {"low": 1})
    pd.testing.assert_frame_equal(ours, con.execute(sql, {"low": 1}).df(), check_exact=True)
    assert str(ours["big"].dtype) == "Int64" and int(ours["big"].iloc[0]) == 2**60 + 1
    assert str(ours["n"].dtype) == "int32" and str(ours["maybe"].dtype) == "boolean"
