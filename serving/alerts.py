"""Proactive alerts delivered: the day's alerts as a CSV, and optionally posted to a webhook.

The alerts themselves are SQL (`marts.fct_account_alerts`); this module only reads the
published serving copy, so it never holds the warehouse. The webhook gets Slack-compatible
JSON (`{"text": ..., "blocks": [...]}`) with account ids, segment, tier and the reason's
figures: no account names, owners or contacts, so no personal data leaves the warehouse. A
small state file beside the CSV remembers which alerts of the day were posted, so a refresh
that runs twice in a day does not post them twice. It holds account ids (no hashes):
`supportops erase` takes an erased account out of it (`forget_accounts`).
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from extracts.files import write_text
from ml.store import write_csv

ALERTS_TABLE = "marts.fct_account_alerts"
ALERTS_CSV = Path("exports") / "alerts.csv"
WEBHOOK_STATE = Path("exports") / "alerts_webhook_state.json"
ALERT_COLUMNS = [
    "as_of_date",
    "data_through_date",
    "account_id",
    "alert_type",
    "is_new",
    "reason",
    "observed",
    "baseline",
    "ratio",
    "segment",
    "tier",
    "seats",
    "arr",
]
ALERT_TITLES = {"usage_drop": "Usage drop", "ticket_burst": "Ticket burst"}
MAX_LISTED = 20
"""Alerts listed one by one in a webhook message (Slack takes at most 50 blocks); the rest
are counted, and the CSV has them all."""


class AlertDeliveryError(RuntimeError):
    """The webhook did not take the post; the message says why (never the URL's secret)."""


def newest_day(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The newest as-of day with alert signals (None before any build)."""
    return con.execute(f"SELECT max(as_of_date) FROM {ALERTS_TABLE}").fetchone()[0]


def alerts_for_day(
    con: duckdb.DuckDBPyConnection, day: dt.date | None = None, *, new_only: bool = False
) -> tuple[dt.date | None, pd.DataFrame]:
    """The alerts of `day` (default: the newest day with alerts), biggest ARR first."""
    day = day or newest_day(con)
    frame = con.execute(
        f"""SELECT {", ".join(ALERT_COLUMNS)} FROM {ALERTS_TABLE}
            WHERE as_of_date = ? AND (is_new OR NOT ?)
            ORDER BY alert_type, arr DESC, account_id""",
        [day, new_only],
    ).df()
    return day, frame


def slack_payload(alerts: pd.DataFrame, day: dt.date) -> dict:
    """Slack-compatible JSON for `alerts` (rows of ALERT_COLUMNS): a summary line in `text`
    (what notifications show), a header and one section per alert in `blocks`."""
    counts = alerts["alert_type"].value_counts()
    summary = ", ".join(
        f"{counts[kind]} {ALERT_TITLES[kind].lower()}" for kind in ALERT_TITLES if kind in counts
    )
    text = f"supportops: {len(alerts)} new account alerts for {day:%Y-%m-%d} ({summary})"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Account alerts {day:%Y-%m-%d}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
    ]  # fmt: skip
    for row in alerts.head(MAX_LISTED).itertuples(index=False):
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{ALERT_TITLES[row.alert_type]}* · `{row.account_id}` "
                    f"({row.segment}, {row.tier})\n{row.reason}",
                },
            }
        )
    if len(alerts) > MAX_LISTED:
        more = f"… and {len(alerts) - MAX_LISTED} more: `supportops alerts` or alerts.csv"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return {"text": text, "blocks": blocks}


def post_json(url: str, payload: dict, timeout: float = 10.0) -> int:
    """POST `payload` as JSON; the HTTP status, or AlertDeliveryError naming only the host."""
    host = urllib.parse.urlsplit(url).netloc or "(no host)"
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        raise AlertDeliveryError(f"webhook at {host} answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise AlertDeliveryError(f"webhook at {host} unreachable: {reason}") from None


def _keys(alerts: pd.DataFrame) -> pd.Series:
    """One id per alert: day, account and type."""
    day = pd.to_datetime(alerts["as_of_date"]).dt.strftime("%Y-%m-%d")
    return day + "|" + alerts["account_id"] + "|" + alerts["alert_type"]


@dataclass
class Delivery:
    """What a delivery did, for the asset's metadata and the CLI."""

    day: dt.date | None
    alerts: int
    new_alerts: int
    csv: Path
    by_type: dict[str, int] = field(default_factory=dict)
    posted: int = 0
    webhook: str = "not configured"
    """not configured, nothing new, posted, or `failed: <why>`."""

    @property
    def failed(self) -> bool:
        return self.webhook.startswith("failed")


def deliver(serving_path: Path, data_dir: Path, webhook_url: str | None = None) -> Delivery:
    """Write the newest day's alerts to `data_dir/exports/alerts.csv` and post its new alerts
    (those not posted before) to `webhook_url` when one is set. A webhook failure is returned
    in `Delivery.webhook`, not raised: alerts are a by-product of the refresh, not its goal."""
    with duckdb.connect(str(serving_path), read_only=True) as con:
        day, alerts = alerts_for_day(con)
    csv = write_csv(alerts, data_dir / ALERTS_CSV)
    new = alerts[alerts["is_new"]]
    result = Delivery(
        day, len(alerts), len(new), csv, alerts["alert_type"].value_counts().to_dict()
    )
    if not webhook_url:
        return result
    state_file = data_dir / WEBHOOK_STATE
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    posted = set(state.get("posted", [])) if state.get("day") == str(day) else set()
    unposted = new[~_keys(new).isin(posted)]
    if unposted.empty:
        result.webhook = "nothing new"
        return result
    try:
        post_json(webhook_url, slack_payload(unposted, day))
    except AlertDeliveryError as error:
        result.webhook = f"failed: {error}"
        return result
    posted |= set(_keys(unposted))
    _write_state(state_file, {"day": str(day), "posted": sorted(posted)})
    result.posted, result.webhook = len(unposted), "posted"
    return result


def _write_state(state_file: Path, state: dict) -> None:
    """Swap the whole state in at once: a crash leaves the old or the new."""
    write_text(state_file, json.dumps(state))


def forget_accounts(state_file: Path, account_ids: list[str]) -> int:
    """Rewrite the webhook state without the posted alerts of `account_ids` (an erasure);
    how many it dropped. Their alerts were posted already: forgetting them cannot post them
    again, since an erased account has no alerts left to post."""
    if not account_ids or not state_file.exists():
        return 0
    state = json.loads(state_file.read_text())
    erased = set(account_ids)
    posted = state.get("posted", [])
    kept = [key for key in posted if key.split("|")[1] not in erased]
    if len(kept) < len(posted):
        _write_state(state_file, {**state, "posted": kept})
    return len(posted) - len(kept)
