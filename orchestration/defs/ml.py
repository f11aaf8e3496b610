"""ML assets: train churn and escalation models, score accounts and open tickets, build the
outreach list, and watch drift and live performance.

Only wiring: each asset and check runs one step of `ml.pipeline` (plain library) and reports
its summary. Scores, evaluations and the outreach list are tables in schema `ml`, published
with the serving copy. Scoring sits downstream of the feature marts, so a failed blocking
quality gate upstream means no scores in that run.
"""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from config.settings import get_settings
from ml import monitoring, pipeline
from orchestration.defs.warehouse import warehouse_models
from orchestration.resources import (
    WAREHOUSE_POOL,
    ActionsResource,
    DriftLibrary,
    LandingResource,
    warehouse_dir,
)


def _model(name: str) -> dg.AssetKey:
    return get_asset_key_for_model([warehouse_models], name)


def _where(warehouse: DuckDBResource) -> tuple:
    """What every ML step takes: warehouse connections and the folder beside it."""
    return warehouse.get_connection, warehouse_dir(warehouse)


# How Dagster shows the summary values that are not plain numbers or text.
_RENDER = {
    **dict.fromkeys(("metrics", "top_10"), dg.MetadataValue.md),
    **dict.fromkeys(("model_card", "csv", "report"), dg.MetadataValue.path),
    "sla_risk": dg.MetadataValue.json,
}


def _metadata(summary: dict[str, Any]) -> dict[str, Any]:
    """A step's summary as Dagster metadata; `row_count` becomes Dagster's own row count."""
    named = {"dagster/row_count" if k == "row_count" else k: v for k, v in summary.items()}
    return {key: _RENDER[key](value) if key in _RENDER else value for key, value in named.items()}


class TrainingConfig(dg.Config):
    """Seed of the training run (same seed and data, same model)."""

    seed: int = 0


_ML_ASSET = {"group_name": "ml", "kinds": {"scikit-learn", "duckdb"}, "pool": WAREHOUSE_POOL,
             "owners": ["team:data-science"]}  # fmt: skip


def _model_asset(task: str, deps: list[dg.AssetKey], description: str) -> dg.AssetsDefinition:
    """`ml/<task>_model`: the two training assets differ only in task, inputs and text."""

    @dg.asset(key=["ml", f"{task}_model"], deps=deps, description=description, **_ML_ASSET)
    def _train(
        context: dg.AssetExecutionContext,
        config: TrainingConfig,
        warehouse: DuckDBResource,
        landing: LandingResource,
        drift_library: DriftLibrary,
    ) -> dg.MaterializeResult:
        truth = Path(landing.landing_dir).parent / "truth"  # demo data only: planted truth
        summary = pipeline.train_and_register(
            task,
            *_where(warehouse),
            seed=config.seed,
            truth_dir=truth if truth.is_dir() else None,
            target_precision=get_settings().outreach_target_precision,
            triage_policy=get_settings().triage_policy,
        )
        if summary["trained"]:
            drift_library.prefetch()  # a champion exists now: its drift check will report
        else:
            context.log.warning(f"{task}: not trained: {summary['reason']}")
        return dg.MaterializeResult(metadata=_metadata(summary))

    return _train


churn_model = _model_asset(
    "churn",
    [_model("feat_account_daily"), _model("health_score_daily"), _model("dim_accounts")],
    "Churn in the next 90 days: logistic regression and gradient boosting tuned on "
    "account-grouped folds, the better one calibrated and registered with its model card "
    "(health score and logistic baselines, planted ceiling on demo data); promoted when at "
    "least as good as the champion on the newest test window.",
)
escalation_model = _model_asset(
    "escalation",
    [_model("feat_ticket_at_creation"), _model("fct_tickets")],
    "Escalation to tier 3 from what is known at a ticket's creation (and the bot's first "
    "exchange); registered and promoted like the churn model.",
)
TRAINING = {"churn": churn_model, "escalation": escalation_model}


def training_to_skip(root: Path) -> set[dg.AssetKey]:
    """The training assets of the tasks that have a champion under `root`: a daily refresh
    scores with the champion and leaves retraining to `train_models` (weekly, or on drift)."""
    return {asset.key for task, asset in TRAINING.items() if pipeline.has_champion(root, task)}


_SCORES = {"automation_condition": dg.AutomationCondition.eager(), **_ML_ASSET}


@dg.asset(
    key=["ml", "account_scores"],
    deps=[churn_model, _model("feat_account_daily"), _model("health_score_daily")],
    description="Churn probability and revenue at risk (ARR x probability) of every active "
    "account as of the newest feature day, from the champion model.",
    **_SCORES,
)
def account_scores(warehouse: DuckDBResource) -> dg.MaterializeResult:
    summary = pipeline.score_accounts(*_where(warehouse))
    return dg.MaterializeResult(metadata=_metadata(summary))


@dg.asset(
    key=["ml", "ticket_scores"],
    deps=[escalation_model, _model("feat_ticket_at_creation"), _model("fct_tickets")],
    description="Escalation probability and SLA risk band of every open ticket, with the "
    "action, queue and rule of the champion's triage policy (and the policy version).",
    **_SCORES,
)
def ticket_scores(warehouse: DuckDBResource) -> dg.MaterializeResult:
    summary = pipeline.score_tickets(*_where(warehouse), triage_policy=get_settings().triage_policy)
    return dg.MaterializeResult(metadata=_metadata(summary))


@dg.asset(
    key=["ml", "outreach_list"],
    deps=[account_scores, _model("dim_accounts")],
    description="The accounts a customer-success team can work this week: churn probability "
    "above the threshold for the target precision, at most the configured number per owner, "
    "ranked by revenue at risk, with owner and three reasons in plain language, minus the "
    "period's random holdout (recorded in the actions store, to measure outreach against); "
    "also data/exports/outreach_list.csv.",
    **_SCORES,
)
def outreach_list(warehouse: DuckDBResource, actions: ActionsResource) -> dg.MaterializeResult:
    settings = get_settings()
    summary = pipeline.build_outreach(
        *_where(warehouse),
        per_owner=settings.outreach_per_owner,
        holdout_share=settings.outreach_holdout,
        actions_store=Path(actions.path),
    )
    return dg.MaterializeResult(metadata=_metadata(summary))


@dg.asset(
    key=["ml", "triage_policy"],
    deps=[escalation_model, _model("feat_ticket_at_creation"), _model("fct_tickets")],
    description="The triage policy (policies/triage.yml, thresholds chosen on the escalation "
    "champion's validation predictions) replayed over the newest 28 days of mature labels: "
    "tickets per action, precision and recall of each flag, senior-queue load per day, SLA "
    "breaches of flagged vs unflagged tickets and the precision/recall curve (ml.triage_*).",
    **_SCORES,
)
def triage_policy(warehouse: DuckDBResource) -> dg.MaterializeResult:
    summary = pipeline.triage_backtest(
        *_where(warehouse), triage_policy=get_settings().triage_policy
    )
    return dg.MaterializeResult(metadata=_metadata(summary))


def _monitoring_checks(asset: dg.AssetsDefinition, task: str) -> dg.AssetChecksDefinition:
    """`ml.monitoring` of the champion as three warning checks on its scores asset."""
    specs = [
        dg.AssetCheckSpec(name, asset=asset, description=text)
        for name, text in monitoring.SIGNALS.items()
    ]

    @dg.multi_asset_check(name=f"{task}_monitoring", specs=specs, pool=WAREHOUSE_POOL)
    def _check(
        context: dg.AssetCheckExecutionContext,
        warehouse: DuckDBResource,
        drift_library: DriftLibrary,
    ):
        settings = get_settings()
        drift_library.ready()
        result = pipeline.monitor_champion(
            task, *_where(warehouse), settings.drift_threshold, settings.performance_drop
        )
        checks = monitoring.NO_CHAMPION if result is None else result.checks()
        for reason in [] if result is None else result.reasons:
            context.log.warning(f"{task} {result.version}: retrain: {reason}")
        # Verdicts on a champion warn; the placeholders before one keep the default severity.
        severity = dg.AssetCheckSeverity.ERROR if result is None else dg.AssetCheckSeverity.WARN
        for name, (passed, numbers) in checks.items():
            yield dg.AssetCheckResult(
                check_name=name, passed=passed, severity=severity, metadata=_metadata(numbers)
            )

    return _check


churn_monitoring = _monitoring_checks(account_scores, "churn")
escalation_monitoring = _monitoring_checks(ticket_scores, "escalation")

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


# After a drift-triggered retraining run is requested, further failing checks wait this
# long: a retrain needs time to land, and drift it cannot remove must not retrain in a loop.
RETRAIN_COOLDOWN = dt.timedelta(hours=24)


def retrain_request(
    failing: dict[str, int], cursor: str | None, now: dt.datetime, cooldown: dt.timedelta
) -> tuple[dg.RunRequest | None, str, str]:
    """One retraining run for every check failing now (name -> evaluation storage id), or
    none: within `cooldown` of the last request, or when no failure is newer than the
    ones it answered. Returns (request or None, why, the new cursor)."""
    state = json.loads(cursor) if cursor else {}
    seen = int(state.get("seen", -1))
    newest = max(failing.values(), default=-1)
    if newest <= seen:
        return None, "no failed drift check since the last retraining request", cursor or ""
    last = state.get("requested_at")
    if last is not None and now - dt.datetime.fromisoformat(last) < cooldown:
        wait_until = dt.datetime.fromisoformat(last) + cooldown
        return None, f"drift checks fail; cooling down until {wait_until:%Y-%m-%d %H:%M}", cursor
    request = dg.RunRequest(
        run_key=f"drift:{newest}", tags={"trigger": ", ".join(sorted(failing))[:200]}
    )
    return request, "", json.dumps({"seen": newest, "requested_at": now.isoformat()})


@dg.sensor(
    job=train_models_job,
    name="retrain_on_drift",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def retrain_on_drift(context: dg.SensorEvaluationContext):
    """Requests one retraining run when the newest evaluation of drift or live-performance
    checks failed, then waits out a cooldown (`retrain_request`)."""
    keys = [
        dg.AssetCheckKey(asset.key, name)
        for asset in (account_scores, ticket_scores)
        for name in monitoring.SIGNALS
    ]
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    failing = {}
    for key, record in latest.items():
        data = record.event.asset_check_evaluation if record.event else None
        if data is not None and not data.passed:
            failing[f"{key.asset_key.to_user_string()} {key.name}"] = record.id
    now = dt.datetime.now(dt.UTC)
    request, why, cursor = retrain_request(failing, context.cursor, now, RETRAIN_COOLDOWN)
    if cursor != (context.cursor or ""):
        context.update_cursor(cursor)
    return [request] if request else dg.SkipReason(why)


ml_assets = [churn_model, escalation_model, account_scores, ticket_scores, outreach_list,
             triage_policy]  # fmt: skip
ml_checks = [churn_monitoring, escalation_monitoring]
