"""Metrics for a model, its baselines and the planted ceiling, on the same test rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from ml.model import TrainedModel

METRIC_COLUMNS = [
    "roc_auc",
    "pr_auc",
    "brier",
    "base_rate_brier",
    "top_decile_lift",
    "rows",
    "positives",
]


def top_decile_lift(y_true: np.ndarray, p: np.ndarray) -> float:
    """Positive rate in the top 10% of scores over the overall rate.

    Ties at the cut-off count by their average rate (the expected value under a random
    tie-break), so coarse scores such as the health score are not flattered or punished
    by row order.
    """
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(p, dtype=float)
    k = max(1, int(np.ceil(0.1 * len(s))))
    threshold = np.sort(s)[::-1][k - 1]
    above = s > threshold
    at = s == threshold
    expected = y[above].sum() + (k - above.sum()) * y[at].mean()
    return float((expected / k) / y.mean())


def metrics(y_true: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), Brier, top-decile lift, rows and positives.

    `base_rate_brier` is p(1 - p) of the rows' own positive rate: the Brier score of
    predicting that rate for everyone, which a useful probability must beat.
    """
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(p, dtype=float)
    rate = float(y.mean())
    return {
        "roc_auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "brier": float(brier_score_loss(y, s)),
        "base_rate_brier": rate * (1 - rate),
        "top_decile_lift": top_decile_lift(y, s),
        "rows": float(len(y)),
        "positives": float(y.sum()),
    }


def evaluate(trained: TrainedModel, test_frame: pd.DataFrame) -> pd.DataFrame:
    """One row per scorer with the metric columns: `model` (the champion), `logistic` and
    the spec's rule baseline under its own name (e.g. `health_score`, `triage_rule`)."""
    y = test_frame[trained.spec.label].to_numpy(bool)
    x = test_frame[trained.features.columns]
    scores = {
        "model": trained.estimator.predict_proba(x)[:, 1],
        "logistic": trained.baseline.predict_proba(x)[:, 1],
    }
    if trained.spec.baseline is not None:
        scores[trained.spec.baseline.name] = trained.spec.baseline.score(test_frame)
    table = pd.DataFrame({name: metrics(y, p) for name, p in scores.items()}).T
    table.index.name = "scorer"
    return table[METRIC_COLUMNS]


def signal_table(trained: TrainedModel, test_frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Each named signal's precision and recall on the test rows, beside the model's when
    it flags as many rows (its top scores): what the rule of thumb leaves on the table."""
    y = test_frame[trained.spec.label].to_numpy(bool)
    p = trained.predict(test_frame)
    found = {}
    for signal in trained.spec.signals:
        fires = pd.to_numeric(test_frame[signal.feature]).to_numpy(float) >= signal.at_least
        k = int(fires.sum())
        top = np.zeros(len(p), dtype=bool)
        top[np.argsort(-p, kind="stable")[:k]] = True
        found[signal.name] = {
            "rule": f"{signal.feature} >= {signal.at_least:g}",
            "flagged": float(k),
            "precision": float(y[fires].mean()) if k else 0.0,
            "recall": float(y[fires].sum() / y.sum()),
            "model_precision": float(y[top].mean()) if k else 0.0,
            "model_recall": float(y[top].sum() / y.sum()),
        }
    return found


def threshold_for_precision(
    y_true: np.ndarray, p: np.ndarray, target: float, min_flagged: int = 10
) -> dict[str, float]:
    """The lowest probability whose flagged rows (p >= it) reach `target` precision, with
    that precision and recall; where no threshold does, the most precise one instead."""
    y = np.asarray(y_true, dtype=float)
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
    s, hits = np.asarray(p, dtype=float)[order], np.cumsum(y[order])
    last = np.r_[s[1:] != s[:-1], True]  # the last row of each tie: p >= s keeps all ties
    flagged = np.arange(1, len(s) + 1)
    precision = hits / flagged
    ok = last & (flagged >= min(min_flagged, len(s)))
    reached = ok & (precision >= target)
    i = (
        int(np.flatnonzero(reached)[-1])
        if reached.any()
        else int(np.flatnonzero(ok)[np.argmax(precision[ok])])
    )
    return {
        "target_precision": float(target),
        "threshold": float(s[i]),
        "precision": float(precision[i]),
        "recall": float(hits[i] / y.sum()) if y.sum() else 0.0,
        "reached": bool(reached.any()),
    }


def ceiling(task: str, test_frame: pd.DataFrame, truth_dir: Path | str) -> dict[str, float]:
    """The metrics of the generator's planted probabilities on the same rows and labels.

    No honest model beats this; the only place the library reads `truth/`.
    """
    truth = Path(truth_dir)
    con = duckdb.connect()
    try:
        if task == "churn":
            rows = test_frame[["account_id", "as_of_date", "churned"]].copy()
            rows["as_of_date"] = pd.to_datetime(rows["as_of_date"]).dt.date
            con.register("test_rows", rows)
            joined = con.execute(
                """
                select test_rows.churned as label, truth.churn_probability_90d as p
                from test_rows
                left join read_parquet($path) as truth
                    on truth.account_id = test_rows.account_id
                    and truth.date = test_rows.as_of_date
                """,
                {"path": str(truth / "account_daily.parquet")},
            ).df()
        else:
            con.register("test_rows", test_frame[["ticket_id", "escalated_tier3"]])
            joined = con.execute(
                """
                select test_rows.escalated_tier3 as label, truth.escalation_probability as p
                from test_rows
                left join read_parquet($path) as truth on truth.ticket_id = test_rows.ticket_id
                """,
                {"path": str(truth / "tickets.parquet")},
            ).df()
    finally:
        con.close()
    if joined["p"].isna().any():
        raise ValueError(f"{int(joined['p'].isna().sum())} test rows have no planted probability")
    return metrics(joined["label"].to_numpy(bool), joined["p"].to_numpy(float))


def scorer_table(trained: TrainedModel) -> pd.DataFrame:
    """One row per scorer (`scorer` column) from the model card's test metrics."""
    return (
        pd.DataFrame.from_dict(trained.metrics, orient="index").rename_axis("scorer").reset_index()
    )


def complete_card(
    trained: TrainedModel, truth_dir: Path | str | None, target_precision: float
) -> TrainedModel:
    """Add to the card what a reader needs beside the metrics: the planted ceiling on the
    same test rows (demo data only: `truth_dir`), the calibration bins, each named signal
    against the model, and the probability threshold that reaches `target_precision`."""
    if truth_dir is not None:
        trained.metrics["ceiling"] = ceiling(trained.task, trained.test_frame, truth_dir)
    y = trained.test_frame[trained.spec.label].to_numpy(bool)
    p = trained.predict(trained.test_frame)
    trained.extras["calibration"] = calibration_table(y, p).to_dict("records")
    trained.extras["signals"] = signal_table(trained, trained.test_frame)
    trained.extras["outreach_threshold"] = threshold_for_precision(y, p, target_precision)
    return trained


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Equal-width probability bins: mean predicted vs observed rate (empty bins left out)."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    frame["bin"] = np.minimum((frame["p"] * bins).astype(int), bins - 1)
    table = frame.groupby("bin").agg(
        mean_predicted=("p", "mean"), observed_rate=("y", "mean"), rows=("y", "size")
    )
    return table.reset_index()


def live_rows_from(trained: TrainedModel) -> dt.date | None:
    """The first day that can hold rows `live_performance` scores (its test window's last
    day: the rows after the window's end begin there), so a caller reads only those; None
    when it scores none."""
    if trained.spec.date_column is None or "test" not in trained.windows:
        return None
    return pd.Timestamp(trained.windows["test"]["end"]).date()


def live_performance(
    trained: TrainedModel, frame: pd.DataFrame, *, min_rows: int = 200, min_positives: int = 10
) -> dict[str, float] | None:
    """The model's metrics on rows whose labels matured after its test window: how it does
    on outcomes it has never seen. None until enough such labels exist."""
    spec = trained.spec
    if spec.date_column is None or "test" not in trained.windows:
        return None
    dates = pd.to_datetime(frame[spec.date_column])
    mature = frame[spec.mature_column] if spec.mature_column else True
    rows = frame[mature & (dates > pd.Timestamp(trained.windows["test"]["end"]))]
    y = rows[spec.label].to_numpy(bool)
    if len(rows) < min_rows or y.sum() < min_positives or y.all():
        return None
    return metrics(y, trained.predict(rows))
