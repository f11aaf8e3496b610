"""The triage policy end to end on the tiny world: `supportops policy backtest` against a
pandas recount, `supportops serve` over real HTTP (one ticket, a batch, bad fields, PII kept
out of logs, a new champion picked up without a restart) and the Triage page under AppTest.

Tiny has two weeks and a handful of tier-3 escalations: too few to learn from. The models
here are trained on a stand-in label (high or urgent priority, or a negative description),
so their probabilities spread; what is measured against (the backtest's flags) is still the
warehouse's own `escalated_tier3`. The mechanics, not the model's quality, are under test.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from dashboard_fixtures import APP, read_table
from streamlit.testing.v1 import AppTest

from bench.scoring_latency import free_port
from ml import live, pipeline, policy, registry
from ml.datasets import escalation_dataset
from ml.model import TrainedModel
from ml.training import train
from orchestration.defs.serving import SERVING_SCHEMAS
from serving.api import Scorer
from serving.publish import publish_serving
from tests.conftest import CLI, cli_env, run_cli

CANARY_EMAIL = "pii-canary-7731@example.com"
CANARY_NAME = "Canary Quillfeather"


def _train(frame: pd.DataFrame, seed: int, urgent_only: bool = False) -> TrainedModel:
    label = frame["priority"].isin(["urgent"] if urgent_only else ["high", "urgent"])
    if not urgent_only:
        label |= frame["is_negative_sentiment"].astype(bool)
    return train("escalation", frame.assign(escalated_tier3=label), split="random", seed=seed)


@dataclass(frozen=True)
class World:
    home: Path
    data: Path
    model: TrainedModel
    frame: pd.DataFrame
    start: dt.date
    end: dt.date

    @property
    def models(self) -> Path:
        return self.data / "models"

    def chosen_thresholds(self, version: str) -> dict[str, float]:
        """The policy file training wrote beside `version`, read as plain YAML."""
        data = yaml.safe_load((self.models / "escalation" / version / "policy.yml").read_text())
        return {name: entry["value"] for name, entry in data["thresholds"].items()}


@pytest.fixture(scope="module")
def world(tiny_pipeline, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The tiny warehouse with a registered champion and its chosen policy, the backtest
    tables built over all of tiny's days and published."""
    home = tmp_path_factory.mktemp("triage")
    data = tiny_pipeline.copy_to(home / "data")
    warehouse = data / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = escalation_dataset(con)
    model = _train(frame, seed=0)
    version = registry.register(model, data / "models")
    policy.choose_for_version(version, policy.DEFAULT_POLICY)
    assert registry.promote_if_better(data / "models", "escalation", version.version)
    start, end = frame["created_date"].min().date(), frame["created_date"].max().date()
    summary = pipeline.triage_backtest(
        lambda: duckdb.connect(str(warehouse)), data, start=start, end=end
    )
    assert summary["policy_version"] == "triage-v1+v0001"
    with duckdb.connect(str(warehouse)) as con:
        publish_serving(con, data / "serving.duckdb", SERVING_SCHEMAS)
    return World(home, data, model.with_version(version.version), frame, start, end)


def _sla_band(minutes: pd.Series) -> np.ndarray:
    m = minutes.astype(float)
    band = np.where(m < 0, "breached", np.where(m < 60, "high", np.where(m < 240, "medium", "low")))
    return np.where(m.isna(), "none", band)


def replayed(world: World, model: TrainedModel) -> pd.DataFrame:
    """Tickets of the window with mature labels, scored, recomputed from the serving copy's
    tables with pandas (not the library's SQL)."""
    serving = world.data / "serving.duckdb"
    tickets = read_table(serving, "marts.fct_tickets")
    features = read_table(serving, "features.feat_ticket_at_creation")
    newest = tickets["data_as_of"].max()
    tickets = tickets.assign(
        mature=~tickets["is_open"] | (tickets["created_at"] <= newest - pd.Timedelta(days=14)),
        breached=tickets["is_sla_first_response_breached"].fillna(False).astype(bool)
        | tickets["is_sla_resolution_breached"].fillna(False).astype(bool),
    )
    rows = features.merge(
        tickets[["ticket_id", "mature", "breached", "is_escalated_to_tier3",
                 "sla_first_response_target_minutes"]], on="ticket_id",
    )  # fmt: skip
    day = pd.to_datetime(rows["created_date"]).dt.date
    rows = rows[rows["mature"] & (day >= world.start) & (day <= world.end)].reset_index(drop=True)
    return rows.assign(
        p=model.predict(rows),
        sla_state=_sla_band(rows["sla_first_response_target_minutes"]),
        day=pd.to_datetime(rows["created_date"]).dt.date,
    )


def hand_decisions(rows: pd.DataFrame, senior: float, review: float) -> pd.Series:
    """policies/triage.yml's rules, written out by hand as masks (first match wins)."""
    p, negative = rows["p"], rows["is_negative_sentiment"].fillna(False).astype(bool)
    action = pd.Series("route", index=rows.index)
    bot = (rows["category"].isin(["how_to", "account_access", "feature_request"]) & ~negative
           & (rows["tier"] == "standard") & rows["priority"].isin(["low", "normal"]))  # fmt: skip
    action[bot] = "bot_answer"
    action[(p >= review) | (rows["priority"] == "urgent")] = "human_approval"
    action[(p >= senior) | ((rows["tier"] == "vip") & negative & (p >= review))] = "senior_review"
    return action


def test_policy_backtest_cli_matches_a_pandas_recount(world: World) -> None:
    done = run_cli(world.home, "policy", "backtest", "--start", str(world.start),
                   "--end", str(world.end), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    thresholds = world.chosen_thresholds("v0001")
    rows = replayed(world, world.model)
    action = hand_decisions(rows, thresholds["senior"], thresholds["review"])
    y = rows["is_escalated_to_tier3"].astype(bool)
    assert got["policy"] == "triage-v1+v0001" and got["model_version"] == "v0001"
    assert got["tickets"] == len(rows) > 200
    actions = {a["action"]: a for a in got["actions"]}
    for name in policy.ACTIONS:
        mask = action == name
        assert actions[name]["tickets"] == mask.sum(), name
        assert actions[name]["recall"] == pytest.approx(y[mask].sum() / y.sum()), name
        if mask.any():
            assert actions[name]["precision"] == pytest.approx(y[mask].mean()), name
    flagged = action.isin(["senior_review", "human_approval"])
    assert 0 < flagged.sum() < len(rows)  # the stand-in model splits the tickets
    assert actions["any flag"]["recall"] == pytest.approx(y[flagged].sum() / y.sum())
    per_day = (action == "senior_review").groupby(rows["day"]).sum()
    assert {d["day"][:10]: d["senior_queue_tickets"] for d in got["senior_queue_per_day"]} == {
        str(day): int(n) for day, n in per_day.items()
    }
    sla = {g["group"]: g for g in got["sla"]}
    assert sla["flagged"]["sla_breaches"] == rows["breached"][flagged].sum()
    assert sla["unflagged"]["sla_breaches"] == rows["breached"][~flagged].sum()


def test_policy_backtest_rejects_a_bad_policy_file_by_field(world: World, tmp_path: Path) -> None:
    bad = tmp_path / "draft.yml"
    bad.write_text(policy.DEFAULT_POLICY.read_text().replace("action: bot_answer", "action: bot"))
    done = run_cli(world.home, "policy", "backtest", "--policy", str(bad))
    assert done.returncode == 2
    assert "draft.yml: rules[4].action" in done.stdout


# --- the scoring service over HTTP --------------------------------------------------------


# Creation features the service computes as the warehouse does (the account's features are
# the newest day's, not the creation day's, and a new ticket has no bot exchange: not here).
SAME_AS_WAREHOUSE = [
    "created_at", "created_date", "account_id", "requester_id", "channel", "category",
    "priority", "tier", "created_hour", "created_iso_day_of_week",
    "is_created_in_business_hours", "subject_chars", "subject_sentiment", "description_chars",
    "description_sentiment", "description_language", "is_negative_sentiment",
    "requester_prior_tickets", "requester_prior_tickets_30d",
    "requester_prior_same_category_7d", "requester_prior_escalated_tickets",
    "requester_days_since_last_ticket",
]  # fmt: skip


def test_posted_tickets_get_the_warehouses_creation_features(world: World) -> None:
    """Every tiny ticket posted as the helpdesk sent it (its landing row) gets the features
    feat_ticket_at_creation has, its account's newest features and its SLA target; business
    hours also against the seed's tier clocks by
    hand (VIP 24x7, standard Mon-Fri 08:00-18:00 UTC), which the old Mon-Fri 09-17
    approximation missed."""
    with duckdb.connect() as con:
        landed = con.execute(
            f"""SELECT * REPLACE (created_at::TIMESTAMPTZ AT TIME ZONE 'UTC' AS created_at)
                FROM read_json_auto('{world.data}/landing/helpdesk/*/tickets.jsonl',
                                    union_by_name = true, filename = true)
                QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY filename DESC) = 1
                ORDER BY ticket_id"""
        ).df()
    assert landed["schedule_id"].isna().all()  # tiny has no source schedules: tier clocks
    scorer = Scorer(world.data / "serving.duckdb", world.models, policy.DEFAULT_POLICY)
    served = live.ticket_features(scorer.lookups(), landed[list(live.TICKET_COLUMNS)])
    warehouse = read_table(world.data / "serving.duckdb", "features.feat_ticket_at_creation")
    warehouse = warehouse.set_index("ticket_id").loc[served["ticket_id"]].reset_index()
    assert len(served) == len(warehouse) > 100
    pd.testing.assert_frame_equal(
        served[["ticket_id", *SAME_AS_WAREHOUSE]],
        warehouse[["ticket_id", *SAME_AS_WAREHOUSE]],
        check_dtype=False,
    )
    # Account features: the newest published day's row of the ticket's account.
    daily = read_table(world.data / "serving.duckdb", "features.feat_account_daily")
    newest = daily[daily["as_of_date"] == daily["as_of_date"].max()].set_index("account_id")
    expected = newest.reindex(served["account_id"])
    assert expected["as_of_date"].notna().mean() > 0.9
    for column in live.ACCOUNT_COLUMNS:
        pd.testing.assert_series_equal(
            served[f"account_{column}"].reset_index(drop=True),
            expected[column].reset_index(drop=True),
            check_dtype=False, check_names=False,
        )  # fmt: skip
    assert (served["has_account_features"] == expected["as_of_date"].notna().to_numpy()).all()
    # SLA target: the newest first-response target the warehouse applied per tier and priority.
    facts = read_table(world.data / "serving.duckdb", "marts.fct_tickets")
    targets = (
        facts.dropna(subset=["sla_first_response_target_minutes"])
        .sort_values("created_at")
        .groupby(["tier", "priority"])["sla_first_response_target_minutes"]
        .last()
    )
    by_hand = [targets.get((t, p)) for t, p in zip(served["tier"], served["priority"], strict=True)]
    assert served["sla_target_minutes"].tolist() == by_hand
    created = pd.to_datetime(served["created_at"])
    weekday, hour = created.dt.dayofweek < 5, created.dt.hour
    by_hand = (served["tier"] == "vip") | (weekday & hour.between(8, 17))
    assert served["is_created_in_business_hours"].tolist() == by_hand.tolist()
    assert (by_hand != (weekday & hour.between(9, 16))).sum() > 10


@pytest.fixture(scope="module")
def service(world: World):
    """`supportops serve` in its own process on a free port, its log in a file."""
    port = free_port()
    log = (world.home / "serve.log").open("w")
    process = subprocess.Popen(
        [CLI, "serve", "--port", str(port)], cwd=world.home, env=cli_env(world.home),
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        for _ in range(240):
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (world.home / "serve.log").read_text()
            time.sleep(0.5)
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _ticket(world: World, ticket_id: int, **changes) -> dict:
    """A new ticket of a known account and requester, an hour after tiny's last one."""
    last = world.frame.iloc[-1]
    ticket = {
        "ticket_id": ticket_id,
        "created_at": (pd.Timestamp(last["created_at"]) + pd.Timedelta(hours=1)).isoformat(),
        "channel": "email", "category": "billing", "priority": "normal", "tier": "standard",
        "account_id": last["account_id"], "requester_id": last["requester_id"],
        "requester_email": CANARY_EMAIL, "requester_name": CANARY_NAME,
        "requester_phone": "+1 555 0100",
        "subject": "Question about our invoice",
        "description": "Thanks for the help so far. Could you resend the invoice for May?",
    }  # fmt: skip
    return ticket | changes


def test_one_ticket_gets_probability_action_reasons_and_versions(world, service) -> None:
    answer = service.post("/score", json=_ticket(world, 990001, priority="urgent"))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["ticket_id"] == 990001
    assert got["model_version"] == "v0001" and got["policy_version"] == "triage-v1+v0001"
    assert 0.0 < got["escalation_probability"] < 1.0
    thresholds = world.chosen_thresholds("v0001")
    want = (
        "senior_review"
        if got["escalation_probability"] >= thresholds["senior"]
        else "human_approval"
    )
    assert got["action"] == want  # urgent: approval at least, senior above its threshold
    assert isinstance(got["reasons"], list) and len(got["reasons"]) <= 3
    features = read_table(world.data / "serving.duckdb", "features.feat_account_daily")
    assert got["account_features_as_of"] == str(pd.Timestamp(features["as_of_date"].max()).date())
    tickets = read_table(world.data / "serving.duckdb", "marts.fct_tickets")
    same = tickets[(tickets["tier"] == "standard") & (tickets["priority"] == "urgent")]
    same = same.dropna(subset=["sla_first_response_target_minutes"]).sort_values("created_at")
    target = same["sla_first_response_target_minutes"].iloc[-1]
    assert got["sla_state"] == _sla_band(pd.Series([target]))[0]


def test_a_batch_is_scored_in_order_like_single_tickets(world, service) -> None:
    tickets = [
        _ticket(world, 990011, priority="low", category="how_to"),
        _ticket(world, 990012, priority="high", tier="vip"),
        _ticket(world, 990013, description="This is awful, nothing works and I am furious."),
    ]
    answer = service.post("/score/batch", json={"tickets": [*tickets, tickets[0]]})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["ticket_id"] for r in results] == [990011, 990012, 990013, 990011]
    assert results[3] == results[0]  # a ticket sent twice is scored twice, alike
    results = results[:3]
    for ticket, result in zip(tickets, results, strict=True):
        single = service.post("/score", json=ticket, params={"explain": "false"}).json()
        assert single["escalation_probability"] == pytest.approx(result["escalation_probability"])
        assert single["action"] == result["action"]
    # The stand-in model learned priority: a high-priority ticket outranks a low one.
    assert results[1]["escalation_probability"] > results[0]["escalation_probability"]
    assert results[0]["action"] in ("bot_answer", "human_approval", "senior_review")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"priority": "critical"}, "priority"),
        ({"ticket_id": "not-a-number"}, "ticket_id"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"account_id": None}, "account_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_field_is_a_422_naming_it_without_echoing_pii(world, service, change, field):
    answer = service.post("/score", json=_ticket(world, 990021) | change)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["detail"]] == [field]
    assert CANARY_EMAIL not in answer.text and CANARY_NAME not in answer.text


def test_an_empty_or_missing_batch_is_a_422(service) -> None:
    assert service.post("/score/batch", json={"tickets": []}).status_code == 422
    missing = service.post("/score/batch", json={})
    assert missing.status_code == 422 and missing.json()["detail"][0]["field"] == "tickets"


def test_a_new_champion_is_served_without_a_restart(world, service) -> None:
    """Runs after the other service tests: it changes the registry they read."""
    ticket = _ticket(world, 990031, priority="high")
    before = service.post("/score", json=ticket).json()
    second = registry.register(_train(world.frame, seed=1, urgent_only=True), world.models)
    policy.choose_for_version(second, policy.DEFAULT_POLICY)
    # A version whose files are half there and that no status names is never loaded.
    stray = world.models / "escalation" / "v0003"
    stray.mkdir(parents=True)
    (stray / "model.joblib").write_bytes(b"half a pickle")
    assert service.post("/score", json=ticket).json()["model_version"] == "v0001"  # challenger
    assert registry.promote_if_better(world.models, "escalation", second.version, tolerance=1.0)
    after = service.post("/score", json=ticket).json()
    assert after["model_version"] == second.version == "v0002"
    assert after["policy_version"] == "triage-v1+v0002"
    assert after["escalation_probability"] != pytest.approx(before["escalation_probability"])
    log = (world.home / "serve.log").read_text()
    assert "POST /score" in log  # the log is there and holds requests, but no PII
    assert CANARY_EMAIL not in log and CANARY_NAME not in log and "555 0100" not in log


# --- the Triage page ----------------------------------------------------------------------


def test_triage_page_shows_the_curve_and_the_operating_point(world, monkeypatch) -> None:
    monkeypatch.setenv("SUPPORTOPS_DATA_DIR", str(world.data))
    monkeypatch.setenv("SUPPORTOPS_DEMO", "1")
    app = AppTest.from_file(str(APP), default_timeout=180)
    app.run()
    app.switch_page("pages/triage.py").run()
    assert not app.exception, [e.value for e in app.exception]
    senior = world.chosen_thresholds("v0001")["senior"]
    rows = replayed(world, world.model)
    y, days = rows["is_escalated_to_tier3"].astype(bool), rows["day"].nunique()

    def shown() -> dict[str, str]:
        return {m.label: m.value for m in app.metric}

    def expected(threshold: float) -> dict[str, str]:
        above = rows["p"] >= threshold
        precision = f"{y[above].mean():.1%}" if above.any() else "-"
        return {"Precision": precision, "Recall": f"{y[above].sum() / y.sum():.1%}",
                "Senior queue per day": f"{above.sum() / days:.1f}",
                "Policy's threshold": f"{senior:.3f}"}  # fmt: skip

    slider = app.slider(key="triage_threshold")
    assert slider.value == pytest.approx(round(senior, 2))
    assert shown() == expected(round(senior, 2))
    slider.set_value(0.05).run()
    assert shown() == expected(0.05)
    assert len(app.get("plotly_chart")) == 1


def test_a_serving_copy_published_before_the_business_calendar_is_a_503_naming_it(
    tmp_path: Path,
) -> None:
    """The service reads marts.dim_business_hours; a copy published before it existed is
    unavailable (LookupError: the API's 503), saying which table, until the next publish; so
    is one published before a column scoring reads."""
    serving = tmp_path / "serving.duckdb"
    with duckdb.connect(str(serving)) as con:
        con.execute("CREATE SCHEMA features; CREATE SCHEMA marts")
        accounts = ", ".join(f"{c} VARCHAR" for c in live.ACCOUNT_COLUMNS)
        con.execute(
            f"CREATE TABLE features.feat_account_daily (account_id VARCHAR, as_of_date DATE, "
            f"{accounts})"
        )
        con.execute(
            "CREATE TABLE marts.fct_tickets (requester_id VARCHAR, category VARCHAR, "
            "tier VARCHAR, priority VARCHAR, sla_first_response_target_minutes INTEGER, "
            "created_at TIMESTAMP, first_escalated_at TIMESTAMP)"
        )
    scorer = Scorer(serving, tmp_path / "models", policy.DEFAULT_POLICY)
    with pytest.raises(LookupError, match=r"lacks what scoring reads.*dim_business_hours"):
        scorer.lookups()
    with duckdb.connect(str(serving)) as con:  # a copy from before a column scoring reads
        con.execute("ALTER TABLE marts.fct_tickets DROP COLUMN first_escalated_at")
    with pytest.raises(LookupError, match=r"lacks what scoring reads.*first_escalated_at"):
        scorer.lookups()
