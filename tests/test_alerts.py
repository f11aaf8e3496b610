"""Proactive alerts: values against pandas, evidence against the planted truth, the webhook
over a real local HTTP server, the Dagster asset, and `supportops alerts --json`.

The evidence tests share the ML world (`ml_data`: 1000 accounts over 300 days through the
whole pipeline); the tiny world (14 days) is too short for a 35-day usage baseline. The
webhook, asset and CLI tests use a serving file written here, so they need no pipeline.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from config.settings import use_settings
from orchestration.defs.alerts import WEBHOOK_CHECK, daily_alerts
from orchestration.resources import ServingResource
from serving.alerts import (
    ALERTS_CSV,
    MAX_LISTED,
    WEBHOOK_STATE,
    deliver,
    forget_accounts,
    slack_payload,
)
from tests.conftest import MLData, run_cli

# The rules as configured in dbt_project.yml (vars alert_*), restated for pandas.
USAGE_MAX_RATIO, USAGE_MIN_Z, USAGE_MIN_WEEKLY_EVENTS = 0.6, 3.0, 10
BURST_MIN_RATIO, BURST_MIN_TICKETS = 2.5, 3

# --- an independent computation on generated data ---------------------------------------


def expected_alerts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every (account, as-of day, alert type) the rules should fire, in pandas: daily counts
    of events (staging) and tickets (fct_tickets) on a dense account-day grid, cumulative
    sums for the windows, seats and status from the CRM snapshots; no alert SQL reused."""
    events = con.execute(
        "SELECT account_id, event_date AS day, count(*) AS n "
        "FROM staging.stg_telemetry__events GROUP BY ALL"
    ).df()
    tickets = con.execute(
        "SELECT account_id, created_date AS day, count(*) AS n FROM marts.fct_tickets GROUP BY ALL"
    ).df()
    crm = con.execute(
        "SELECT account_id, snapshot_date AS day, seats, account_status "
        "FROM intermediate.int_account_snapshots"
    ).df()
    for frame in (events, tickets, crm):
        frame["day"] = pd.to_datetime(frame["day"])
    first = min(tickets["day"].min(), crm["day"].min())
    days = pd.date_range(first, crm["day"].max() + pd.Timedelta(days=1))
    accounts = np.sort(crm["account_id"].unique())
    grid = pd.MultiIndex.from_product([accounts, days], names=["account_id", "day"])

    def cumulative(counts: pd.DataFrame) -> pd.Series:
        dense = counts.set_index(["account_id", "day"])["n"].reindex(grid, fill_value=0)
        return dense.groupby(level="account_id").cumsum()

    def window(total: pd.Series, end_back: int, length: int) -> pd.Series:
        """Sum over the `length` days ending `end_back` days before each grid day."""
        shifted = total.groupby(level="account_id").shift(end_back, fill_value=0)
        before = total.groupby(level="account_id").shift(end_back + length, fill_value=0)
        return shifted - before

    ev, tk = cumulative(events), cumulative(tickets)
    frame = pd.DataFrame(
        {
            "events_7d": window(ev, 1, 7),
            "events_prior_28d": window(ev, 8, 28),
            "tickets_14d": window(tk, 1, 14),
            "tickets_90d": window(tk, 1, 90),
        }
    ).reset_index()
    snapshot = crm.set_index(["account_id", "day"])
    as_of = frame.set_index(["account_id", "day"]).index
    yesterday = as_of.set_levels(as_of.levels[1] - pd.Timedelta(days=1), level=1)
    frame["seats"] = snapshot["seats"].reindex(yesterday).to_numpy()
    frame["status"] = snapshot["account_status"].reindex(yesterday).to_numpy()
    week_back = as_of.set_levels(as_of.levels[1] - pd.Timedelta(days=8), level=1)
    frame["baseline_seats"] = snapshot["seats"].reindex(week_back).to_numpy()
    frame["baseline_seats"] = frame["baseline_seats"].fillna(frame["seats"])
    for back in (31, 61):  # the feature rows as of D-30 and D-60 (snapshots D-31, D-61)
        shifted = as_of.set_levels(as_of.levels[1] - pd.Timedelta(days=back), level=1)
        frame[f"has_{back}"] = shifted.isin(snapshot.index)
    frame = frame[frame["status"].notna()]  # accounts in the CRM the day before
    history = (frame["day"] - first).dt.days
    active = frame["status"] == "active"
    baseline_week = frame["events_prior_28d"] / 4
    frame["usage_ratio"] = (frame["events_7d"] / frame["seats"]) / (
        baseline_week / frame["baseline_seats"]
    )
    # the week's events against the count the baseline expects at today's seats
    expected_7d = baseline_week * frame["seats"] / frame["baseline_seats"]
    usage = (
        active
        & (history >= 35)
        & (baseline_week >= USAGE_MIN_WEEKLY_EVENTS)
        & (frame["usage_ratio"] <= USAGE_MAX_RATIO)
        & (expected_7d - frame["events_7d"] >= USAGE_MIN_Z * np.sqrt(expected_7d))
    )
    expected_14d = frame["tickets_90d"] * 14 / 90
    burst = (
        active
        & (history >= 90)
        & frame["has_31"]
        & frame["has_61"]
        & (frame["tickets_14d"] >= BURST_MIN_TICKETS)
        & (frame["tickets_14d"] >= BURST_MIN_RATIO * expected_14d)
    )
    frame["ticket_ratio"] = frame["tickets_14d"] / expected_14d
    frame = frame.rename(columns={"day": "as_of_date"})
    frame["as_of_date"] = frame["as_of_date"].dt.date
    fired = [
        frame[usage].assign(alert_type="usage_drop", ratio=frame["usage_ratio"]),
        frame[burst].assign(alert_type="ticket_burst", ratio=frame["ticket_ratio"]),
    ]
    columns = ["account_id", "as_of_date", "alert_type", "ratio", "tickets_14d", "events_7d"]
    return pd.concat(fired)[columns].reset_index(drop=True)


def published_alerts(serving: Path) -> pd.DataFrame:
    with duckdb.connect(str(serving), read_only=True) as con:
        frame = con.execute("SELECT * FROM marts.fct_account_alerts").df()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    return frame


@pytest.fixture(scope="module")
def alert_world(ml_data: MLData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(published alerts, the pandas expectation) on the ML world."""
    with ml_data.connect() as con:
        expected = expected_alerts(con)
    return published_alerts(ml_data.serving), expected


KEY = ["account_id", "as_of_date", "alert_type"]


def test_alerts_match_an_independent_pandas_computation(alert_world) -> None:
    published, expected = alert_world
    assert len(expected) > 500  # the world has plenty of both kinds
    assert set(expected["alert_type"]) == {"usage_drop", "ticket_burst"}
    both = published.merge(expected, on=KEY, how="outer", indicator=True)
    # A ratio of exactly the threshold (6 events against 10 expected) may round either way.
    both = both[~np.isclose(both["ratio_x"].fillna(both["ratio_y"]), USAGE_MAX_RATIO)]
    assert (both["_merge"] == "both").all(), both[both["_merge"] != "both"].head(10)
    assert np.allclose(both["ratio_x"], both["ratio_y"])
    bursts = both["alert_type"] == "ticket_burst"
    assert (both["observed"] == both["tickets_14d"].where(bursts, both["events_7d"])).all()
    # is_new: the first of a run of consecutive days; re-derived from the keys alone.
    ordered = published.sort_values(KEY)
    gap = ordered.groupby(["account_id", "alert_type"])["as_of_date"].diff()
    assert (ordered["is_new"] == (gap != dt.timedelta(days=1))).all()
    # Reasons carry the figures.
    usage = published[published["alert_type"] == "usage_drop"].iloc[0]
    assert usage["reason"].startswith(
        f"Product use per seat down {round(100 * (1 - usage['ratio'])):.0f}%"
    )
    assert f"({usage['seats']} seats)" in usage["reason"]


def _truth(ml_data: MLData) -> tuple[pd.DataFrame, pd.DataFrame]:
    daily = pd.read_parquet(ml_data.truth / "account_daily.parquet")
    daily["date"] = pd.to_datetime(daily["date"]).dt.date
    accounts = pd.read_parquet(ml_data.truth / "accounts.parquet")
    return daily, accounts


def usage_drop_evidence(alerts: pd.DataFrame, daily: pd.DataFrame, accounts: pd.DataFrame):
    """Precision and recall of the usage-drop alert against the planted truth.

    precision: share of alert days whose account was at risk (the hidden state that drives
    the usage decline) on some day of the alert's last 7 data days; base rate: the same for
    every account-day that could alert. Recall by episode: share of at-risk stretches of 14+
    days (starting once 35 days of history exist) with an alert while they last or within 7
    days after. Recall by churn: share of churns (after day 42) alerted in the 30 days before.
    """
    daily = daily.sort_values(["account_id", "date"])
    risk = daily.pivot(index="date", columns="account_id", values="at_risk").astype(float)
    # at risk on any of D-7..D-1, for each as-of day D
    recent = risk.fillna(0).rolling(7, min_periods=1).max().shift(1).fillna(0).astype(bool)
    recent = recent.stack().rename("recent_risk").reset_index()
    recent.columns = ["as_of_date", "account_id", "recent_risk"]
    usage = alerts[alerts["alert_type"] == "usage_drop"]
    scored = usage.merge(recent, on=["as_of_date", "account_id"], how="left")
    precision = scored["recent_risk"].eq(True).mean()
    start = daily["date"].min()
    eligible = recent[recent["as_of_date"] >= start + dt.timedelta(days=35)]
    base_rate = eligible["recent_risk"].mean()

    d = daily.copy()
    d["episode"] = d.groupby("account_id")["at_risk"].transform(lambda s: (s != s.shift()).cumsum())
    episodes = (
        d[d["at_risk"]].groupby(["account_id", "episode"])["date"].agg(["min", "max", "count"])
    )
    episodes = episodes[
        (episodes["count"] >= 14) & (episodes["min"] >= start + dt.timedelta(days=35))
    ].reset_index()
    hits = episodes.merge(usage[["account_id", "as_of_date"]], on="account_id", how="left")
    data_day = pd.to_datetime(hits["as_of_date"]) - pd.Timedelta(days=1)
    hits["hit"] = (data_day >= pd.to_datetime(hits["min"])) & (
        data_day <= pd.to_datetime(hits["max"]) + pd.Timedelta(days=7)
    )
    episode_recall = hits.groupby(["account_id", "episode"])["hit"].any().mean()

    churned = accounts.dropna(subset=["churn_date"]).copy()
    churned["churn_date"] = pd.to_datetime(churned["churn_date"]).dt.date
    churned = churned[churned["churn_date"] >= start + dt.timedelta(days=42)]
    near = churned.merge(usage[["account_id", "as_of_date"]], on="account_id", how="left")
    gap = (pd.to_datetime(near["churn_date"]) - pd.to_datetime(near["as_of_date"])).dt.days
    near["hit"] = gap.between(0, 30)
    churn_recall = near.groupby("account_id")["hit"].any().mean()
    return {
        "alerts": len(usage),
        "precision": float(precision),
        "base_rate": float(base_rate),
        "episodes": len(episodes),
        "episode_recall": float(episode_recall),
        "churns": len(churned),
        "churn_recall": float(churn_recall),
    }


def test_usage_drop_alerts_find_the_planted_declines(ml_data: MLData, alert_world) -> None:
    published, _ = alert_world
    daily, accounts = _truth(ml_data)
    e = usage_drop_evidence(published, daily, accounts)
    print(e)  # docs/alerts.md has this world's figures and the demo's
    # Measured (seed 5): 7,096 alert-days, precision 0.55 against a base rate of 0.16,
    # episode recall 0.44, churn recall 0.26; the floors leave room for generator changes.
    assert e["alerts"] > 1000
    assert e["precision"] >= 0.45 and e["precision"] >= 2.5 * e["base_rate"]
    assert e["episode_recall"] >= 0.35
    assert e["churn_recall"] >= 0.18


def test_burst_alert_does_not_flag_accounts_for_size(ml_data: MLData, alert_world) -> None:
    """The absolute rule (4+ tickets in 14 days) fires disproportionately on large accounts, whose
    volume grows with size; the burst against the account's own rate does not, and its
    account-days churn more often (relative risk, as docs/realism.md measures it)."""
    published, _ = alert_world
    daily, _ = _truth(ml_data)
    with ml_data.connect() as con:
        days = con.execute(
            """SELECT account_id, as_of_date, seats, tickets_14d >= 4 AS absolute
               FROM features.feat_account_daily
               WHERE account_status = 'active' AND history_days >= 90"""
        ).df()
    days["as_of_date"] = pd.to_datetime(days["as_of_date"]).dt.date
    bursts = published.loc[published["alert_type"] == "ticket_burst", ["account_id", "as_of_date"]]
    days = days.merge(bursts.assign(burst=True), how="left")
    days["burst"] = days["burst"].eq(True)
    labels = daily.rename(columns={"date": "as_of_date"})
    days = days.merge(labels[["account_id", "as_of_date", "churned_within_90d"]], how="inner")
    days = days.dropna(subset=["churned_within_90d"])
    large = days["seats"] >= days["seats"].quantile(0.9)
    share_large = {rule: large[days[rule]].mean() for rule in ("absolute", "burst")}

    def relative_risk(flag: pd.Series) -> float:
        churned = days["churned_within_90d"].astype(float)
        return churned[flag].mean() / churned[~flag].mean()

    risk = {rule: relative_risk(days[rule]) for rule in ("absolute", "burst")}
    print(share_large, risk, large.mean())
    # Measured (seed 5): the top decile of seats holds 29% of the absolute rule's flags and
    # 5% of the bursts; relative risk 0.83 (absolute) vs 1.68 (burst).
    assert share_large["absolute"] >= 2 * large.mean()  # flagged for size
    assert share_large["burst"] <= large.mean()  # no more than their share of days
    assert risk["burst"] >= 1.5 and risk["burst"] > risk["absolute"]


def test_the_refresh_delivered_the_newest_day_as_csv(ml_data: MLData, alert_world) -> None:
    published, _ = alert_world
    keys = {
        e.asset_key.to_user_string()
        for e in ml_data.result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert "alerts/daily_alerts" in keys
    csv = pd.read_csv(ml_data.warehouse.parent / ALERTS_CSV)
    newest = published[published["as_of_date"] == published["as_of_date"].max()]
    assert sorted(csv["account_id"] + csv["alert_type"]) == sorted(
        newest["account_id"] + newest["alert_type"]
    )


# --- the webhook, the asset and the CLI on a hand-made serving file ------------------------

DAY = dt.date(2026, 5, 10)


def write_serving(path: Path, rows: list[tuple]) -> Path:
    """A serving file with just marts.fct_account_alerts: (account, day, type, new, ratio)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            """CREATE TABLE marts.fct_account_alerts (account_id VARCHAR, as_of_date DATE,
               data_through_date DATE, alert_type VARCHAR, is_new BOOLEAN, reason VARCHAR,
               observed DOUBLE, baseline DOUBLE, ratio DOUBLE, segment VARCHAR, tier VARCHAR,
               seats INTEGER, arr DOUBLE)"""
        )
        for account, day, kind, new, ratio in rows:
            con.execute(
                "INSERT INTO marts.fct_account_alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "'smb', 'standard', 10, 12000)",
                [account, day, day - dt.timedelta(days=1), kind, new,
                 f"{kind} of {account}: {ratio:.1f}x", ratio * 10, 10.0, ratio],
            )  # fmt: skip
    return path


ROWS = [
    ("AC000001", DAY - dt.timedelta(days=1), "usage_drop", True, 0.4),
    ("AC000001", DAY, "usage_drop", False, 0.3),
    ("AC000002", DAY, "ticket_burst", True, 3.0),
    ("AC000003", DAY, "usage_drop", True, 0.5),
]


class Hook(BaseHTTPRequestHandler):
    """Records each POST body; answers with the status the server was given."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@contextmanager
def webhook_server(status: int = 200) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.received, server.status = [], status
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret-token"


def test_webhook_posts_the_new_alerts_once_over_http(tmp_path) -> None:
    serving = write_serving(tmp_path / "serving.duckdb", ROWS)
    with webhook_server() as server:
        first = deliver(serving, tmp_path, url(server))
        again = deliver(serving, tmp_path, url(server))
    assert (first.day, first.alerts, first.new_alerts, first.posted) == (DAY, 3, 2, 2)
    assert (first.webhook, again.webhook, again.posted) == ("posted", "nothing new", 0)
    assert len(server.received) == 1
    content_type, payload = server.received[0]
    assert content_type == "application/json"
    assert payload["text"] == (
        "supportops: 2 new account alerts for 2026-05-10 (1 usage drop, 1 ticket burst)"
    )
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"][1:]
    assert sections == [
        "*Ticket burst* · `AC000002` (smb, standard)\nticket_burst of AC000002: 3.0x",
        "*Usage drop* · `AC000003` (smb, standard)\nusage_drop of AC000003: 0.5x",
    ]
    # The CSV holds the whole day, the continuing alert too.
    csv = pd.read_csv(tmp_path / ALERTS_CSV)
    assert sorted(csv["account_id"]) == ["AC000001", "AC000002", "AC000003"]


def test_an_erased_account_leaves_the_webhook_state(tmp_path) -> None:
    """Posted: AC000002's burst and AC000003's drop. Erasing AC000002 (and an account never
    posted) keeps AC000003's key only, the day, and no staging file beside the state."""
    serving = write_serving(tmp_path / "serving.duckdb", ROWS)
    with webhook_server() as server:
        deliver(serving, tmp_path, url(server))
    state = tmp_path / WEBHOOK_STATE
    assert forget_accounts(state, ["AC000002", "AC999999"]) == 1
    assert json.loads(state.read_text()) == {
        "day": "2026-05-10", "posted": ["2026-05-10|AC000003|usage_drop"]
    }  # fmt: skip
    assert forget_accounts(state, ["AC000002"]) == 0
    assert forget_accounts(tmp_path / "no_state.json", ["AC000003"]) == 0
    assert sorted(p.name for p in state.parent.iterdir()) == ["alerts.csv", state.name]


def test_a_long_day_is_summarised_within_slacks_block_limit() -> None:
    alerts = pd.DataFrame(
        {"account_id": [f"AC{i:06d}" for i in range(60)], "alert_type": "usage_drop",
         "segment": "smb", "tier": "standard", "reason": "r"}
    )  # fmt: skip
    payload = slack_payload(alerts, DAY)
    assert len(payload["blocks"]) == 2 + MAX_LISTED + 1 <= 50
    assert payload["blocks"][-1]["elements"][0]["text"].startswith(f"… and {60 - MAX_LISTED} more")


def test_webhook_failures_are_reported_not_raised(tmp_path) -> None:
    serving = write_serving(tmp_path / "serving.duckdb", ROWS)
    with webhook_server(status=500) as server:
        refused = deliver(serving, tmp_path, url(server))
    assert (
        refused.webhook == "failed: webhook at " + url(server).split("/")[2] + " answered HTTP 500"
    )
    assert "secret-token" not in refused.webhook
    # Nothing was recorded as posted: the next delivery tries again (here: nobody listens).
    unreachable = deliver(serving, tmp_path, url(server))
    assert unreachable.failed and "unreachable" in unreachable.webhook
    assert (tmp_path / ALERTS_CSV).exists()


def test_the_asset_reports_a_failed_webhook_as_a_warning(tmp_path) -> None:
    serving = write_serving(tmp_path / "serving.duckdb", ROWS)
    resources = {
        "warehouse": DuckDBResource(database=str(tmp_path / "warehouse.duckdb")),
        "serving": ServingResource(path=str(serving)),
    }
    with webhook_server(status=503) as server, use_settings(alerts_webhook=url(server)):
        result = dg.materialize([daily_alerts], resources=resources)
    assert result.success  # the refresh goes on
    (check,) = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert (check.check_name, check.passed) == (WEBHOOK_CHECK, False)
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert len(server.received) == 1
    (materialization,) = result.asset_materializations_for_node("alerts__daily_alerts")
    assert materialization.metadata["new_alerts"].value == 2


def test_cli_alerts_json(tmp_path) -> None:
    write_serving(tmp_path / "data" / "serving.duckdb", ROWS)
    newest = json.loads(run_cli(tmp_path, "alerts", "--json", check=True).stdout)
    assert [(r["account_id"], r["alert_type"], r["is_new"]) for r in newest] == [
        ("AC000002", "ticket_burst", True),
        ("AC000001", "usage_drop", False),
        ("AC000003", "usage_drop", True),
    ]
    assert newest[0]["as_of_date"].startswith("2026-05-10")
    day_before = json.loads(
        run_cli(tmp_path, "alerts", "--day", "2026-05-09", "--json", check=True).stdout
    )
    assert [r["account_id"] for r in day_before] == ["AC000001"]
    only_new = json.loads(run_cli(tmp_path, "alerts", "--new", "--json", check=True).stdout)
    assert sorted(r["account_id"] for r in only_new) == ["AC000002", "AC000003"]
    bad = run_cli(tmp_path, "alerts", "--day", "10/05/2026")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
