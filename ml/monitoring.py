"""Is a champion still fit to score? Drift of what it scores now against the population it
scored when it was registered (`reference_sample`), and its PR AUC on labels that matured
after its test window.

Each signal is a pass/fail decision with the numbers behind it; any failure is a reason to
retrain. The orchestration turns these into warning checks, and a failed check into a
retraining run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ml import datasets, evaluation, scoring
from ml.drift import DEFAULT_THRESHOLD, DriftResult, drift_report, prediction_drift
from ml.model import TrainedModel

# The signals, each a warning check in the orchestration, with what it measures.
SIGNALS = {
    "feature_drift": "Evidently: share of model features whose distribution in the scoring "
    "batch drifted from the population scored when the champion was registered (warn at "
    "the threshold).",
    "prediction_drift": "Evidently: drift of the predicted probability against its "
    "distribution on that reference population.",
    "live_performance": "PR AUC of the champion on labels matured since its test window, "
    "against its test PR AUC (warn past the configured relative drop).",
}
# Before the first champion every signal passes with this note.
NO_CHAMPION = {name: (True, {"note": "no champion model yet"}) for name in SIGNALS}

# The escalation batch: tickets created in this many newest days.
RECENT_TICKET_DAYS = 7


def recent_tickets(con: duckdb.DuckDBPyConnection, days: int = RECENT_TICKET_DAYS) -> pd.DataFrame:
    """Tickets created in the newest `days` days: the population the model scores from now
    on. Open tickets alone would be a biased batch (the hard ones stay open longest). Only
    those days are read: a refresh must not load every ticket of the history."""
    (newest,) = con.execute(
        "SELECT max(created_date) FROM features.feat_ticket_at_creation"
        " WHERE ticket_id IN (SELECT ticket_id FROM marts.fct_tickets)"
    ).fetchone()
    start = None if newest is None else newest - dt.timedelta(days=days - 1)
    return datasets.escalation_dataset(con, start=start)


# Rows of the scored population kept with a model as its drift and reasons reference.
REFERENCE_ROWS = 2_000


def reference_sample(
    batch: pd.DataFrame, rows: int = REFERENCE_ROWS, seed: int = 0
) -> pd.DataFrame:
    """A sample of the population a model scores when it is registered: what later batches
    are compared with (drift) and what reasons measure against."""
    return batch.sample(n=min(rows, len(batch)), random_state=seed)


def current_batch(task: str, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The rows `task`'s model scores now: today's active accounts, or the newest tickets."""
    return scoring.accounts_to_score(con) if task == "churn" else recent_tickets(con)


@dataclass(frozen=True)
class LivePerformance:
    """PR AUC on matured labels against the test PR AUC less the allowed relative drop."""

    test_pr_auc: float
    floor: float
    live: dict[str, float] | None
    """Metrics on rows matured since the test window; None while too few have."""

    @property
    def passed(self) -> bool:
        """No verdict (passes) until enough labels matured."""
        return self.live is None or self.live["pr_auc"] >= self.floor

    def summary(self) -> dict[str, Any]:
        """The numbers behind the verdict, or why there is none yet."""
        if self.live is None:
            seen: dict[str, Any] = {"note": "too few labels matured since the test window yet"}
        else:
            seen = {"live_pr_auc": self.live["pr_auc"], "live_rows": self.live["rows"]}
        return {"test_pr_auc": self.test_pr_auc, "floor": self.floor, **seen}


def live_performance(
    model: TrainedModel, labelled: pd.DataFrame, performance_drop: float
) -> LivePerformance:
    """Score `model` on `labelled` rows matured after its test window; the floor is its test
    PR AUC times (1 - `performance_drop`)."""
    tested = model.metrics["model"]["pr_auc"]
    live = evaluation.live_performance(model, labelled)
    return LivePerformance(tested, tested * (1 - performance_drop), live)


@dataclass(frozen=True)
class Monitoring:
    """One monitoring pass over a champion: feature drift, prediction drift, live PR AUC."""

    task: str
    version: str | None
    features: DriftResult
    predictions: DriftResult
    live: LivePerformance

    @property
    def reasons(self) -> list[str]:
        """Why the champion should be retrained, in words; empty when it still fits."""
        found = [
            f"{kind} drift: {result.drift_share:.0%} of columns drifted "
            f"(threshold {result.threshold:.0%})"
            for kind, result in (("feature", self.features), ("prediction", self.predictions))
            if result.detected
        ]
        if not self.live.passed:
            found.append(
                f"live PR AUC {self.live.live['pr_auc']:.3f} below the floor "
                f"{self.live.floor:.3f} (test {self.live.test_pr_auc:.3f})"
            )
        return found

    @property
    def retrain(self) -> bool:
        return bool(self.reasons)

    def checks(self) -> dict[str, tuple[bool, dict[str, Any]]]:
        """Each signal's verdict and the numbers behind it (`report`: the HTML path)."""
        drifts = {"feature_drift": self.features, "prediction_drift": self.predictions}
        return {
            **{
                name: (
                    not result.detected,
                    {
                        "drift_share": result.drift_share,
                        "threshold": result.threshold,
                        "drifted_columns": result.drifted_columns,
                        "report": str(result.html_path),
                    },
                )
                for name, result in drifts.items()
            },
            "live_performance": (self.live.passed, self.live.summary()),
        }

    def drift_rows(self, checked_at: pd.Timestamp) -> pd.DataFrame:
        """The two drift results as rows of `ml.drift` (history kept per check time)."""
        return pd.DataFrame(
            [
                {
                    "task": self.task,
                    "version": self.version,
                    "kind": kind,
                    "checked_at": checked_at,
                    "drift_share": result.drift_share,
                    "drifted_columns": len(result.drifted_columns),
                    "columns": len(result.columns),
                    "detected": result.detected,
                    "threshold": result.threshold,
                    "report_path": str(result.html_path),
                }
                for kind, result in (("feature", self.features), ("prediction", self.predictions))
            ]
        )


def monitor(
    model: TrainedModel,
    current: pd.DataFrame,
    labelled: pd.DataFrame,
    report_dir: Path | str,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    performance_drop: float,
) -> Monitoring:
    """Drift of `current` (features and predictions) against the model's reference population,
    with HTML reports `<task>_features.html` and `<task>_predictions.html` in `report_dir`,
    and live performance on `labelled`."""
    task, folder = model.task, Path(report_dir)
    live = live_performance(model, labelled, performance_drop)
    features = drift_report(
        model.reference,
        current,
        model.features.columns,
        folder / f"{task}_features.html",
        categorical=model.features.categorical,
        threshold=threshold,
    )
    predictions = prediction_drift(
        pd.Series(model.predict(model.reference)),
        pd.Series(model.predict(current)),
        folder / f"{task}_predictions.html",
        threshold=threshold,
    )
    return Monitoring(task, model.version, features, predictions, live)
