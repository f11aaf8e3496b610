"""Reasons on a hand-built model whose contributions can be worked out by hand: measured
against the scored population, on the risky side of each known direction, behaviour before
firmographics, and the ticket-burst signal first when it fires."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ml.datasets import ACCOUNT_FEATURES
from ml.model import FeatureSet, TaskSpec
from ml.reasons import BACKGROUND_ROWS, contributions, explain
from ml.tasks import CHURN, TICKET_BURST

FEATURES = FeatureSet(["tickets_14d", "csat_trend_30d", "active_users_28d"], ["plan"])
SPEC = TaskSpec(
    name="churn",
    features=FEATURES,
    label="churned",
    id_columns=("account_id",),
    directions={"tickets_14d": 1, "csat_trend_30d": -1, "active_users_28d": -1},
    firmographic=("plan",),
    signals=(TICKET_BURST,),
    id_label="accounts",
)
# The stand-in model's risk is linear, so a feature's push is its weight times the row's
# value less the population mean. It learned CSAT the wrong way round (a rising CSAT adds
# risk): a direction a CSM would never accept as a reason.
WEIGHTS = {"tickets_14d": 0.02, "csat_trend_30d": 0.01, "active_users_28d": -0.001}
MONTHLY = 0.03


class Linear:
    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        risk = 0.05 + MONTHLY * (x["plan"] == "monthly").to_numpy(float)
        for feature, weight in WEIGHTS.items():
            risk = risk + weight * x[feature].to_numpy(float)
        return np.c_[1 - risk, risk]


def _population() -> pd.DataFrame:
    """40 accounts (the whole background sample): 36 on the common monthly plan."""
    n = BACKGROUND_ROWS
    return pd.DataFrame(
        {
            "account_id": [f"A{i:02d}" for i in range(n)],
            "tickets_14d": [i % 4 for i in range(n)],  # 0..3, mean 1.5
            "csat_trend_30d": [0.0] * n,
            "active_users_28d": [20 + i for i in range(n)],  # 20..59, mean 39.5
            "plan": ["monthly"] * 36 + ["annual"] * 4,
        }
    )


MODEL = SimpleNamespace(spec=SPEC, features=FEATURES, raw=Linear(), reference=_population())


def _rows(**columns: list) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [f"X{i}" for i in range(len(columns["plan"]))], **columns})


def test_contributions_are_measured_against_the_population_not_the_rows() -> None:
    rows = _rows(tickets_14d=[3], csat_trend_30d=[2.0], active_users_28d=[25], plan=["monthly"])
    got = contributions(MODEL, rows).iloc[0]
    assert got["tickets_14d"] == pytest.approx(0.02 * (3 - 1.5))
    assert got["csat_trend_30d"] == pytest.approx(0.01 * 2.0)
    assert got["active_users_28d"] == pytest.approx(-0.001 * (25 - 39.5))
    # the common value still pushes: the plan's risk against the population's mix (36 of 40)
    assert got["plan"] == pytest.approx(MONTHLY * (1 - 36 / 40))
    # the same row explained alone or beside others gets the same pushes
    other = _rows(tickets_14d=[0], csat_trend_30d=[0.0], active_users_28d=[50], plan=["annual"])
    together = contributions(MODEL, pd.concat([rows, other], ignore_index=True)).iloc[0]
    pd.testing.assert_series_equal(together, got, check_names=False)


def test_reasons_raise_the_risk_and_compare_with_the_population() -> None:
    rows = _rows(tickets_14d=[3], csat_trend_30d=[2.0], active_users_28d=[25], plan=["monthly"])
    reasons = explain(MODEL, rows).iloc[0]
    # CSAT up pushes the stand-in's risk but is on the safe side: no reason. 3 tickets beat
    # the 30 accounts with 0-2 (75%); 25 users are fewer than the 34 accounts with 26-59 (85%).
    assert reasons["reason_1"] == "3 tickets in the last 14 days, more than 75% of accounts"
    assert reasons["reason_2"] == (
        "25 active users in the last 28 days, fewer than 85% of accounts"
    )
    assert reasons["reason_3"] is None  # plan is firmographic: behaviour explained the score


def test_firmographics_only_when_nothing_behavioural_explains_the_score() -> None:
    quiet = _rows(tickets_14d=[0], csat_trend_30d=[0.0], active_users_28d=[59], plan=["monthly"])
    reasons = explain(MODEL, quiet).iloc[0]
    assert reasons["reason_1"] == "plan: monthly"
    assert reasons["reason_2"] is None


def test_a_ticket_burst_is_the_first_reason() -> None:
    burst = _rows(tickets_14d=[5], csat_trend_30d=[0.0], active_users_28d=[22], plan=["annual"])
    reasons = explain(MODEL, burst).iloc[0]
    assert reasons["reason_1"] == (
        "ticket burst: 5 tickets in the last 14 days (the 4-in-two-weeks rule fires)"
    )
    assert reasons["reason_2"].startswith("22 active users in the last 28 days, fewer than 92%")


def test_no_rows_no_reasons() -> None:
    empty = explain(MODEL, _rows(tickets_14d=[], csat_trend_30d=[], active_users_28d=[], plan=[]))
    assert list(empty.columns) == ["account_id", "reason_1", "reason_2", "reason_3"]
    assert empty.empty


def test_one_reason_per_group_of_features_that_say_the_same() -> None:
    features = FeatureSet(["tickets_7d", "tickets_14d", "renewal_within_90d"], ["plan"])
    spec = TaskSpec("churn", features, "churned", ("account_id",), signals=(TICKET_BURST,))
    population = _population().assign(tickets_7d=0, renewal_within_90d=False)

    class Counts:
        def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
            risk = 0.05 + 0.01 * x["tickets_7d"] + 0.02 * x["tickets_14d"]
            risk = (risk + 0.1 * x["renewal_within_90d"].astype(float)).to_numpy(float)
            return np.c_[1 - risk, risk]

    model = SimpleNamespace(spec=spec, features=features, raw=Counts(), reference=population)
    rows = _rows(tickets_7d=[3], tickets_14d=[5], renewal_within_90d=[True], plan=["annual"])
    rows["days_to_renewal"] = 40
    reasons = explain(model, rows).iloc[0].tolist()
    # the burst (tickets_14d) speaks for the ticket counts: tickets_7d adds no second reason
    assert reasons[1:] == [
        "ticket burst: 5 tickets in the last 14 days (the 4-in-two-weeks rule fires)",
        "renewal due in 40 days",
        None,
    ]


def test_every_churn_feature_but_the_csat_response_count_has_a_direction() -> None:
    """A feature without a known direction may be a reason on either side of the population
    ("88 product events before last week, more than 60% of accounts" read as a churn
    reason): every behavioural account feature declares one; the count of CSAT answers is
    the one that says nothing about risk by itself."""
    assert set(CHURN.directions) <= set(ACCOUNT_FEATURES.numeric)
    undirected = set(ACCOUNT_FEATURES.numeric) - set(CHURN.directions)
    assert undirected == {"csat_responses_30d"}
    assert CHURN.directions["events_prior_28d"] == -1
