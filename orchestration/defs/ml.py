"""ML assets: train churn and escalation models, score accounts and open tickets, build the
outreach list, and watch drift and live performance.

Everything here wires `ml/` (a plain library) into Dagster. Models live in a file registry
beside the warehouse (`data/models/`); scores, evaluations and the outreach list are warehouse
tables in schema `ml`, published with the serving copy. Scoring sits downstream of the
feature marts, so a failed blocking quality gate upstream means no scores in that run.
"""

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ml import datasets, evaluation, outreach, reasons, registry, scoring
from ml.drift import drift_report, prediction_drift
from ml.training import TrainedModel, train
from orchestration.defs.warehouse import warehouse_models
from orchestration.resources import WAREHOUSE_POOL, LandingResource, warehouse_dir
from orchestration.settings import settings

ML_SCHEMA = "ml"
TASKS = ("churn", "escalation")


def _model(name: str) -> dg.AssetKey:
    return get_asset_key_for_model([warehouse_models], name)


def models_dir(warehouse: DuckDBResource) -> Path:
    return warehouse_dir(warehouse) / "models"


@contextmanager
def _with_frame(con, frame: pd.DataFrame) -> Iterator[None]:
    """`frame` as `_frame` inside one transaction: readers see all of a write or none of it."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ML_SCHEMA}")
    con.register("_frame", frame)
    try:
        con.execute("BEGIN")
        yield
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_frame")


def _replace_table(con, table: str, frame: pd.DataFrame) -> None:
    """Swap a whole `ml.<table>`."""
    with _with_frame(con, frame):
        con.execute(f"CREATE OR REPLACE TABLE {ML_SCHEMA}.{table} AS SELECT * FROM _frame")


def _append_rows(con, table: str, frame: pd.DataFrame, key: dict[str, str]) -> None:
    """Replace the rows of one key (a task's version, a check time) in an append-only table."""
    where = " AND ".join(f"{column} = ?" for column in key)
    with _with_frame(con, frame):
        con.execute(f"CREATE TABLE IF NOT EXISTS {ML_SCHEMA}.{table} AS FROM _frame LIMIT 0")
        con.execute(f"DELETE FROM {ML_SCHEMA}.{table} WHERE {where}", list(key.values()))
        con.execute(f"INSERT INTO {ML_SCHEMA}.{table} BY NAME SELECT * FROM _frame")


def _versions_frame(root: Path) -> pd.DataFrame:
    rows = [
        {
            "task": v.task,
            "version": v.version,
            "status": v.status,
            "trained_at": pd.Timestamp(v.card["trained_at"]).tz_localize(None),
            "train_start": v.card["data_window"]["train"]["start"],
            "train_end": v.card["data_window"]["train"]["end"],
            "test_start": v.card["data_window"]["test"]["start"],
            "test_end": v.card["data_window"]["test"]["end"],
            "card": json.dumps(v.card, default=str),
        }
        for v in registry.list_versions(root)
    ]
    frame = pd.DataFrame(rows, columns=["task", "version", "status", "trained_at", "train_start",
                                        "train_end", "test_start", "test_end", "card"])  # fmt: skip
    for column in ("train_start", "train_end", "test_start", "test_end"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


class TrainingConfig(dg.Config):
    """Seed of the training run (same seed and data, same model)."""

    seed: int = 0


def _train_task(
    context: dg.AssetExecutionContext,
    task: str,
    frame: pd.DataFrame,
    warehouse: DuckDBResource,
    landing: LandingResource,
    seed: int,
) -> dg.MaterializeResult:
    """Train, evaluate against baseline, rule and ceiling, register, promote, record."""
    try:
        trained = train(task, frame, seed=seed)
    except ValueError as exc:  # too little labelled history for the task's windows
        context.log.warning(f"{task}: not trained: {exc}")
        return dg.MaterializeResult(metadata={"trained": False, "reason": str(exc)})
    # `train` already evaluated the model, baseline and rule on the test window.
    table = pd.DataFrame.from_dict(trained.metrics, orient="index").rename_axis("scorer")
    table = table.reset_index()
    truth = Path(landing.landing_dir).parent / "truth"
    if truth.is_dir():  # demo data only: the generator's planted probabilities
        ceiling = evaluation.ceiling(task, trained.test_frame, truth)
        table = pd.concat([table, pd.DataFrame([{"scorer": "ceiling", **ceiling}])])
    root = models_dir(warehouse)
    version = registry.register(trained, root)
    promoted = registry.promote_if_better(root, task, version.version)
    y = trained.test_frame[trained.spec.label].to_numpy(bool)
    calibration = evaluation.calibration_table(y, trained.predict(trained.test_frame))
    with warehouse.get_connection() as con:
        tagged = {"task": task, "version": version.version}
        _append_rows(con, "evaluations", table.assign(**tagged), tagged)
        _append_rows(con, "calibration", calibration.assign(**tagged), tagged)
        _replace_table(con, "model_versions", _versions_frame(root))
    scorers = table.set_index("scorer")
    return dg.MaterializeResult(
        metadata={
            "trained": True,
            "version": version.version,
            "promoted_to_champion": promoted,
            "test_window": f"{trained.windows['test']['start']}..{trained.windows['test']['end']}",
            "metrics": dg.MetadataValue.md(scorers.round(4).to_markdown()),
            "pr_auc": float(scorers.loc["model", "pr_auc"]),
            "roc_auc": float(scorers.loc["model", "roc_auc"]),
            "train_seconds": round(trained.train_seconds, 2),
            "model_card": dg.MetadataValue.path(str(version.path / "card.json")),
        }
    )


_ML_ASSET = {"group_name": "ml", "kinds": {"scikit-learn", "duckdb"}, "pool": WAREHOUSE_POOL,
             "owners": ["team:data-science"]}  # fmt: skip


@dg.asset(
    key=["ml", "churn_model"],
    deps=[_model("feat_account_daily"), _model("health_score_daily"), _model("dim_accounts")],
    description="Churn in the next 90 days: gradient boosting with a logistic baseline, "
    "calibrated, registered with its model card; promoted when at least as good as the "
    "champion on the newest test window.",
    **_ML_ASSET,
)
def churn_model(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    warehouse: DuckDBResource,
    landing: LandingResource,
) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        frame = datasets.churn_dataset(con)
    return _train_task(context, "churn", frame, warehouse, landing, config.seed)


@dg.asset(
    key=["ml", "escalation_model"],
    deps=[_model("feat_ticket_at_creation"), _model("fct_tickets")],
    description="Escalation to tier 3 from what is known at a ticket's creation (and the "
    "bot's first exchange); registered and promoted like the churn model.",
    **_ML_ASSET,
)
def escalation_model(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    warehouse: DuckDBResource,
    landing: LandingResource,
) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        frame = datasets.escalation_dataset(con)
    return _train_task(context, "escalation", frame, warehouse, landing, config.seed)


def _champion(warehouse: DuckDBResource, task: str) -> TrainedModel | None:
    current = registry.champion(models_dir(warehouse), task)
    return None if current is None else current.load().with_version(current.version)


@dg.asset(
    key=["ml", "account_scores"],
    deps=[churn_model, _model("feat_account_daily"), _model("health_score_daily")],
    description="Churn probability and revenue at risk (ARR x probability) of every active "
    "account as of the newest feature day, from the champion model.",
    automation_condition=dg.AutomationCondition.eager(),
    **_ML_ASSET,
)
def account_scores(warehouse: DuckDBResource) -> dg.MaterializeResult:
    model = _champion(warehouse, "churn")
    if model is None:
        return _no_champion("churn")
    with warehouse.get_connection() as con:
        scores = scoring.score_accounts(model, scoring.accounts_to_score(con))
        _replace_table(con, "account_scores", scores.assign(model_version=model.version))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(scores),
            "model_version": model.version,
            "revenue_at_risk": float(scores["revenue_at_risk"].sum()),
            "mean_churn_probability": float(scores["churn_probability"].mean()),
        }
    )


def _no_champion(task: str) -> dg.MaterializeResult:
    """Too little labelled history to train yet: nothing to score, no table written (the
    dashboards and CLI then say that no model is trained)."""
    return dg.MaterializeResult(
        metadata={"dagster/row_count": 0, "model_version": f"no {task} champion yet"}
    )


@dg.asset(
    key=["ml", "ticket_scores"],
    deps=[escalation_model, _model("feat_ticket_at_creation"), _model("fct_tickets")],
    description="Escalation probability and SLA risk band of every open ticket.",
    automation_condition=dg.AutomationCondition.eager(),
    **_ML_ASSET,
)
def ticket_scores(warehouse: DuckDBResource) -> dg.MaterializeResult:
    model = _champion(warehouse, "escalation")
    if model is None:
        return _no_champion("escalation")
    with warehouse.get_connection() as con:
        scores = scoring.score_tickets(model, scoring.open_tickets(con))
        scored_at = pd.Timestamp.now(tz="UTC").tz_localize(None)
        _replace_table(
            con, "ticket_scores", scores.assign(model_version=model.version, scored_at=scored_at)
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(scores),
            "model_version": model.version,
            "sla_risk": dg.MetadataValue.json(scores["sla_risk"].value_counts().to_dict()),
        }
    )


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write the export next to its final name and rename it in: no half-written CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


@dg.asset(
    key=["ml", "outreach_list"],
    deps=[account_scores, _model("dim_accounts")],
    description="At-risk accounts ranked by revenue at risk, with churn probability, health "
    "band, owner and the top three reasons in plain language; also data/exports/"
    "outreach_list.csv.",
    automation_condition=dg.AutomationCondition.eager(),
    **_ML_ASSET,
)
def outreach_list(warehouse: DuckDBResource) -> dg.MaterializeResult:
    model = _champion(warehouse, "churn")
    if model is None:
        return _no_champion("churn")
    with warehouse.get_connection() as con:
        rows = scoring.accounts_to_score(con)
        scores = con.execute(f"SELECT * FROM {ML_SCHEMA}.account_scores").df()
        ranked = outreach.outreach_list(
            scores, reasons.explain(model, rows), outreach.current_accounts(con)
        )
        _replace_table(con, "outreach_list", ranked)
    export = warehouse_dir(warehouse) / "exports" / "outreach_list.csv"
    _write_csv(ranked, export)
    top = ranked.head(10)[
        ["rank", "account_id", "churn_probability", "revenue_at_risk", "reason_1"]
    ]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(ranked),
            "csv": dg.MetadataValue.path(str(export)),
            "top_10": dg.MetadataValue.md(top.to_markdown(index=False)),
        }
    )


# ------------------------------------------------------------------ drift and live performance


MONITORING_CHECKS = ("feature_drift", "prediction_drift", "live_performance")


def _monitoring_checks(
    asset: dg.AssetsDefinition, task: str, rows_sql, dataset
) -> dg.AssetChecksDefinition:
    """Feature and prediction drift of the current scoring batch against the training sample,
    and the champion's PR AUC on labels that matured after its test window."""

    @dg.multi_asset_check(
        name=f"{task}_monitoring",
        specs=[
            dg.AssetCheckSpec(
                "feature_drift",
                asset=asset,
                description="Evidently: share of model features whose distribution in the "
                "scoring batch drifted from the training reference (warn at the threshold).",
            ),
            dg.AssetCheckSpec(
                "prediction_drift",
                asset=asset,
                description="Evidently: drift of the predicted probability against its "
                "distribution on the training reference.",
            ),
            dg.AssetCheckSpec(
                "live_performance",
                asset=asset,
                description="PR AUC of the champion on labels matured since its test window, "
                "against its test PR AUC (warn past the configured relative drop).",
            ),
        ],
        pool=WAREHOUSE_POOL,
    )
    def _check(warehouse: DuckDBResource):
        model = _champion(warehouse, task)
        if model is None:
            for name in MONITORING_CHECKS:
                yield dg.AssetCheckResult(
                    check_name=name, passed=True, metadata={"note": "no champion model yet"}
                )
            return
        with warehouse.get_connection() as con:
            current = rows_sql(con)
            live = evaluation.live_performance(model, dataset(con))
        folder = warehouse_dir(warehouse) / "ml" / "drift"
        features = drift_report(
            model.reference,
            current,
            model.features.columns,
            folder / f"{task}_features.html",
            categorical=model.features.categorical,
            threshold=settings.drift_threshold,
        )
        predictions = prediction_drift(
            pd.Series(model.predict(model.reference)),
            pd.Series(model.predict(current)),
            folder / f"{task}_predictions.html",
            threshold=settings.drift_threshold,
        )
        checked_at = pd.Timestamp.now(tz="UTC").tz_localize(None)
        drift_rows = pd.DataFrame(
            [
                {
                    "task": task,
                    "version": model.version,
                    "kind": kind,
                    "checked_at": checked_at,
                    "drift_share": result.drift_share,
                    "drifted_columns": len(result.drifted_columns),
                    "columns": len(result.columns),
                    "detected": result.detected,
                    "threshold": result.threshold,
                    "report_path": str(result.html_path),
                }
                for kind, result in (("feature", features), ("prediction", predictions))
            ]
        )
        with warehouse.get_connection() as con:
            _append_rows(con, "drift", drift_rows, {"task": task, "checked_at": checked_at})
        for name, result in (("feature_drift", features), ("prediction_drift", predictions)):
            yield dg.AssetCheckResult(
                check_name=name,
                passed=not result.detected,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "drift_share": result.drift_share,
                    "threshold": result.threshold,
                    "drifted_columns": result.drifted_columns,
                    "report": dg.MetadataValue.path(str(result.html_path)),
                },
            )
        tested = model.metrics["model"]["pr_auc"]
        floor = tested * (1 - settings.performance_drop)
        yield dg.AssetCheckResult(
            check_name="live_performance",
            passed=live is None or live["pr_auc"] >= floor,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "test_pr_auc": tested,
                "floor": floor,
                **(
                    {"live_pr_auc": live["pr_auc"], "live_rows": live["rows"]}
                    if live
                    else {"note": "too few labels matured since the test window yet"}
                ),
            },
        )

    return _check


churn_monitoring = _monitoring_checks(
    account_scores, "churn", scoring.accounts_to_score, datasets.churn_dataset
)


def _recent_tickets(con, days: int = 7) -> pd.DataFrame:
    """Tickets created in the newest `days` days: the population the model scores from now
    on. Open tickets alone would be a biased batch (the hard ones stay open longest)."""
    tickets = datasets.escalation_dataset(con)
    created = pd.to_datetime(tickets["created_date"])
    return tickets[created > created.max() - pd.Timedelta(days=days)]


escalation_monitoring = _monitoring_checks(
    ticket_scores, "escalation", _recent_tickets, datasets.escalation_dataset
)

# Retraining: on a schedule, and when a monitoring check of a champion fails.
train_models_job = dg.define_asset_job(
    "train_models",
    selection=dg.AssetSelection.groups("ml") | dg.AssetSelection.groups("serving"),
    description="Retrain both models, re-score, rebuild the outreach list and publish.",
)
weekly_training = dg.ScheduleDefinition(
    job=train_models_job,
    cron_schedule="0 3 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.sensor(
    job=train_models_job,
    name="retrain_on_drift",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def retrain_on_drift(context: dg.SensorEvaluationContext):
    """Requests a retraining run when the newest evaluation of a drift or live-performance
    check failed. The run key is the failing evaluation's storage id, so one event trains once.
    """
    keys = [
        dg.AssetCheckKey(asset.key, name)
        for asset in (account_scores, ticket_scores)
        for name in MONITORING_CHECKS
    ]
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    requests = []
    for key, record in latest.items():
        data = record.event.asset_check_evaluation if record.event else None
        if data is not None and not data.passed:
            requests.append(
                dg.RunRequest(
                    run_key=f"drift:{record.id}",
                    tags={"trigger": f"{key.asset_key.to_user_string()} {key.name}"},
                )
            )
    return requests or dg.SkipReason("no failed drift check")


ml_assets = [churn_model, escalation_model, account_scores, ticket_scores, outreach_list]
ml_checks = [churn_monitoring, escalation_monitoring]
