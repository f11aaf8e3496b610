"""Train any task spec: candidate families tuned on group folds, the best promoted.

Every candidate (logistic regression and gradient boosting, each over a small grid) is
scored on out-of-fold predictions of the training rows: folds never split a group (an
account), so no account's near-identical days sit on both sides. The best on validation is
the champion; it and the best logistic are calibrated (sigmoid, on the same out-of-fold
scores) and refit on every training row. The test rows, `horizon_days` after the last
training row (time split) or a random share of the groups, are touched once, for the card.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from joblib import parallel_config
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV, _fit_calibrator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from ml.datasets import (
    Split,
    group_folds,
    random_split,
    sample_groups,
    thin_snapshots,
    time_split,
)
from ml.evaluation import evaluate
from ml.model import (
    FeatureSet,
    TaskSpec,
    TrainedModel,  # re-exported: models stored before the move need it
)

Kind = Literal["hgb", "logistic"]
SplitKind = Literal["time", "random"]

HGB_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_iter": 150,
    "max_leaf_nodes": 7,
    "min_samples_leaf": 400,
    "l2_regularization": 1.0,
    # Early stopping would hold out random rows; days of one account are near copies, so
    # that hold-out would be optimistic. A fixed budget keeps runs reproducible too.
    "early_stopping": False,
}
LOGISTIC_PARAMS: dict[str, Any] = {"C": 0.5, "max_iter": 2000}
# The grid each family is tuned over (on top of its defaults above). Logistic: strong and
# weak L2 and two L1 (lasso) penalties; with a hundred churning accounts the lasso's
# dropping of noise features wins on the demo. Booster: the default against shallower trees.
CANDIDATES: dict[str, list[dict[str, Any]]] = {
    "logistic": [
        {"C": 0.003},
        {"C": 0.5},
        {"C": 0.01, "l1_ratio": 1.0, "solver": "liblinear"},
        {"C": 0.03, "l1_ratio": 1.0, "solver": "liblinear"},
    ],
    "hgb": [{}, {"max_leaf_nodes": 3, "max_iter": 100}],
}
FOLDS = 4
# OpenMP threads per fit. Training is many small fits (candidates x folds), where the
# booster's threads cost more in start-up and spinning than they save, and on a shared
# machine they spin against other processes (a test fit went from 70 s to 7 s with one).
FIT_THREADS = 1
# Fits run side by side instead, one per core, as threads: liblinear and the booster's loops
# release the GIL, and threads share the training frame where processes would each copy it.
FIT_JOBS = min(FOLDS, os.cpu_count() or 1)
# Platt scaling: monotone, so it keeps the model's ranking; isotonic steps fitted on a few
# dozen churning accounts tie many rows and cost ROC AUC.
CALIBRATION = "sigmoid"
OUT_OF_FOLD = "_out_of_fold"
# Fitting time grows faster than the training rows; what these models learn barely grows
# past a hundred thousand (docs/models.md, "Training at scale"). Above this many rows
# training takes a random share of the groups (accounts), each whole; the test rows stay all.
MAX_FIT_ROWS = 100_000


def _as_float(x: pd.DataFrame) -> pd.DataFrame:
    """Booleans and nullable integers from DuckDB as floats with NaN for null."""
    return x.astype("float64")


def _as_text(x: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as strings with an explicit 'missing' level."""
    return x.astype(object).where(x.notna(), "missing")


def build_pipeline(
    features: FeatureSet,
    kind: Kind,
    seed: int,
    params: dict[str, Any] | None = None,
    directions: dict[str, int] | None = None,
) -> Pipeline:
    """Preprocessing plus classifier; categoricals one-hot for the logistic, native for HGB.

    `directions` (+1/-1 per numeric feature) become the booster's monotonic constraints.
    """
    to_float = FunctionTransformer(_as_float, feature_names_out="one-to-one")
    to_text = FunctionTransformer(_as_text, feature_names_out="one-to-one")
    if kind == "logistic":
        numeric = Pipeline(
            [
                ("float", to_float),
                ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                ("scale", StandardScaler()),
            ]
        )
        categorical = Pipeline(
            [
                ("text", to_text),
                ("encode", OneHotEncoder(handle_unknown="ignore", min_frequency=20)),
            ]
        )
        model = LogisticRegression(random_state=seed, **{**LOGISTIC_PARAMS, **(params or {})})
    else:
        # HGB handles NaN itself; imputing would hide "no CSAT answers" behind a median.
        numeric = Pipeline([("float", to_float)])
        categorical = Pipeline(
            [
                ("text", to_text),
                (
                    "encode",
                    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                ),
            ]
        )
        n_numeric = len(features.numeric)
        categorical_mask = [False] * n_numeric + [True] * len(features.categorical)
        signs = [int((directions or {}).get(c, 0)) for c in features.numeric]
        model = HistGradientBoostingClassifier(
            categorical_features=categorical_mask,
            monotonic_cst=signs + [0] * len(features.categorical),
            random_state=seed,
            **{**HGB_PARAMS, **(params or {})},
        )
    prep = ColumnTransformer(
        [
            ("numeric", numeric, features.numeric),
            ("categorical", categorical, features.categorical),
        ],
        sparse_threshold=0.0,
    )
    return Pipeline([("prep", prep), ("model", model)])


def code_version() -> str:
    """The git commit of this checkout, else the installed package version."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        try:
            return version("supportops")
        except PackageNotFoundError:
            return "unknown"


def _usable(features: FeatureSet, frame: pd.DataFrame) -> FeatureSet:
    """Drop numeric features with no value at all in training (HGB cannot bin them).

    In the generated data the bot's first reply carries no text, so its length and
    sentiment are always null.
    """
    known = frame[features.numeric].notna().any()
    return FeatureSet([c for c in features.numeric if known[c]], list(features.categorical))


def _split(
    frame: pd.DataFrame, spec: TaskSpec, split: SplitKind, seed: int, test_days: int | None
) -> Split:
    if split == "time":
        return time_split(frame, spec, test_days=test_days)
    if split == "random":
        return random_split(frame, spec, seed=seed)
    raise ValueError(f"split must be 'time' or 'random', not {split!r}")


def _sized(params: dict[str, Any], rows: int) -> dict[str, Any]:
    """A candidate's parameters with leaves no larger than a twentieth of the rows: the
    defaults suit the support tables; a small user table would get a single split."""
    leaf = params.get("min_samples_leaf", HGB_PARAMS["min_samples_leaf"])
    return {**params, "min_samples_leaf": min(leaf, max(20, rows // 20))}


def _candidate(features: FeatureSet, spec: TaskSpec, candidate: dict[str, Any], rows: int,
               seed: int) -> Pipeline:  # fmt: skip
    params = candidate["params"]
    if candidate["family"] == "hgb":
        params = _sized(params, rows)
    return build_pipeline(features, candidate["family"], seed, params, dict(spec.directions))


def select(
    spec: TaskSpec,
    features: FeatureSet,
    x: pd.DataFrame,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    seed: int,
) -> list[dict[str, Any]]:
    """Every candidate's out-of-fold ROC AUC on the training rows, best first; each keeps
    its out-of-fold decision values under `OUT_OF_FOLD` (`_fit` takes them off the card).

    Decision values, not probabilities: both families' probability is the logistic of their
    decision value, so the ranking (ROC AUC) is the same, and they are exactly what
    `CalibratedClassifierCV` would fit its calibrator on (`calibrated`)."""
    tried = []
    for kind, grid in CANDIDATES.items():
        family = [_candidate(features, spec, {"family": kind, "params": p}, len(x), seed)
                  for p in grid]  # fmt: skip
        for params, oof in zip(grid, out_of_fold_decisions(family, x, y, folds), strict=True):
            auc = float(roc_auc_score(y, oof))
            tried.append(
                {"family": kind, "params": params, "validation_roc_auc": auc, OUT_OF_FOLD: oof}
            )
    return sorted(tried, key=lambda c: -c["validation_roc_auc"])


def out_of_fold_decisions(
    family: list[Pipeline], x: pd.DataFrame, y: np.ndarray, folds: list
) -> list[np.ndarray]:
    """Each pipeline's out-of-fold decision values, as `cross_val_predict(pipe, x, y,
    cv=folds, method="decision_function")` gives them, for pipelines that differ only in
    their model (`build_pipeline` of one family): the shared preprocessing is fitted once
    per fold, not once per candidate (it was a third of the fits' time at 1M tickets).
    Folds run side by side under the caller's `parallel_config`."""
    prep = family[0].named_steps["prep"]

    def fold(train: np.ndarray, held_out: np.ndarray) -> list[np.ndarray]:
        fitted = clone(prep)
        seen = fitted.fit_transform(x.iloc[train], y[train])
        unseen = fitted.transform(x.iloc[held_out])
        return [
            clone(pipe.named_steps["model"]).fit(seen, y[train]).decision_function(unseen)
            for pipe in family
        ]

    per_fold = Parallel()(delayed(fold)(train, held_out) for train, held_out in folds)
    values = [np.empty(len(x)) for _ in family]
    for (_, held_out), decisions in zip(folds, per_fold, strict=True):
        for column, decision in zip(values, decisions, strict=True):
            column[held_out] = decision
    return values


def calibrated(
    pipe: Pipeline, x: pd.DataFrame, y: np.ndarray, out_of_fold: np.ndarray, cv: list
) -> CalibratedClassifierCV:
    """`CalibratedClassifierCV(pipe, cv=cv, ensemble=False).fit(x, y)` without fitting the
    folds again: `select` already has the candidate's out-of-fold decision values on these
    folds (same rows, same seed, so the same fits). The pipeline is fitted on all rows and
    the calibrator on those values, as sklearn 1.9's `fit` does (checked equal in
    tests/test_ml_library.py); the folds were 4 of each model's 5 fits."""
    model = CalibratedClassifierCV(pipe, method=CALIBRATION, cv=cv, ensemble=False)
    fitted = clone(pipe).fit(x, y)
    model.classes_ = fitted.classes_
    model.calibrated_classifiers_ = [
        _fit_calibrator(
            fitted, np.asarray(out_of_fold).reshape(-1, 1), y, model.classes_, CALIBRATION, np
        )
    ]
    model.n_features_in_ = fitted.n_features_in_
    if hasattr(fitted, "feature_names_in_"):
        model.feature_names_in_ = fitted.feature_names_in_
    return model


def validation_predictions(
    spec: TaskSpec, fit: pd.DataFrame, champion: CalibratedClassifierCV, oof: np.ndarray
) -> pd.DataFrame:
    """The champion's calibrated out-of-fold probability of every training row, with ids,
    date and label: what thresholds are chosen on (`ml.policy`), never the test rows.

    Calibration was fitted on these very out-of-fold decision values (same folds, same
    candidate)."""
    calibrator = champion.calibrated_classifiers_[0].calibrators[0]
    columns = [*spec.id_columns, *([spec.date_column] if spec.date_column else []), spec.label]
    frame = fit[list(dict.fromkeys(columns))].reset_index(drop=True)
    return frame.assign(probability=calibrator.predict(np.asarray(oof, dtype=float)))


def train(
    spec: TaskSpec | str,
    frame: pd.DataFrame,
    *,
    split: SplitKind = "time",
    seed: int = 0,
    test_days: int | None = None,
    folds: int = FOLDS,
    reference_rows: int = 2_000,
    max_fit_rows: int = MAX_FIT_ROWS,
) -> TrainedModel:
    """Split, tune both families on group folds, calibrate the best of each, test once.

    `spec` is a `TaskSpec` (or the name of one in `ml.tasks.TASKS`). `test_days` overrides
    the spec's test window for short histories; `max_fit_rows` caps the training rows
    (`MAX_FIT_ROWS`).
    """
    if isinstance(spec, str):
        from ml.tasks import TASKS

        spec = TASKS[spec]
    parts = _split(frame, spec, split, seed, test_days)
    started = time.perf_counter()
    thinned = thin_snapshots(parts.train, spec)
    fit = sample_groups(thinned, spec, max_fit_rows, seed)
    features = _usable(spec.features, fit)
    y = {"train": fit[spec.label].to_numpy(bool), "test": parts.test[spec.label].to_numpy(bool)}
    for name, labels in y.items():
        if labels.all() or not labels.any():
            raise ValueError(f"{spec.name}: the {name} rows have a single class")
    cv = group_folds(fit, spec, folds, seed)
    with (
        threadpool_limits(limits=FIT_THREADS, user_api="openmp"),
        parallel_config(backend="threading", n_jobs=FIT_JOBS),
    ):
        trained = _fit(spec, parts, fit, features, y, cv, folds, seed, reference_rows, started)
    trained.params["fit_rows_before_sampling"] = len(thinned)
    return trained


def _fit(
    spec: TaskSpec,
    parts: Split,
    fit: pd.DataFrame,
    features: FeatureSet,
    y: dict[str, np.ndarray],
    cv: list[tuple[np.ndarray, np.ndarray]],
    folds: int,
    seed: int,
    reference_rows: int,
    started: float,
) -> TrainedModel:
    """Select, calibrate and evaluate (`train` without the split)."""
    cols = features.columns
    tried = select(spec, features, fit[cols], y["train"], cv, seed)
    out_of_fold = {id(candidate): candidate.pop(OUT_OF_FOLD) for candidate in tried}
    best = {kind: next(c for c in tried if c["family"] == kind) for kind in CANDIDATES}

    def calibrated_candidate(candidate: dict[str, Any]) -> CalibratedClassifierCV:
        pipe = _candidate(features, spec, candidate, len(fit), seed)
        return calibrated(pipe, fit[cols], y["train"], out_of_fold[id(candidate)], cv)

    logistic = calibrated_candidate(best["logistic"])
    winner = tried[0]
    champion = logistic if winner["family"] == "logistic" else calibrated_candidate(winner)
    trained = TrainedModel(
        spec=spec,
        estimator=champion,
        raw=champion.calibrated_classifiers_[0].estimator,
        baseline=logistic,
        features=features,
        windows=parts.windows(),
        params={
            "seed": seed,
            "split": parts.kind,
            "champion": winner,
            "candidates": tried,
            "validation": f"{folds} folds by {spec.group_column or 'row'} over the train rows",
            "calibration": CALIBRATION,
            "horizon_days": spec.horizon_days,
            "snapshot_every_days": spec.snapshot_every_days,
            "dropped_features": sorted(set(spec.features.numeric) - set(features.numeric)),
            "review_labels": parts.review_labels,
        },
        metrics={},
        reference=parts.test.sample(n=min(reference_rows, len(parts.test)), random_state=seed),
        rows={"train": len(fit), "test": len(parts.test)},
        positives={name: int(labels.sum()) for name, labels in y.items()},
        trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        train_seconds=0.0,
        code_version=code_version(),
        test_frame=parts.test,
        validation_frame=validation_predictions(spec, fit, champion, out_of_fold[id(winner)]),
    )
    trained.train_seconds = time.perf_counter() - started
    table = evaluate(trained, parts.test)
    trained.metrics = {
        scorer: {k: float(v) for k, v in row.items()} for scorer, row in table.iterrows()
    }
    return trained
