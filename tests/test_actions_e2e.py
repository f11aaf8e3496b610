"""Decisions recorded from the CLI and the dashboards reach the warehouse after a refresh,
and the Outreach page shows the uplift of a hand-built set of outcomes.

On a private copy of the tiny pipeline's warehouse, with a serving copy holding known `ml`
tables (tests/dashboard_fixtures.py): `supportops review` and `supportops outreach record`
run as a user runs them, the Review and Outreach pages record through their controls
(Streamlit AppTest), then a lean refresh (the actions store and what depends on it, dbt
included) builds the marts that must hold them.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import dagster as dg
import duckdb
import pytest
from dashboard_fixtures import (
    APP,
    add_ml_and_quarantine,
    copy_serving,
    fixture_action,
    read_table,
)
from streamlit.testing.v1 import AppTest

from extracts import actions
from ml.feedback import review_labels
from orchestration.defs.actions import actions_store
from orchestration.runs import run_refresh
from tests.conftest import landed_days, run_cli

pytestmark = pytest.mark.e2e


def _app(monkeypatch, data_dir, page: str) -> AppTest:
    monkeypatch.setenv("SUPPORTOPS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("SUPPORTOPS_ACTIONS", raising=False)
    app = AppTest.from_file(str(APP), default_timeout=180)
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_recorded_decisions_reach_the_warehouse_after_a_refresh(tiny_pipeline, tmp_path, monkeypatch):  # fmt: skip
    data = tmp_path / "data"
    data.mkdir()
    warehouse = data / "warehouse.duckdb"
    shutil.copy(tiny_pipeline.warehouse, warehouse)
    probabilities = add_ml_and_quarantine(copy_serving(tiny_pipeline.serving, data))
    listed = read_table(data / "serving.duckdb", "ml.outreach_list")["account_id"].tolist()
    # The fixture's list is as of 2026-06-01 (2026-Q2): two listed accounts not held out.
    free = [
        a
        for a, held in zip(listed, actions.in_holdout(listed, "2026-Q2", 0.2), strict=True)
        if not held
    ]
    assert len(free) >= 2, listed
    by_risk = sorted(probabilities, key=probabilities.get, reverse=True)
    cli_ticket, page_ticket = by_risk[0], by_risk[1]

    # What a reviewer works through: the tickets whose newest score the policy flags.
    def listed_by_cli(*args: str) -> list[int]:
        done = run_cli(tmp_path, "review", "--json", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return [row["ticket_id"] for row in json.loads(done.stdout)]

    flagged = [t for t in by_risk if fixture_action(probabilities[t]) != "route"]
    assert cli_ticket in flagged and page_ticket in flagged
    assert listed_by_cli() == flagged
    assert listed_by_cli("--action", "route") == [t for t in by_risk if t not in flagged]
    assert run_cli(tmp_path, "review", "--action", "escalate").returncode == 2

    done = run_cli(tmp_path, "review", str(cli_ticket), "override", "--reason", "not_urgent",
                   "--reviewer", "lead@example.com")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    done = run_cli(tmp_path, "outreach", "record", free[0], "--outcome", "renewed")
    assert done.returncode == 0, done.stdout + done.stderr

    review = _app(monkeypatch, data, "pages/review.py")
    review.selectbox(key="review_ticket").set_value(page_ticket)
    review.radio(key="review_decision").set_value("accept")
    review.button(key="record_review").click().run()
    assert not review.exception, [e.value for e in review.exception]
    assert any(f"ticket {page_ticket} accept" in s.value for s in review.success)
    outreach = _app(monkeypatch, data, "pages/outreach.py")
    outreach.selectbox(key="contact_account").set_value(free[1])
    outreach.selectbox(key="contact_outcome").set_value("no_answer")
    outreach.button(key="record_contact").click().run()
    assert any(f"{free[1]} no_answer" in s.value for s in outreach.success)

    # Nothing in the warehouse until the refresh.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_review_decisions").fetchone() == (0,)
    last = landed_days(tiny_pipeline.landing)[-1]
    selection = dg.AssetSelection.assets(actions_store).downstream()
    result = run_refresh(
        tiny_pipeline.landing, warehouse, data / "serving.duckdb", last, last, selection=selection
    )
    assert result.success

    with duckdb.connect(str(warehouse), read_only=True) as con:
        reviews = con.execute(
            "select ticket_id, decision, decision_reason, model_version, escalation_probability, "
            "reviewer_role, reviewer_hash is not null, review_label from marts.fct_review_decisions "
            "order by decision_id"
        ).fetchall()
        labels = review_labels(con)
        outcomes = con.execute(
            "select account_id, outreach_period, arm, listed_on, latest_outcome, is_mature "
            "from marts.fct_outreach_outcomes order by account_id"
        ).fetchall()
    assert reviews == [
        (cli_ticket, "override", "not_urgent", "escalation-v1",
         pytest.approx(probabilities[cli_ticket]), "cli", True, False),
        (page_ticket, "accept", "agree", "escalation-v1",
         pytest.approx(probabilities[page_ticket]), "cs", False, True),
    ]  # fmt: skip
    # Training sees one label per reviewed ticket: the override says the flag was wrong.
    assert dict(zip(labels["ticket_id"], labels["review_label"], strict=True)) == {
        cli_ticket: False,
        page_ticket: True,
    }
    june = dt.date(2026, 6, 1)
    assert outcomes == sorted([
        (free[0], "2026-Q2", "contacted", june, "renewed", False),
        (free[1], "2026-Q2", "contacted", june, "no_answer", False),
    ])  # fmt: skip
    # The refresh published them too: the Review page now shows the figures.
    review = _app(monkeypatch, data, "pages/review.py")
    shown = {m.label: m.value for m in review.metric}
    assert shown["Decisions"] == "2" and shown["Override rate"] == "50.0%"


def test_outreach_page_shows_the_uplift(tiny_pipeline, tmp_path, monkeypatch):
    """A hand-built fct_outreach_outcomes: Q2 held out 4 churned of 10, contacted 3 of 30;
    Q3 (not mature) must not count. Uplift 40% - 10% = +30.0%."""
    data = tmp_path / "data"
    serving = copy_serving(tiny_pipeline.serving, data)
    add_ml_and_quarantine(serving)
    rows = [("2026-Q2", "holdout", i < 4, True) for i in range(10)]
    rows += [("2026-Q2", "contacted", i < 3, True) for i in range(30)]
    rows += [("2026-Q3", "holdout", True, False)] * 5
    with duckdb.connect(str(serving)) as con:
        con.execute(
            "create or replace table marts.fct_outreach_outcomes (account_id varchar, "
            "outreach_period varchar, arm varchar, is_churned boolean, is_mature boolean)"
        )
        con.executemany(
            "insert into marts.fct_outreach_outcomes values (?, ?, ?, ?, ?)",
            [(f"A{i}", *row) for i, row in enumerate(rows)],
        )
    page = _app(monkeypatch, data, "pages/outreach.py")
    shown = {m.label: m.value for m in page.metric}
    assert shown["Churn, holdout"] == "40.0%"
    assert shown["Churn, contacted"] == "10.0%"
    assert shown["Uplift of outreach"] == "+30.0%"
    assert any("95% interval +2.0% to +59.5%" in c.value for c in page.caption)
