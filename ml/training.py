"""Fit a task's model and logistic baseline on the train window, calibrate, test.

Calibration uses the validation window (not the training rows, where the booster is
overconfident); the test window is touched once, for the numbers on the card.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from ml.datasets import FeatureSet, Split, time_split
from ml.evaluation import evaluate
from ml.model import TASKS, TrainedModel  # re-exported: models stored before the move need it

Task = Literal["churn", "escalation"]
Kind = Literal["hgb", "logistic"]


HGB_PARAMS: dict[str, Any] = {
    # Small trees, large leaves: a few hundred churners over many near-identical account
    # days; deeper trees memorise the accounts instead of the behaviour.
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
# Platt scaling: monotone, so it keeps the model's ranking; isotonic steps on a validation
# window with a few dozen churning accounts tie many rows and cost ROC AUC.
CALIBRATION = "sigmoid"


def _as_float(x: pd.DataFrame) -> pd.DataFrame:
    """Booleans and nullable integers from DuckDB as floats with NaN for null."""
    return x.astype("float64")


def _as_text(x: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as strings with an explicit 'missing' level."""
    return x.astype(object).where(x.notna(), "missing")


def build_pipeline(features: FeatureSet, kind: Kind, seed: int) -> Pipeline:
    """Preprocessing plus classifier; categoricals one-hot for the logistic, native for HGB."""
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
        model = LogisticRegression(random_state=seed, **LOGISTIC_PARAMS)
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
        model = HistGradientBoostingClassifier(
            categorical_features=categorical_mask, random_state=seed, **HGB_PARAMS
        )
    prep = ColumnTransformer(
        [
            ("numeric", numeric, features.numeric),
            ("categorical", categorical, features.categorical),
        ],
        sparse_threshold=0.0,
    )
    return Pipeline([("prep", prep), ("model", model)])


def calibrate(
    fitted: Pipeline, x_valid: pd.DataFrame, y_valid: np.ndarray
) -> CalibratedClassifierCV:
    """Map a fitted model's scores to probabilities on held-out validation rows."""
    calibrated = CalibratedClassifierCV(FrozenEstimator(fitted), method=CALIBRATION)
    return calibrated.fit(x_valid, y_valid)


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


def _typical(frame: pd.DataFrame, features: FeatureSet) -> dict[str, Any]:
    typical: dict[str, Any] = {
        c: float(v) for c, v in frame[features.numeric].astype("float64").median().items()
    }
    for c in features.categorical:
        modes = frame[c].dropna().mode()
        typical[c] = modes.iloc[0] if len(modes) else None
    return typical


def _usable(features: FeatureSet, frame: pd.DataFrame) -> FeatureSet:
    """Drop numeric features with no value at all in training (HGB cannot bin them).

    In the generated data the bot's first reply carries no text, so its length and
    sentiment are always null.
    """
    known = frame[features.numeric].notna().any()
    return FeatureSet([c for c in features.numeric if known[c]], list(features.categorical))


def train(
    task: Task,
    frame: pd.DataFrame,
    *,
    seed: int = 0,
    test_days: int | None = None,
    valid_days: int | None = None,
    gap_days: int | None = None,
    reference_rows: int = 5_000,
) -> TrainedModel:
    """Split by time, fit booster and logistic baseline, calibrate both, evaluate on test.

    Window lengths default to the task's (TASKS); pass smaller ones for short histories.
    """
    spec = TASKS[task]
    split: Split = time_split(
        frame,
        spec.date_column,
        test_days=test_days or spec.test_days,
        valid_days=valid_days or spec.valid_days,
        gap_days=spec.gap_days if gap_days is None else gap_days,
    )
    started = time.perf_counter()
    features = _usable(spec.features, split.train)
    cols = features.columns
    y = {name: part[spec.label].to_numpy(bool) for name, part in _parts(split)}
    for name, labels in y.items():
        if labels.all() or not labels.any():
            raise ValueError(f"the {name} window has a single class; it cannot train or score")
    model = build_pipeline(features, "hgb", seed).fit(split.train[cols], y["train"])
    logistic = build_pipeline(features, "logistic", seed).fit(split.train[cols], y["train"])
    trained = TrainedModel(
        task=task,
        estimator=calibrate(model, split.valid[cols], y["valid"]),
        raw=model,
        baseline=calibrate(logistic, split.valid[cols], y["valid"]),
        features=features,
        windows=split.windows(),
        params={
            "seed": seed,
            "hgb": HGB_PARAMS,
            "logistic": LOGISTIC_PARAMS,
            "calibration": CALIBRATION,
            "gap_days": spec.gap_days if gap_days is None else gap_days,
            "dropped_features": sorted(set(spec.features.numeric) - set(features.numeric)),
        },
        metrics={},
        reference=split.train[cols].sample(
            n=min(reference_rows, len(split.train)), random_state=seed
        ),
        typical=_typical(split.train, features),
        rows={name: len(part) for name, part in _parts(split)},
        positives={name: int(labels.sum()) for name, labels in y.items()},
        trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        train_seconds=0.0,
        code_version=code_version(),
        test_frame=split.test,
    )
    trained.train_seconds = time.perf_counter() - started
    table = evaluate(trained, split.test)
    trained.metrics = {
        scorer: {k: float(v) for k, v in row.items()} for scorer, row in table.iterrows()
    }
    return trained


def _parts(split: Split) -> list[tuple[str, pd.DataFrame]]:
    return [("train", split.train), ("valid", split.valid), ("test", split.test)]
