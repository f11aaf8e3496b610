"""The ML library on a table that has nothing to do with support: a loan book built here,
with a known default signal, trained through a task spec with a time and a random split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, cross_val_predict

from ml.datasets import sample_groups, time_split
from ml.model import Baseline, FeatureSet, TaskSpec, TrainedModel
from ml.training import CANDIDATES, build_pipeline, calibrated, out_of_fold_decisions, train


def _loans(n: int = 2_000, seed: int = 3) -> pd.DataFrame:
    """Applications over 200 days; default odds rise with the debt ratio and late payments,
    fall with income, and double where a high debt ratio meets a late payment."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.5, 0.4, n)
    debt_ratio = rng.uniform(0.0, 1.0, n)
    late = rng.poisson(0.6, n)
    region = rng.choice(["north", "south", "east"], n)
    logit = -3.2 + 2.5 * debt_ratio + 0.7 * late - 0.8 * np.log(income / 36_000)
    logit += np.log(2.0) * ((debt_ratio > 0.7) & (late > 0))
    truth = 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "loan_id": [f"L{i:05d}" for i in range(n)],
            "applied_on": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 200, n), "D"),
            "income": income,
            "debt_ratio": debt_ratio,
            "late_payments": late,
            "region": region,
            "defaulted": rng.random(n) < truth,
            "truth": truth,
        }
    )


SPEC = TaskSpec(
    name="loan_default",
    features=FeatureSet(["income", "debt_ratio", "late_payments"], ["region"]),
    label="defaulted",
    id_columns=("loan_id",),
    date_column="applied_on",
    baseline=Baseline("any_late_payment", lambda f: (f["late_payments"] > 0).to_numpy(float)),
    test_days=40,
    directions={"debt_ratio": 1, "late_payments": 1, "income": -1},
)


LOANS = _loans()


@pytest.fixture(scope="module", params=["time", "random"])
def trained(request: pytest.FixtureRequest) -> TrainedModel:
    return train(SPEC, LOANS, split=request.param, seed=0)


def test_the_library_learns_a_loan_book(trained: TrainedModel) -> None:
    loans, split = LOANS, trained.params["split"]
    test = trained.test_frame
    y = test["defaulted"].to_numpy(bool)
    best = roc_auc_score(y, test["truth"])  # the planted probabilities on the same rows
    got = trained.metrics
    assert set(got) == {"model", "logistic", "any_late_payment"}
    assert got["model"]["roc_auc"] == pytest.approx(roc_auc_score(y, trained.predict(test)))
    assert best - 0.04 <= got["model"]["roc_auc"] <= best + 0.02
    assert got["model"]["roc_auc"] > got["any_late_payment"]["roc_auc"] + 0.05
    rate = y.mean()
    assert got["model"]["base_rate_brier"] == pytest.approx(rate * (1 - rate))
    assert got["model"]["brier"] < rate * (1 - rate)
    if split == "time":
        train_end = pd.Timestamp(trained.windows["train"]["end"])
        test_start = pd.Timestamp(trained.windows["test"]["start"])
        assert train_end < test_start == loans["applied_on"].max() - pd.Timedelta(days=39)
    else:
        assert len(test) == pytest.approx(0.2 * len(loans), abs=1)
        assert trained.windows["train"]["start"] == loans["applied_on"].min().date().isoformat()
    assert trained.rows["train"] + trained.rows["test"] == len(loans)


def test_the_champion_is_the_best_candidate_on_validation(trained: TrainedModel) -> None:
    tried = trained.params["candidates"]
    assert len(tried) == sum(len(grid) for grid in CANDIDATES.values())
    assert {c["family"] for c in tried} == {"logistic", "hgb"}
    scores = [c["validation_roc_auc"] for c in tried]
    assert trained.params["champion"] == tried[int(np.argmax(scores))]
    # the promoted family's model is the champion; the logistic is always reported beside it
    if trained.params["champion"]["family"] == "logistic":
        assert trained.estimator is trained.baseline
    else:
        assert trained.estimator is not trained.baseline


@pytest.mark.parametrize("family", ["logistic", "hgb"])
def test_selection_scores_every_candidate_as_cross_val_predict_does(family: str) -> None:
    """`out_of_fold_decisions` fits a family's shared preprocessing once per fold; each candidate's
    values must still be those sklearn gives for that candidate's whole pipeline."""
    x, y = LOANS[SPEC.features.columns], LOANS["defaulted"].to_numpy(bool)
    folds = list(KFold(4, shuffle=True, random_state=0).split(x))
    pipes = [
        build_pipeline(SPEC.features, family, 0, params, dict(SPEC.directions))
        for params in CANDIDATES[family]
    ]
    ours = out_of_fold_decisions(pipes, x, y, folds)
    assert len(ours) == len(pipes) > 1
    for pipe, values in zip(pipes, ours, strict=True):
        theirs = cross_val_predict(pipe, x, y, cv=folds, method="decision_function")
        np.testing.assert_allclose(values, theirs, rtol=1e-9)
    assert not np.allclose(ours[0], ours[1])  # the candidates really differ


@pytest.mark.parametrize("family", ["logistic", "hgb"])
def test_calibrating_on_the_selection_folds_equals_sklearns_own_fit(family: str) -> None:
    """`calibrated` reuses the out-of-fold decision values selection already computed; it
    must be the model `CalibratedClassifierCV(ensemble=False)` fits from scratch."""
    x, y = LOANS[SPEC.features.columns], LOANS["defaulted"].to_numpy(bool)
    folds = list(KFold(4, shuffle=True, random_state=0).split(x))
    pipe = build_pipeline(SPEC.features, family, seed=0)
    oof = cross_val_predict(pipe, x, y, cv=folds, method="decision_function")
    ours = calibrated(pipe, x, y, oof, folds)
    theirs = CalibratedClassifierCV(pipe, method="sigmoid", cv=folds, ensemble=False).fit(x, y)
    np.testing.assert_allclose(ours.predict_proba(x), theirs.predict_proba(x), rtol=1e-9)
    assert list(ours.classes_) == [False, True]


def test_a_zero_horizon_keeps_the_boundary_day_in_one_part() -> None:
    days = pd.date_range("2025-01-01", periods=30, freq="D")
    frame = pd.DataFrame({"day": np.repeat(days, 4), "y": [True, False] * 60})
    spec = TaskSpec("t", FeatureSet([], []), "y", ("day",), date_column="day", test_days=5)
    split = time_split(frame, spec)
    assert split.test["day"].min() == days[25]
    assert split.train["day"].max() == days[24]
    horizon = time_split(frame, TaskSpec(**{**spec.__dict__, "horizon_days": 3}))
    assert horizon.train["day"].max() == days[22]  # a row as of day 22 is labelled from 22-24


def test_sampling_keeps_whole_groups_up_to_the_cap() -> None:
    frame = pd.DataFrame({"account": np.repeat([f"A{i:03d}" for i in range(100)], 10)})
    spec = TaskSpec("t", FeatureSet([], []), "y", ("account",), group_column="account")
    sampled = sample_groups(frame, spec, max_rows=300, seed=1)
    sizes = sampled.groupby("account").size()
    assert len(sampled) == 300 and (sizes == 10).all()  # 30 accounts, each with all its rows
    assert sample_groups(frame, spec, max_rows=1_000, seed=1) is frame


def test_training_past_the_cap_fits_a_sample_and_tests_every_row() -> None:
    whole = train(SPEC, LOANS, split="time", seed=0)
    capped = train(SPEC, LOANS, split="time", seed=0, max_fit_rows=600)
    assert capped.params["fit_rows_before_sampling"] == whole.rows["train"] > 600
    assert capped.rows["train"] == 600  # no group column: each row is its own group
    assert capped.rows["test"] == whole.rows["test"]
