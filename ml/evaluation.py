"""Metrics for a model, its baselines and the planted ceiling, on the same test rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from ml.model import TrainedModel

METRIC_COLUMNS = ["roc_auc", "pr_auc", "brier", "top_decile_lift", "rows", "positives"]
_PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


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
    """ROC AUC, PR AUC (average precision), Brier, top-decile lift, rows and positives."""
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(p, dtype=float)
    return {
        "roc_auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "brier": float(brier_score_loss(y, s)),
        "top_decile_lift": top_decile_lift(y, s),
        "rows": float(len(y)),
        "positives": float(y.sum()),
    }


def rule_score(task: str, frame: pd.DataFrame) -> np.ndarray:
    """The rule of thumb each model must beat, as a risk in [0, 1].

    Churn: the health score turned into a risk, (100 - score) / 100. Escalation: what a
    support lead triages by at creation: priority (low 0 to urgent 3), a VIP requester
    and a negative description, (priority + vip + negative) / 5.
    """
    if task == "churn":
        return ((100.0 - frame["health_score"].astype(float)) / 100.0).to_numpy()
    priority = frame["priority"].map(_PRIORITY_RANK).fillna(1).astype(float)
    vip = (frame["tier"] == "vip").astype(float)
    negative = frame["is_negative_sentiment"].fillna(False).astype(float)
    return ((priority + vip + negative) / 5.0).to_numpy()


def evaluate(trained: TrainedModel, test_frame: pd.DataFrame) -> pd.DataFrame:
    """One row per scorer (model, logistic_baseline, health_score) with the metric columns."""
    y = test_frame[trained.spec.label].to_numpy(bool)
    x = test_frame[trained.features.columns]
    scores = {
        "model": trained.estimator.predict_proba(x)[:, 1],
        "logistic_baseline": trained.baseline.predict_proba(x)[:, 1],
        "health_score": rule_score(trained.task, test_frame),
    }
    table = pd.DataFrame({name: metrics(y, p) for name, p in scores.items()}).T
    table.index.name = "scorer"
    return table[METRIC_COLUMNS]


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


def scorer_table(trained: TrainedModel, truth_dir: Path | str | None = None) -> pd.DataFrame:
    """One row per scorer (`scorer` column) from the model card's test metrics, plus the
    planted ceiling when `truth_dir` is given (demo data only: real data has no truth)."""
    table = pd.DataFrame.from_dict(trained.metrics, orient="index").rename_axis("scorer")
    table = table.reset_index()
    if truth_dir is None:
        return table
    best = ceiling(trained.task, trained.test_frame, truth_dir)
    return pd.concat([table, pd.DataFrame([{"scorer": "ceiling", **best}])])


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Equal-width probability bins: mean predicted vs observed rate (empty bins left out)."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    frame["bin"] = np.minimum((frame["p"] * bins).astype(int), bins - 1)
    table = frame.groupby("bin").agg(
        mean_predicted=("p", "mean"), observed_rate=("y", "mean"), rows=("y", "size")
    )
    return table.reset_index()


def live_performance(
    trained: TrainedModel, frame: pd.DataFrame, *, min_rows: int = 200, min_positives: int = 10
) -> dict[str, float] | None:
    """The model's metrics on rows whose labels matured after its test window: how it does
    on outcomes it has never seen. None until enough such labels exist."""
    spec = trained.spec
    dates = pd.to_datetime(frame[spec.date_column])
    rows = frame[frame["label_mature"] & (dates > pd.Timestamp(trained.windows["test"]["end"]))]
    y = rows[spec.label].to_numpy(bool)
    if len(rows) < min_rows or y.sum() < min_positives or y.all():
        return None
    return metrics(y, trained.predict(rows))


def calibration_on_test(trained: TrainedModel) -> pd.DataFrame:
    """`calibration_table` of the model on its own test window."""
    y = trained.test_frame[trained.spec.label].to_numpy(bool)
    return calibration_table(y, trained.predict(trained.test_frame))
