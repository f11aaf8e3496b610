"""A trained task model and its task spec: the shape training produces and evaluation,
the registry, scoring and reasons consume.

It lives apart from training so that evaluation can type against it without importing
training (which calls evaluation). Stored models pickle this class by its module path;
`ml.training` re-exports it so versions pickled before the move still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline

from ml.datasets import ACCOUNT_FEATURES, TICKET_FEATURES, FeatureSet


@dataclass(frozen=True)
class TaskSpec:
    """Where a task's label and date live and how its windows are cut."""

    features: FeatureSet
    label: str
    date_column: str
    id_columns: tuple[str, ...]
    test_days: int
    valid_days: int
    gap_days: int
    """The label horizon: churn looks 90 days ahead, escalations mature within 14."""


TASKS: dict[str, TaskSpec] = {
    "churn": TaskSpec(
        ACCOUNT_FEATURES, "churned", "as_of_date", ("account_id", "as_of_date"), 14, 14, 90
    ),
    "escalation": TaskSpec(
        TICKET_FEATURES, "escalated_tier3", "created_date", ("ticket_id",), 28, 28, 14
    ),
}


@dataclass
class TrainedModel:
    """A calibrated model with what it takes to use, explain and compare it later."""

    task: str
    estimator: CalibratedClassifierCV
    raw: Pipeline
    """The uncalibrated booster: smooth scores for per-feature contributions."""
    baseline: CalibratedClassifierCV
    features: FeatureSet
    windows: dict[str, dict[str, str]]
    params: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    reference: pd.DataFrame
    """A sample of training feature rows: the drift reference and percentile population."""
    typical: dict[str, Any]
    """Training median (numeric) or mode (categorical) per feature, for contributions."""
    rows: dict[str, int]
    positives: dict[str, int]
    trained_at: str
    train_seconds: float
    code_version: str
    version: str | None = None
    test_frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def spec(self) -> TaskSpec:
        return TASKS[self.task]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the positive class."""
        return self.estimator.predict_proba(frame[self.features.columns])[:, 1]

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
        }
