"""The ML steps a pipeline run takes: train and register, score, rank for outreach, monitor.

Each step takes `connect` (a factory of DuckDB connections to the warehouse, used as a
context manager, so a long training run holds no connection) and `root`, the warehouse's
folder, beside which the files live: the model registry (`models/`), the outreach CSV
(`exports/`) and the drift reports (`ml/drift/`). Each returns a summary: plain values a
scheduler reports as run metadata. Keeping the steps here lets any orchestrator (or a test)
run them without Dagster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from extracts import actions
from ml import datasets, evaluation, monitoring, outreach, policy, reasons, registry, scoring, store
from ml.feedback import review_labels, with_review_labels
from ml.model import TrainedModel
from ml.tasks import TASKS
from ml.training import train

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
OUTREACH_CSV = Path("exports") / "outreach_list.csv"
DRIFT_REPORTS = Path("ml") / "drift"
DATASETS = {"churn": datasets.churn_dataset, "escalation": datasets.escalation_dataset}


def training_rows(task: str, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The task's dataset as far as training reads it: churn thins its account-days in the
    query, so a long history is never held whole (`datasets.churn_dataset`)."""
    spec = TASKS[task]
    if spec.snapshot_every_days > 1:
        return DATASETS[task](
            con,
            horizon_days=spec.horizon_days,
            snapshot_every_days=spec.snapshot_every_days,
            every_day_of_newest=spec.test_days,
        )
    return DATASETS[task](con)


def now() -> pd.Timestamp:
    """UTC now as a naive timestamp (the warehouse's convention)."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def models_dir(root: Path) -> Path:
    return Path(root) / "models"


def champion(root: Path, task: str) -> TrainedModel | None:
    """The task's champion model with its version set, or None before the first one."""
    current = registry.champion(models_dir(root), task)
    return None if current is None else current.load().with_version(current.version)


def has_champion(root: Path, task: str) -> bool:
    """Whether the task has a champion (without loading it)."""
    return registry.champion(models_dir(root), task) is not None


def any_champion(root: Path) -> bool:
    """Whether any task has a champion: before one, monitoring draws no drift report."""
    return any(has_champion(root, task) for task in TASKS)


def no_champion(task: str) -> dict[str, Any]:
    """Too little labelled history to train yet: nothing to score, no table written (the
    dashboards and CLI then say that no model is trained)."""
    return {"row_count": 0, "model_version": f"no {task} champion yet"}


# Defaults when the caller passes none (the orchestration passes the settings').
TARGET_PRECISION = 0.2
PER_OWNER = 4


def train_and_register(
    task: str,
    connect: Connect,
    root: Path,
    *,
    seed: int = 0,
    truth_dir: Path | None = None,
    target_precision: float = TARGET_PRECISION,
    triage_policy: Path = policy.DEFAULT_POLICY,
) -> dict[str, Any]:
    """Train, evaluate against the logistic, the rule and (demo data: `truth_dir`) the
    ceiling, register, promote if at least as good as the champion, record evaluations.

    The drift and reasons reference is today's scored population, not the training rows
    of months ago: right after a retrain nothing has drifted, so drift that retraining
    cannot remove does not ask for retraining again.
    Too little labelled history is not an error: the summary says why nothing was trained.
    An escalation version gets the triage policy's thresholds chosen on its validation
    predictions before it can be promoted, so a champion never lacks its policy.
    """
    with connect() as con:
        frame = training_rows(task, con)
        if task == "escalation":  # reviewers' verdicts: labels before outcomes mature
            frame = with_review_labels(frame, review_labels(con))
        current = monitoring.current_batch(task, con)
    try:
        trained = train(TASKS[task], frame, seed=seed)
    except ValueError as exc:  # too little labelled history for the task's windows
        return {"trained": False, "reason": str(exc)}
    if len(current):
        trained.reference = monitoring.reference_sample(current, seed=seed)
    evaluation.complete_card(trained, truth_dir, target_precision)
    table = evaluation.scorer_table(trained)
    models = models_dir(root)
    version = registry.register(trained, models)
    chosen = policy.choose_for_version(version, triage_policy) if task == "escalation" else None
    promoted = registry.promote_if_better(models, task, version.version)
    calibration = pd.DataFrame(trained.extras["calibration"])
    with connect() as con:
        versions = registry.versions_table(models)
        store.record_training(con, task, version.version, table, calibration, versions)
    scorers = table.set_index("scorer")
    test = trained.windows["test"]
    return {
        "trained": True,
        "version": version.version,
        "promoted_to_champion": promoted,
        "champion_family": trained.params["champion"]["family"],
        "test_window": f"{test['start']}..{test['end']}",
        "metrics": scorers.round(4).to_markdown(),
        "pr_auc": float(scorers.loc["model", "pr_auc"]),
        "roc_auc": float(scorers.loc["model", "roc_auc"]),
        "train_seconds": round(trained.train_seconds, 2),
        "review_labels": trained.params["review_labels"],
        "model_card": str(version.path / "card.json"),
        **({"triage_policy": chosen.label} if chosen else {}),
    }


def score_accounts(connect: Connect, root: Path) -> dict[str, Any]:
    """`ml.account_scores`: the churn champion over today's active accounts."""
    if (model := champion(root, "churn")) is None:
        return no_champion("churn")
    with connect() as con:
        scores = scoring.score_accounts(model, scoring.accounts_to_score(con))
        store.replace_table(con, "account_scores", scores.assign(model_version=model.version))
    return {
        "row_count": len(scores),
        "model_version": model.version,
        "revenue_at_risk": float(scores["revenue_at_risk"].sum()),
        "mean_churn_probability": float(scores["churn_probability"].mean()),
    }


def score_tickets(
    connect: Connect, root: Path, *, triage_policy: Path = policy.DEFAULT_POLICY
) -> dict[str, Any]:
    """`ml.ticket_scores`: the escalation champion over open tickets, with the action, queue
    and deciding rule of the policy chosen for it (as the scoring service decides a new
    ticket: SLA state at creation), stamped `scored_at`."""
    current = registry.champion(models_dir(root), "escalation")
    if current is None:
        return no_champion("escalation")
    model = current.load().with_version(current.version)
    chosen = policy.policy_for(current, triage_policy)
    with connect() as con:
        tickets = scoring.open_tickets(con)
        scores = scoring.score_tickets(model, tickets)
        inputs = policy.decision_inputs(model, tickets, scores["escalation_probability"].to_numpy())
        decided = policy.decide(chosen, inputs)
        scored = pd.concat([scores, decided], axis=1).assign(
            model_version=model.version, policy_version=chosen.label, scored_at=now()
        )
        store.replace_table(con, "ticket_scores", scored)
    return {
        "row_count": len(scores),
        "model_version": model.version,
        "policy_version": chosen.label,
        "sla_risk": scores["sla_risk"].value_counts().to_dict(),
        "actions": decided["action"].value_counts().to_dict(),
    }


def build_outreach(
    connect: Connect,
    root: Path,
    *,
    per_owner: int = PER_OWNER,
    holdout_share: float = 0.0,
    actions_store: Path | None = None,
) -> dict[str, Any]:
    """`ml.outreach_list`: what a team can work this week, with reasons, and its CSV.

    Accounts at least as likely to churn as the champion's threshold for its target
    precision (on its test rows), at most `per_owner` per owner, by revenue at risk; only
    those are explained, against the model's reference population. Of these, the period's
    holdout (`holdout_share`, `extracts.actions.in_holdout`) is kept off the list and
    recorded in the actions store, so churn among them measures what outreach does; the
    store is then copied into the warehouse again (`actions.*`), so this refresh's warehouse
    holds the holdout it drew (the store's regular copy runs before training and scoring).
    """
    if (model := champion(root, "churn")) is None:
        return no_champion("churn")
    threshold = model.extras.get("outreach_threshold", {}).get("threshold", 0.0)
    with connect() as con:
        scores = store.read_table(con, "account_scores")
        accounts = outreach.current_accounts(con)
        listed = outreach.select_for_capacity(
            scores, accounts, per_owner=per_owner, min_probability=threshold
        )
        rows = scoring.accounts_to_score(con)
        why = reasons.explain(model, rows[rows["account_id"].isin(listed["account_id"])])
        ranked = outreach.outreach_list(
            scores, why, accounts, min_probability=threshold, per_owner=per_owner
        )
        ranked, held = _hold_out(ranked, holdout_share, actions_store)
        store.replace_table(con, "outreach_list", ranked)
        if held:  # the store's copy ran before this step: copy it again, holdout included
            actions.load_into_warehouse(con, actions_store)
    export = store.write_csv(ranked, Path(root) / OUTREACH_CSV)
    top = ranked.head(10)[
        ["rank", "account_id", "churn_probability", "revenue_at_risk", "reason_1"]
    ]
    return {
        "row_count": len(ranked),
        **outreach.coverage(ranked),
        "threshold": threshold,
        "per_owner": per_owner,
        "holdout": held,
        "csv": str(export),
        "top_10": top.to_markdown(index=False),
    }


def _hold_out(
    ranked: pd.DataFrame, share: float, actions_store: Path | None
) -> tuple[pd.DataFrame, int]:
    """The list without its period's holdout (ranks renumbered), and how many were held out
    (recorded in the actions store, once per account and period)."""
    if ranked.empty or share <= 0 or actions_store is None:
        return ranked, 0
    as_of = pd.Timestamp(ranked["as_of_date"].max()).date()
    held = actions.in_holdout(ranked["account_id"], actions.period_of(as_of), share)
    kept = ranked[~pd.Series(held, index=ranked.index)].reset_index(drop=True)
    kept["rank"] = kept.index + 1
    ids = ranked.loc[held, "account_id"]
    actions.record_holdout(actions_store, ids, as_of, actions.Reviewer("pipeline"))
    return kept, len(ids)


def triage_backtest(
    connect: Connect,
    root: Path,
    *,
    triage_policy: Path = policy.DEFAULT_POLICY,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[str, Any]:
    """The champion's triage policy replayed over tickets created in [start, end] (default:
    the newest 28 days of mature labels): what the Triage page shows (tables `ml.triage_*`)."""
    current = registry.champion(models_dir(root), "escalation")
    if current is None:
        return no_champion("escalation")
    chosen = policy.policy_for(current, triage_policy)
    with connect() as con:
        rows, start, end = policy.replay(con, current, start, end)
    result = policy.backtest(chosen, rows)
    tag = {"policy_version": chosen.label, "model_version": current.version,
           "window_start": start, "window_end": end}  # fmt: skip
    tables = {
        "triage_policy": policy.threshold_table(chosen),
        "triage_actions": result["actions"],
        "triage_senior_load": result["senior_queue_per_day"],
        "triage_sla": result["sla"],
        "triage_curve": policy.tradeoff_curve(rows),
    }
    with connect() as con:
        for name, frame in tables.items():
            store.replace_table(con, name, frame.assign(**tag))
    flags = result["actions"].set_index("action")
    return {
        "row_count": len(rows),
        "policy_version": chosen.label,
        "window": f"{start}..{end}",
        "senior_precision": float(flags.loc["senior_review", "precision"]),
        "senior_recall": float(flags.loc["senior_review", "recall"]),
        "flag_recall": float(flags.loc["any flag", "recall"]),
    }


def monitor_champion(
    task: str,
    connect: Connect,
    root: Path,
    threshold: float,
    performance_drop: float,
) -> monitoring.Monitoring | None:
    """`monitoring.monitor` of the task's champion on its current batch, with the drift rows
    appended to `ml.drift`; None before the first champion."""
    if (model := champion(root, task)) is None:
        return None
    with connect() as con:
        current = monitoring.current_batch(task, con)
        # Only matured rows after the champion's test window count as live outcomes: reading
        # the whole history, or the immature rows since that window (90 days of account-days
        # for churn), each refresh would cost what training costs.
        start = evaluation.live_rows_from(model)
        labelled = DATASETS[task](con, start=start, mature_only=True)
    result = monitoring.monitor(
        model,
        current,
        labelled,
        Path(root) / DRIFT_REPORTS,
        threshold=threshold,
        performance_drop=performance_drop,
    )
    checked_at = now()
    with connect() as con:
        key = {"task": task, "checked_at": checked_at}
        store.append_rows(con, "drift", result.drift_rows(checked_at), key)
    return result
