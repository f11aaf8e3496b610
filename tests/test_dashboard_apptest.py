"""Every dashboard page under Streamlit's AppTest, on the tiny published warehouse.

Expected tile values are recomputed with pandas from the rows of `marts.fct_tickets`,
`marts.dim_accounts` and the cost model seed (the definitions in docs/metrics.md), never by
calling the app's SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dashboard_fixtures import (
    APP,
    CHAMPIONS,
    LATEST_DRIFT_DETECTED,
    OUTREACH,
    QUARANTINED_DUPLICATES,
    add_ml_and_quarantine,
    copy_serving,
    fixture_action,
    read_table,
)
from streamlit.testing.v1 import AppTest

from serving import kpi_registry as registry

PAGES = {
    "pages/operations.py": "Operations",
    "pages/outreach.py": "Outreach",
    "pages/review.py": "Review",
    "pages/alerts.py": "Account alerts",
    "pages/models.py": "Models",
    "pages/quality.py": "Data quality",
}


@pytest.fixture(scope="module")
def plain_dir(tiny_pipeline, tmp_path_factory) -> Path:
    """A data dir holding the tiny serving file as the pipeline published it (no `ml`)."""
    directory = tmp_path_factory.mktemp("plain")
    copy_serving(tiny_pipeline.serving, directory)
    return directory


@pytest.fixture(scope="module")
def ml_dir(tiny_pipeline, tmp_path_factory) -> tuple[Path, dict[int, float]]:
    """A data dir whose serving file also holds the `ml` tables and a few quarantined rows."""
    directory = tmp_path_factory.mktemp("with_ml")
    probabilities = add_ml_and_quarantine(copy_serving(tiny_pipeline.serving, directory))
    return directory, probabilities


def run_app(monkeypatch, data_dir: Path, page: str | None = None) -> AppTest:
    monkeypatch.setenv("SUPPORTOPS_DATA_DIR", str(data_dir))
    app = AppTest.from_file(str(APP), default_timeout=180)
    app.run()
    if page:
        app.switch_page(page)
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in app.metric}


# --- the independent computation -------------------------------------------------------


def _flag(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].fillna(False).astype(bool)


def ticket_frame(serving: Path) -> pd.DataFrame:
    """fct_tickets rows with the account's segment as of the creation day and each ticket's
    cost from the cost model seed (prices in force on the creation day)."""
    tickets = read_table(serving, "marts.fct_tickets")
    tickets["created_date"] = pd.to_datetime(tickets["created_date"])
    accounts = read_table(serving, "marts.dim_accounts")
    versions = tickets[["ticket_id", "account_id", "created_date"]].merge(accounts, on="account_id")
    valid = (versions["created_date"] >= pd.to_datetime(versions["valid_from"])) & (
        versions["valid_to"].isna()
        | (versions["created_date"] < pd.to_datetime(versions["valid_to"]))
    )
    segments = versions[valid].set_index("ticket_id")["segment"]
    tickets["segment"] = tickets["ticket_id"].map(segments).fillna("unknown")

    prices = read_table(serving, "seeds.cost_model")
    prices["effective_from"] = pd.to_datetime(prices["effective_from"])

    def price(item: str, tier: str, day: pd.Timestamp) -> float:
        rows = prices[(prices["cost_item"] == item) & prices["tier"].isin([tier, "all"])]
        return float(
            rows[rows["effective_from"] <= day].sort_values("effective_from").iloc[-1]["amount_usd"]
        )

    per_day = tickets.groupby("created_date")["ticket_id"].transform("count")
    tickets["cost_usd"] = [
        handle / 3600 * price("agent_hour", tier, day)
        + (price("bot_conversation", tier, day) if bots > 0 else 0.0)
        + price("platform_day", tier, day) / n
        for handle, bots, tier, day, n in zip(
            tickets["handle_seconds"].fillna(0), tickets["bot_replies"], tickets["tier"],
            tickets["created_date"], per_day, strict=True,
        )
    ]  # fmt: skip
    return tickets


def expected_kpis(tickets: pd.DataFrame, first: dt.date, last: dt.date, **dims) -> dict:
    """Every registered KPI over the filtered tickets, with pandas."""
    t = tickets[tickets["created_date"].between(pd.Timestamp(first), pd.Timestamp(last))]
    for column, values in dims.items():
        t = t[t[column].isin(values)]
    responded = _flag(t, "has_csat_response")
    satisfied = _flag(t, "is_csat_satisfied")
    automated = t["handling_path"] == "automated"
    human = t["handling_path"].isin(["agent", "assisted"])
    csat_auto = satisfied[automated].sum() / responded[automated].sum()
    csat_human = satisfied[human].sum() / responded[human].sum()
    fr = _flag(t, "is_sla_first_response_applicable")
    res = _flag(t, "is_sla_resolution_applicable")
    fr_breached = fr & _flag(t, "is_sla_first_response_breached")
    res_breached = res & _flag(t, "is_sla_resolution_breached")
    under_sla = fr | res
    eligible = _flag(t, "is_fcr_eligible")
    fcr = _flag(t, "is_fcr")
    return {
        "containment_rate": _flag(t, "is_contained").sum() / _flag(t, "is_bot_handled").sum(),
        "csat": satisfied.sum() / responded.sum(),
        "csat_automated": csat_auto,
        "csat_human": csat_human,
        "csat_delta_pp": (csat_auto - csat_human) * 100,
        "csat_automated_responses": int(responded[automated].sum()),
        "csat_human_responses": int(responded[human].sum()),
        "aht_minutes": t["handle_seconds"].fillna(0).sum() / 60 / _flag(t, "has_agent_touch").sum(),
        "cost_per_ticket_usd": t["cost_usd"].sum() / len(t),
        "cost_per_live_contact_usd": t.loc[human, "cost_usd"].sum() / human.sum(),
        "sla_first_response_attainment": 1 - fr_breached.sum() / fr.sum(),
        "sla_resolution_attainment": 1 - res_breached.sum() / res.sum(),
        "sla_all_met_rate": (under_sla & ~fr_breached & ~res_breached).sum() / under_sla.sum(),
        "fcr_agent_handled": (fcr & human).sum() / (eligible & human).sum(),
        "fcr_all_paths": fcr.sum() / eligible.sum(),
        "escalation_rate": _flag(t, "is_escalated").mean(),
        "reopen_rate": _flag(t, "is_reopened").mean(),
    }


def tile_values(e: dict, page: str) -> dict[str, str]:
    """The tiles a page must show: label and value of each tile KPI registered for it."""
    return {
        k.label: registry.format_value(k.unit, e[k.name]) for k in registry.on_page(page) if k.tile
    }


def executive_values(e: dict) -> dict[str, str]:
    return tile_values(e, "executive")


# --- the pages -------------------------------------------------------------------------

LAST_WEEK = dt.date(2026, 5, 8), dt.date(2026, 5, 14)
WEEK_BEFORE = dt.date(2026, 5, 1), dt.date(2026, 5, 7)


@pytest.fixture(scope="module")
def tickets(tiny_pipeline) -> pd.DataFrame:
    return ticket_frame(tiny_pipeline.serving)


def test_executive_tiles_match_pandas_and_follow_filters(monkeypatch, plain_dir, tickets):
    app = run_app(monkeypatch, plain_dir)
    assert app.title[0].value == "Executive"
    start, end = app.date_input(key="dates").value
    assert (start, end) == (tickets["created_date"].min().date(), LAST_WEEK[1])
    whole = expected_kpis(tickets, start, end)
    assert {k: v for k, (v, _) in metrics(app).items()} == executive_values(whole)
    csat_caption = next(c.value for c in app.caption if "vs CSAT human" in c.value)
    assert f"n={whole['csat_automated_responses']:,}," in csat_caption
    assert f"n={whole['csat_human_responses']:,}," in csat_caption

    app.date_input(key="dates").set_value(LAST_WEEK).run()
    now = expected_kpis(tickets, *LAST_WEEK)
    before = expected_kpis(tickets, *WEEK_BEFORE)
    shown = metrics(app)
    assert {k: v for k, (v, _) in shown.items()} == executive_values(now)
    change = (now["containment_rate"] - before["containment_rate"]) * 100
    assert shown["Containment rate"][1] == f"{change:+.1f} pp"
    assert shown["Cost per ticket"][1].endswith(
        f"${abs(now['cost_per_ticket_usd'] - before['cost_per_ticket_usd']):,.2f}"
    )

    app.multiselect(key="tier").set_value(["standard"]).run()
    app.multiselect(key="segment").set_value(["smb", "mid_market"]).run()
    assert not app.exception
    filtered = expected_kpis(tickets, *LAST_WEEK, tier=["standard"], segment=["smb", "mid_market"])
    values = {k: v for k, (v, _) in metrics(app).items()}
    assert values == executive_values(filtered)
    assert values != executive_values(now)


def test_operations_tiles_and_open_tickets_by_risk(monkeypatch, plain_dir, ml_dir, tickets):
    app = run_app(monkeypatch, plain_dir, "pages/operations.py")
    app.date_input(key="dates").set_value(LAST_WEEK).run()
    app.multiselect(key="channel").set_value(["email", "chat"]).run()
    e = expected_kpis(tickets, *LAST_WEEK, channel=["email", "chat"])
    shown = metrics(app)
    assert {k: v for k, (v, _) in shown.items()} == tile_values(e, "operations")
    assert shown["First-response SLA met"][0] == f"{e['sla_first_response_attainment']:.1%}"
    assert shown["All SLAs met"][0] == f"{e['sla_all_met_rate']:.1%}"
    assert shown["FCR, agent-handled"][0] == f"{e['fcr_agent_handled']:.1%}"
    assert "SLA compliance" not in shown
    # A benchmark only beside the figure of its population: HDI's 66% by agent-handled FCR.
    captions = [c.value for c in app.caption]
    assert any(c.startswith("target ≥ 66.0%") and "agent and assisted" in c for c in captions)
    assert not any("66.0%" in c and "bot-only" in c for c in captions)
    assert any("No models trained yet" in i.value for i in app.info)
    # Reply and resolution spreads per tier, from the filtered tickets by pandas: the tables'
    # tickets, median and p90, and the boxes' quartiles and whiskers (the furthest tickets
    # within 1.5 interquartile ranges of the box).
    first, last = (pd.Timestamp(d) for d in LAST_WEEK)
    chosen = tickets[tickets["created_date"].between(first, last)
                     & tickets["channel"].isin(["email", "chat"])]  # fmt: skip
    tables = [
        d.value for d in app.dataframe if list(d.value.columns) == ["tickets", "median", "p90"]
    ]
    boxes = [json.loads(c.proto.spec)["data"] for c in app.get("plotly_chart")]
    boxes = [b for b in boxes if b and b[0]["type"] == "box"]
    assert len(tables) == len(boxes) == 2
    for table, drawn, field in zip(tables, boxes, ["first_reply_minutes", "full_resolution_minutes"],
                                   strict=True):  # fmt: skip
        minutes = chosen.dropna(subset=[field]).groupby("tier")[field]
        expected = pd.DataFrame({"tickets": minutes.size(), "median": minutes.quantile(0.5),
                                 "p90": minutes.quantile(0.9)}).round(1)  # fmt: skip
        pd.testing.assert_frame_equal(table, expected, check_dtype=False, check_names=False)
        assert [b["name"] for b in drawn] == list(expected.index)
        for box in drawn:
            x = chosen.loc[chosen["tier"] == box["name"], field].dropna()
            q1, q3 = x.quantile(0.25), x.quantile(0.75)
            assert box["q1"] == [pytest.approx(q1)] and box["q3"] == [pytest.approx(q3)]
            assert box["lowerfence"] == [pytest.approx(x[x >= q1 - 1.5 * (q3 - q1)].min())]
            assert box["upperfence"] == [pytest.approx(x[x <= q3 + 1.5 * (q3 - q1)].max())]

    # The segment filter is on this page too now that the KPI mart's grain has the segment.
    app.multiselect(key="segment").set_value(["enterprise"]).run()
    assert not app.exception
    enterprise = expected_kpis(
        tickets, *LAST_WEEK, channel=["email", "chat"], segment=["enterprise"]
    )
    values = {k: v for k, (v, _) in metrics(app).items()}
    assert values == tile_values(enterprise, "operations")
    assert values != tile_values(e, "operations")

    directory, probabilities = ml_dir
    app = run_app(monkeypatch, directory, "pages/operations.py")
    assert not any("No models trained yet" in i.value for i in app.info)
    ranked = app.dataframe[-1].value
    expected = sorted(probabilities, key=probabilities.get, reverse=True)
    assert list(ranked["ticket_id"]) == expected
    assert list(ranked["escalation_probability"]) == [probabilities[t] for t in expected]


def test_review_lists_the_open_tickets_the_policy_flags_by_action(monkeypatch, ml_dir):
    """The newest score's action decides (the older scores say senior_review for all, the
    resolved ticket too): by default the flags, riskiest first; the filter shows others."""
    directory, probabilities = ml_dir
    app = run_app(monkeypatch, directory, "pages/review.py")
    by_action = {a: sorted((t for t, p in probabilities.items() if fixture_action(p) == a),
                           key=probabilities.get, reverse=True)
                 for a in ("senior_review", "human_approval", "route")}  # fmt: skip
    assert all(by_action.values()), by_action  # the fixture has tickets of each action
    listed = app.dataframe[0].value
    flagged = sorted(by_action["senior_review"] + by_action["human_approval"],
                     key=probabilities.get, reverse=True)  # fmt: skip
    assert list(listed["ticket_id"]) == flagged
    assert list(listed["action"]) == [fixture_action(probabilities[t]) for t in flagged]
    assert set(listed["policy_version"]) == {"triage-v1+escalation-v1"}
    assert app.selectbox(key="review_ticket").options == [str(t) for t in flagged]
    app.multiselect(key="actions").set_value(["route"]).run()
    assert list(app.dataframe[0].value["ticket_id"]) == by_action["route"]
    app.multiselect(key="actions").set_value(["bot_answer"]).run()
    assert app.dataframe[0].value.empty


def test_outreach_lists_filters_and_downloads(monkeypatch, plain_dir, ml_dir):
    app = run_app(monkeypatch, plain_dir, "pages/outreach.py")
    assert any("No models trained yet" in i.value and "make demo" in i.value for i in app.info)

    app = run_app(monkeypatch, ml_dir[0], "pages/outreach.py")
    assert metrics(app)["Accounts to contact"][0] == str(len(OUTREACH))
    assert list(app.dataframe[0].value["rank"]) == [r[0] for r in OUTREACH]
    assert list(app.dataframe[0].value["reason_1"].unique()) == ["usage down 40%"]

    app.slider(key="min_p").set_value(0.5).run()
    app.multiselect(key="outreach_owner").set_value(["ana"]).run()
    keep = [r for r in OUTREACH if r[3] >= 0.5 and r[2] == "ana"]
    assert list(app.dataframe[0].value["rank"]) == [r[0] for r in keep]
    assert metrics(app)["Revenue at risk"][0] == f"${sum(10000 * r[3] for r in keep):,.0f}"
    app.multiselect(key="outreach_segment").set_value(["smb"]).run()
    assert app.dataframe[0].value.empty
    download = app.download_button
    assert len(download) == 1


def test_alerts_page_lists_the_days_alerts_with_owners(monkeypatch, tiny_pipeline, tmp_path):
    copy_serving(tiny_pipeline.serving, tmp_path / "none")
    app = run_app(monkeypatch, tmp_path / "none", "pages/alerts.py")
    assert any("No alert has fired yet" in i.value for i in app.info)  # 14 days: no baseline

    serving = copy_serving(tiny_pipeline.serving, tmp_path / "alerts")
    with duckdb.connect(str(serving)) as con:
        accounts = con.execute(
            "SELECT account_id, account_owner FROM marts.dim_accounts WHERE is_current "
            "ORDER BY account_id LIMIT 3"
        ).fetchall()
        day = dt.date(2026, 5, 15)
        rows = [(accounts[0][0], "usage_drop", True, 1000.0),
                (accounts[1][0], "ticket_burst", False, 3000.0),
                (accounts[2][0], "usage_drop", True, 2000.0)]  # fmt: skip
        for account, kind, new, arr in rows:
            con.execute(
                "INSERT INTO marts.fct_account_alerts VALUES (?, ?, ?, ?, ?, 'why', 1, 2, 0.5, "
                "'smb', 'standard', 5, ?)",
                [account, day, day - dt.timedelta(days=1), kind, new, arr],
            )
    app = run_app(monkeypatch, serving.parent, "pages/alerts.py")
    shown = metrics(app)
    assert (shown["Alerts"][0], shown["New today"][0]) == ("3", "2")
    assert shown["ARR of these accounts"][0] == "$6,000"
    table = app.dataframe[0].value
    assert list(table["account_id"]) == [accounts[2][0], accounts[0][0], accounts[1][0]]
    assert list(table["owner"]) == [accounts[2][1], accounts[0][1], accounts[1][1]]
    app.multiselect(key="alerts_type").set_value(["ticket_burst"]).run()
    assert list(app.dataframe[0].value["account_id"]) == [accounts[1][0]]


def test_models_page(monkeypatch, plain_dir, ml_dir):
    app = run_app(monkeypatch, plain_dir, "pages/models.py")
    assert any("No models trained yet" in i.value for i in app.info)

    app = run_app(monkeypatch, ml_dir[0], "pages/models.py")
    champions = app.dataframe[0].value
    assert dict(zip(champions["task"], champions["version"], strict=True)) == CHAMPIONS
    # the review labels each champion trained on, from its card (churn-v2: 1, escalation-v1: 2)
    assert dict(zip(champions["version"], champions["review_labels"], strict=True)) == {
        "churn-v2": 1, "escalation-v1": 2
    }  # fmt: skip
    evaluations = app.dataframe[2].value
    assert set(evaluations["version"]) == set(CHAMPIONS.values())
    # champion, logistic, the rule baseline under its name, ceiling (stored in another order)
    assert list(evaluations["scorer"][:4]) == ["model", "logistic", "health_score", "ceiling"]
    assert app.dataframe[3].value.empty  # the fixture's cards carry no named signals
    drift = app.dataframe[4].value
    assert {(r.task, r.kind): bool(r.detected) for r in drift.itertuples()} == LATEST_DRIFT_DETECTED
    reports = [b.label for b in app.download_button]
    assert reports == [f"Drift report: {task}, {kind}" for task, kind in LATEST_DRIFT_DETECTED]
    assert all(
        str(p).endswith(f"{t}-{k}.html")
        for t, k, p in drift[["task", "kind", "report_path"]].itertuples(index=False)
    )
    detected = sum(LATEST_DRIFT_DETECTED.values())
    assert metrics(app)["Drift checks with drift detected"][0] == f"{detected} of {len(drift)}"


def test_quality_page(monkeypatch, tiny_pipeline, plain_dir, ml_dir):
    checks = read_table(tiny_pipeline.serving, "quality.check_results")
    latest = checks[checks["checked_at"] == checks.groupby("suite")["checked_at"].transform("max")]
    app = run_app(monkeypatch, plain_dir, "pages/quality.py")
    shown = metrics(app)
    assert shown["Checks in the latest runs"][0] == f"{len(latest):,}"
    failed = latest[~latest["success"].astype(bool)]
    assert shown["Failed, critical"][0] == str((failed["severity"] == "critical").sum())
    gates = app.dataframe[0].value
    assert gates["checks"].sum() == len(latest)
    assert gates["failed"].sum() == len(failed)
    assert set(gates["suite"]) == set(latest["suite"])
    freshness = app.dataframe[2].value
    assert set(freshness["table_name"]) == set(
        read_table(tiny_pipeline.serving, "main.raw_summary")["table_name"]
    )
    assert any("No quarantined rows" in s.value for s in app.success)

    app = run_app(monkeypatch, ml_dir[0], "pages/quality.py")
    quarantine = app.dataframe[-1].value
    assert quarantine.to_dict("records") == [
        {"table_name": "helpdesk_tickets", "fault_kind": "duplicate", "field": "-",
         "quarantined": QUARANTINED_DUPLICATES}
    ]  # fmt: skip


def test_no_serving_file_says_run_make_demo(monkeypatch, tmp_path):
    app = run_app(monkeypatch, tmp_path)
    assert any("make demo" in i.value for i in app.info)
    assert not app.metric


def test_every_page_renders_without_exception(monkeypatch, ml_dir):
    app = run_app(monkeypatch, ml_dir[0])
    for page, title in PAGES.items():
        app.switch_page(page)
        app.run()
        assert not app.exception, (page, [e.value for e in app.exception])
        assert app.title[0].value == title


@pytest.mark.parametrize("page", ["executive", "operations"])
def test_every_registered_kpi_renders_on_its_page(monkeypatch, plain_dir, tickets, page):
    """A tile KPI shows as a metric with its pandas value; every KPI of the page, tile or
    not, is a column of the page's KPI table."""
    app = run_app(monkeypatch, plain_dir, None if page == "executive" else f"pages/{page}.py")
    app.date_input(key="dates").set_value(LAST_WEEK).run()
    assert not app.exception
    shown = {k: v for k, (v, _) in metrics(app).items()}
    assert shown == tile_values(expected_kpis(tickets, *LAST_WEEK), page)
    columns = set().union(*(set(d.value.columns) for d in app.dataframe))
    for k in registry.on_page(page):
        assert k.label in columns, (page, k.label)
