"""Deliver the day's proactive alerts once the serving copy is published: a CSV beside the
outreach list and, when SUPPORTOPS_ALERTS_WEBHOOK is set, a Slack-compatible post.

Only wiring: `serving.alerts` reads the published copy and does the work. A webhook that
fails is a failed warning check on the asset, never a failed refresh.
"""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from config.settings import get_settings
from orchestration.defs.serving import serving_database
from orchestration.resources import ServingResource, warehouse_dir
from serving.alerts import deliver

WEBHOOK_CHECK = "webhook_delivered"


@dg.asset(
    key=["alerts", "daily_alerts"],
    group_name="serving",
    kinds={"duckdb", "csv"},
    deps=[serving_database],
    automation_condition=dg.AutomationCondition.eager(),
    owners=["team:customer-success"],
    check_specs=[
        dg.AssetCheckSpec(
            WEBHOOK_CHECK,
            asset=["alerts", "daily_alerts"],
            description="The day's new alerts reached SUPPORTOPS_ALERTS_WEBHOOK (passes when "
            "none is configured or nothing is new).",
        )
    ],
    description=(
        "The newest day's usage-drop and ticket-burst alerts (marts.fct_account_alerts in the "
        "serving copy) as data/exports/alerts.csv, and its new alerts posted to "
        "SUPPORTOPS_ALERTS_WEBHOOK as Slack-compatible JSON when set (no personal data)."
    ),
)
def daily_alerts(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, serving: ServingResource
) -> dg.MaterializeResult:
    result = deliver(Path(serving.path), warehouse_dir(warehouse), get_settings().alerts_webhook)
    if result.failed:
        context.log.warning(f"alerts: {result.webhook}")
    metadata = {
        "day": str(result.day),
        "alerts": result.alerts,
        "new_alerts": result.new_alerts,
        "by_type": dg.MetadataValue.json(result.by_type),
        "csv": dg.MetadataValue.path(str(result.csv)),
        "webhook": result.webhook,
        "posted": result.posted,
    }
    check = dg.AssetCheckResult(
        check_name=WEBHOOK_CHECK,
        passed=not result.failed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"webhook": result.webhook, "posted": result.posted},
    )
    return dg.MaterializeResult(metadata=metadata, check_results=[check])
