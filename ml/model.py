"""A task spec and a trained model: the shapes training produces and evaluation, the
registry, scoring and reasons consume.

Nothing here names a support table: a task spec says which columns are the features, the
label, the ids, the time and the rule baseline, so the same library trains on any table.
The support tasks' specs live in `ml.tasks`. Kept apart from training so that evaluation
can type against it without importing training.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class FeatureSet:
    """Model inputs by kind: numeric columns are imputed (and scaled), categoricals encoded."""

    numeric: list[str]
    categorical: list[str]

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]


@dataclass(frozen=True)
class Signal:
    """A named rule of thumb a team already uses ("4 or more tickets in two weeks"): fires
    when `feature` >= `at_least`. It is measured against the model and, when it fires on a
    row, it is that row's first reason."""

    name: str
    feature: str
    at_least: float
    text: str
    """The reason when it fires; {v} is the row's value as an integer."""


@dataclass(frozen=True)
class Baseline:
    """A rule baseline under its own name: `score(frame)` is a risk in [0, 1] per row."""

    name: str
    score: Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class TaskSpec:
    """Everything the library needs to know about a user's table.

    `horizon_days` is the label's look-ahead (a row as of D is labelled from [D, D + horizon)):
    the time split leaves that many days between the training rows and the test window so
    no outcome is seen twice. `mature_column` (optional) marks rows whose label can no
    longer change; without it every row counts. `group_column` keeps all rows of one entity
    (an account) in one validation fold; without it rows are independent.
    """

    name: str
    features: FeatureSet
    label: str
    id_columns: tuple[str, ...]
    date_column: str | None = None
    baseline: Baseline | None = None
    horizon_days: int = 0
    test_days: int = 14
    test_share: float = 0.2
    """The random split's test share (of groups)."""
    group_column: str | None = None
    mature_column: str | None = None
    snapshot_every_days: int = 1
    """Training pools one snapshot every this many days: consecutive days of an entity are
    near copies, so thinning them costs little signal and most of the fitting time."""
    directions: Mapping[str, int] = field(default_factory=dict)
    """+1 where a higher value can only raise the risk, -1 where it can only lower it:
    monotonic constraints for the booster and the side a reason must be on."""
    firmographic: tuple[str, ...] = ()
    """Features about who the entity is rather than what it does: reasons only when nothing
    behavioural explains the score."""
    signals: tuple[Signal, ...] = ()
    id_label: str = "rows"
    """How reasons name the population ("accounts")."""
    review_label_column: str | None = None
    """A label people gave a row (a reviewer's verdict) before its outcome matured, and
    `review_time_column` when they gave it: training uses it only where the outcome cannot
    be used, and only when given before the test window (`ml.datasets.review_rows`)."""
    review_time_column: str | None = None


@dataclass
class TrainedModel:
    """A calibrated model with what it takes to use, explain and compare it later."""

    spec: TaskSpec
    estimator: CalibratedClassifierCV
    raw: Pipeline
    """The uncalibrated champion, refit on every training row: smooth scores for reasons."""
    baseline: CalibratedClassifierCV
    """The calibrated logistic regression (the champion itself when logistic wins)."""
    features: FeatureSet
    windows: dict[str, dict[str, str]]
    params: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    reference: pd.DataFrame
    """A sample of the recent scored population: the drift reference and the population
    reasons compare with (set from the current batch when the pipeline registers a model)."""
    rows: dict[str, int]
    positives: dict[str, int]
    trained_at: str
    train_seconds: float
    code_version: str
    version: str | None = None
    test_frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    validation_frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    """Calibrated out-of-fold probabilities of the training rows (`probability` column)."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Card sections added after training: calibration bins, signals, outreach threshold."""

    @property
    def task(self) -> str:
        return self.spec.name

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Versions pickled before task specs named their task instead of carrying a spec."""
        if "spec" not in state:
            from ml.tasks import TASKS

            state["spec"] = TASKS[state.pop("task")]
        state.setdefault("extras", {})
        state.setdefault("validation_frame", pd.DataFrame())
        self.__dict__.update(state)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the positive class."""
        return self.estimator.predict_proba(frame[self.features.columns])[:, 1]

    def calibrated_probability(self, transformed: Any) -> np.ndarray | None:
        """`predict` of rows `raw`'s preprocessing has already transformed, so a caller that
        transformed them anyway (the reasons' batch) pays no second pass; None when the
        calibration is not over `raw` (`raw` is its one refit estimator: `ensemble=False`).
        The scores are those scikit-learn calibrates: the decision function, else the
        positive class's probability."""
        (pair,) = self.estimator.calibrated_classifiers_
        if pair.estimator is not self.raw:
            return None
        classifier = self.raw[-1]
        if hasattr(classifier, "decision_function"):
            scores = classifier.decision_function(transformed)
        else:
            scores = classifier.predict_proba(transformed)[:, 1]
        (calibrator,) = pair.calibrators
        return calibrator.predict(scores)

    def with_version(self, version: str) -> TrainedModel:
        return replace(self, version=version)

    def card(self) -> dict[str, Any]:
        """The model card: what was trained on what, how, and how well."""
        return {
            "task": self.task,
            "version": self.version,
            "data_window": self.windows,
            "features": {
                "numeric": self.features.numeric,
                "categorical": self.features.categorical,
            },
            "label": self.spec.label,
            "parameters": self.params,
            "metrics": self.metrics,
            "code_version": self.code_version,
            "trained_at": self.trained_at,
            "train_seconds": round(self.train_seconds, 3),
            "rows": self.rows,
            "positives": self.positives,
            **self.extras,
        }
