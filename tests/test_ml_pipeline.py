"""The ML library against a real warehouse: 1000 accounts over 330 days through the pipeline.

Tiny (14 days) cannot carry 90-day churn labels, so this module generates its own data
once per session. Only the tests read the generator's truth (and `ml.evaluation.ceiling`,
which is given the truth directory).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier

from extracts import actions
from ml.datasets import (
    ACCOUNT_FEATURES,
    MIN_HISTORY_DAYS,
    churn_dataset,
    thin_snapshots,
    time_split,
)
from ml.drift import drift_report, prediction_drift
from ml.evaluation import ceiling, evaluate
from ml.feedback import with_review_labels
from ml.monitoring import RECENT_TICKET_DAYS, recent_tickets
from ml.outreach import OUTREACH_COLUMNS, current_accounts, outreach_list
from ml.pipeline import training_rows
from ml.reasons import contributions, explain, explain_and_predict, pick_features
from ml.registry import champion, list_versions, promote_if_better, register
from ml.scoring import accounts_to_score, open_tickets, score_accounts, score_tickets
from ml.tasks import TASKS
from ml.training import TrainedModel, build_pipeline, train
from tests.conftest import MLData, isolated_env
from tests.test_triage_service import hand_decisions

USAGE = ["events_7d", "active_users_7d", "active_users_28d", "feature_breadth_28d"]
USAGE += ["seat_utilization"]
TICKETS = ["tickets_7d", "tickets_14d", "tickets_30d", "negative_tickets_30d", "sla_breaches_30d"]


@pytest.fixture(scope="session")
def churn_model(ml_data: MLData) -> TrainedModel:
    return train("churn", ml_data.churn, seed=0)


@pytest.fixture(scope="session")
def escalation_model(ml_data: MLData) -> TrainedModel:
    return train("escalation", ml_data.escalation, seed=0)


@pytest.fixture(scope="session")
def scored(ml_data: MLData, churn_model: TrainedModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    with ml_data.connect() as con:
        frame = accounts_to_score(con)
    return frame, score_accounts(churn_model, frame)


def test_warehouse_churn_labels_are_the_planted_outcomes(ml_data: MLData) -> None:
    truth = pd.read_parquet(ml_data.truth / "account_daily.parquet")
    truth = truth.rename(columns={"date": "as_of_date"})
    truth["as_of_date"] = pd.to_datetime(truth["as_of_date"])
    mature = ml_data.churn[ml_data.churn["label_mature"]]
    joined = mature.merge(truth, on=["account_id", "as_of_date"], how="left")
    assert len(joined) == len(mature) > 50_000
    assert joined["churned_within_90d"].notna().all()
    assert (joined["churned"] == joined["churned_within_90d"].astype(bool)).all()
    assert joined["churned"].sum() > 1_000


def test_warehouse_escalation_labels_are_the_planted_outcomes(ml_data: MLData) -> None:
    truth = pd.read_parquet(ml_data.truth / "tickets.parquet")
    truth = truth.rename(columns={"escalated_tier3": "planted"})
    mature = ml_data.escalation[ml_data.escalation["label_mature"]]
    joined = mature.merge(truth, on="ticket_id", how="left")
    assert len(joined) == len(mature) > 20_000
    assert (joined["escalated_tier3"] == joined["planted"]).all()
    assert joined["escalated_tier3"].sum() > 500


def test_dataset_rows_are_the_point_in_time_feature_rows(ml_data: MLData) -> None:
    """The builder adds labels and ratios; the features stay those of feat_account_daily."""
    with ml_data.connect() as con:
        table = con.execute("select * from features.feat_account_daily").df()
    keys = ["account_id", "as_of_date"]
    raw = [c for c in ACCOUNT_FEATURES.columns if c in table.columns]
    assert set(ACCOUNT_FEATURES.columns) - set(raw) == {
        "events_per_seat_7d", "tickets_per_seat_30d", "errors_per_event_28d",
        "renewal_within_90d", "renewal_within_90d_manual", "usage_vs_peak_90d", "usage_vs_avg_90d",
    }  # fmt: skip
    joined = ml_data.churn[keys + raw].merge(table[keys + raw], on=keys, suffixes=("", "_table"))
    assert len(joined) == len(ml_data.churn)
    for column in raw:
        pd.testing.assert_series_equal(
            joined[column], joined[f"{column}_table"], check_names=False, check_dtype=False
        )
    inactive = table[(table["account_status"] != "active") & (table["history_days"] >= 35)]
    assert len(inactive) > 0
    assert not set(zip(inactive["account_id"], inactive["as_of_date"], strict=True)) & set(
        zip(ml_data.churn["account_id"], ml_data.churn["as_of_date"], strict=True)
    )


@pytest.mark.parametrize("task", ["churn", "escalation"])
def test_no_model_beats_the_planted_ceiling(
    task: str, ml_data: MLData, churn_model: TrainedModel, escalation_model: TrainedModel
) -> None:
    """A model above the planted probabilities would be reading the future."""
    trained = churn_model if task == "churn" else escalation_model
    best = ceiling(task, trained.test_frame, ml_data.truth)
    got = trained.metrics["model"]
    assert got["rows"] == best["rows"] == len(trained.test_frame)
    assert got["roc_auc"] <= best["roc_auc"] + 0.02
    assert got["pr_auc"] <= best["pr_auc"] + 0.02


@pytest.mark.parametrize("task", ["churn", "escalation"])
def test_the_model_beats_the_rule_of_thumb(
    task: str, churn_model: TrainedModel, escalation_model: TrainedModel
) -> None:
    trained = churn_model if task == "churn" else escalation_model
    table = evaluate(trained, trained.test_frame)
    assert table.loc["model"].to_dict() == pytest.approx(trained.metrics["model"])
    rule = trained.spec.baseline.name
    assert rule == ("health_score" if task == "churn" else "triage_rule")
    for metric in ("roc_auc", "pr_auc"):
        assert table.loc["model", metric] > table.loc[rule, metric]
    assert table.loc["model", "brier"] < table.loc["model", "base_rate_brier"]
    assert table.loc["model", "top_decile_lift"] > 1.5


def test_windows_are_in_time_order_with_the_label_gap(churn_model: TrainedModel) -> None:
    w = {
        k: {e: dt.date.fromisoformat(d) for e, d in v.items()}
        for k, v in churn_model.windows.items()
    }
    # a train row as of D is labelled from [D, D + 90): the last one closes before the test
    assert (w["test"]["start"] - w["train"]["end"]).days == 90
    assert (w["test"]["end"] - w["test"]["start"]).days == 13
    card = churn_model.card()
    assert card["rows"]["test"] == len(churn_model.test_frame)
    assert card["positives"]["test"] == int(churn_model.test_frame["churned"].sum())
    assert set(card["metrics"]) == {"model", "logistic", "health_score"}
    assert not {"account_id", "as_of_date", "churned", "health_score"} & set(
        card["features"]["numeric"] + card["features"]["categorical"]
    )


def test_churn_training_reads_a_share_of_the_history_and_fits_the_same_rows(
    ml_data: MLData,
) -> None:
    """The thinned query gives training exactly the rows the whole history gives it."""
    spec = TASKS["churn"]
    with ml_data.connect() as con:
        thinned = training_rows("churn", con)
    assert len(thinned) < len(ml_data.churn) / 2
    whole_split, thinned_split = time_split(ml_data.churn, spec), time_split(thinned, spec)
    for whole, part in (
        (thin_snapshots(whole_split.train, spec), thin_snapshots(thinned_split.train, spec)),
        (whole_split.test, thinned_split.test),
    ):
        pd.testing.assert_frame_equal(whole.reset_index(drop=True), part.reset_index(drop=True))


def test_the_monitored_ticket_batch_is_the_newest_weeks_tickets_of_the_whole_dataset(
    ml_data: MLData,
) -> None:
    """Monitoring reads only the newest days' tickets, and they are the rows the whole
    escalation dataset filtered in pandas gives."""
    with ml_data.connect() as con:
        batch = recent_tickets(con)
    whole = ml_data.escalation
    created = pd.to_datetime(whole["created_date"])
    expected = whole[created > created.max() - pd.Timedelta(days=RECENT_TICKET_DAYS)]
    assert 0 < len(batch) < len(whole) / 10
    pd.testing.assert_frame_equal(
        batch.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


def test_scoring_and_monitoring_read_the_usage_window_not_the_history(ml_data: MLData) -> None:
    """Scoring the newest day and monitoring from a start day read only the 90 days of
    usage before them, and get the rows and 90-day ratios the whole history gives."""
    whole = ml_data.churn
    start = whole["as_of_date"].max() - pd.Timedelta(days=30)
    with ml_data.connect() as con:
        since = churn_dataset(con, start=start.date())
        scored = accounts_to_score(con)
    expected = whole[whole["as_of_date"] >= start]
    assert 0 < len(since) < len(whole) / 2
    pd.testing.assert_frame_equal(since.reset_index(drop=True), expected.reset_index(drop=True))
    newest = whole[whole["as_of_date"] == whole["as_of_date"].max()]
    scored = scored[scored["history_days"] >= MIN_HISTORY_DAYS]
    assert len(scored) == len(newest) > 0
    pd.testing.assert_frame_equal(
        scored.reset_index(drop=True), newest[scored.columns].reset_index(drop=True)
    )


def test_same_seed_same_model(ml_data: MLData, escalation_model: TrainedModel) -> None:
    again = train("escalation", ml_data.escalation, seed=0)
    rows = escalation_model.test_frame
    assert np.array_equal(again.predict(rows), escalation_model.predict(rows))
    assert again.metrics == escalation_model.metrics


def test_review_labels_join_training_and_the_card_counts_them(
    ml_data: MLData, escalation_model: TrainedModel
) -> None:
    """Three unescalated tickets of the gap before the test window, accepted by a reviewer
    the day before it opens, train as escalations; two test-window tickets reviewed the same
    way do not. The card says 3, and the test rows are the outcome-only model's."""
    frame = ml_data.escalation.copy()
    test_start = pd.Timestamp(escalation_model.windows["test"]["start"])
    created = pd.to_datetime(frame["created_date"])
    gap = frame[(created > pd.Timestamp(escalation_model.windows["train"]["end"]))
                & (created < test_start) & ~frame["escalated_tier3"]].head(3)  # fmt: skip
    late = frame[(created >= test_start) & frame["label_mature"]].head(2)
    labels = pd.DataFrame({"ticket_id": [*gap["ticket_id"], *late["ticket_id"]],
                           "review_label": True, "decided_at": test_start - pd.Timedelta(days=1)})  # fmt: skip
    labels.loc[3:, "decided_at"] = test_start + pd.Timedelta(hours=9)
    reviewed = train("escalation", with_review_labels(frame, labels), seed=0)
    assert len(gap) == 3 and reviewed.params["review_labels"] == 3
    assert reviewed.rows == {"train": escalation_model.rows["train"] + 3,
                             "test": escalation_model.rows["test"]}  # fmt: skip
    assert reviewed.positives["train"] == escalation_model.positives["train"] + 3
    assert reviewed.positives["test"] == escalation_model.positives["test"]
    assert escalation_model.params["review_labels"] == 0


def test_promotion_rules(tmp_path: Path, churn_model: TrainedModel) -> None:
    first = register(churn_model, tmp_path)
    assert first.version == "v0001" and first.status == "challenger"
    assert promote_if_better(tmp_path, "churn", first.version)
    assert champion(tmp_path, "churn").version == "v0001"

    # a challenger that ranks nobody: the prior rate for every row
    flat = DummyClassifier(strategy="prior").fit(
        churn_model.test_frame[churn_model.features.columns], churn_model.test_frame["churned"]
    )
    worse = register(dataclasses.replace(churn_model, estimator=flat), tmp_path)
    assert not promote_if_better(tmp_path, "churn", worse.version)
    assert champion(tmp_path, "churn").version == "v0001"

    equal = register(churn_model, tmp_path)
    assert promote_if_better(tmp_path, "churn", equal.version, metric="roc_auc")
    statuses = {v.version: v.status for v in list_versions(tmp_path)}
    assert statuses == {"v0001": "retired", "v0002": "challenger", "v0003": "champion"}

    loaded = champion(tmp_path, "churn")
    assert loaded.card["version"] == "v0003"
    assert loaded.card["metrics"]["model"]["pr_auc"] == churn_model.metrics["model"]["pr_auc"]
    rows = loaded.test_rows()
    assert np.array_equal(loaded.load().predict(rows), churn_model.predict(churn_model.test_frame))
    assert not list(tmp_path.rglob(".*"))  # no temporary files left behind


def _halves(trained: TrainedModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    shuffled = trained.reference.sample(frac=1.0, random_state=1)
    middle = len(shuffled) // 2
    return shuffled.iloc[:middle], shuffled.iloc[middle:]


def _shifted(batch: pd.DataFrame) -> pd.DataFrame:
    """Last week's usage halved, ticket counts doubled plus one, and a renewal wave.

    Derived columns follow their inputs. The churn model leans on renewal timing far more
    than on usage and tickets, so the wave (every renewal within 90 days) is what moves
    its predictions enough for the prediction-drift check.
    """
    shifted = batch.copy()
    for column in USAGE:
        shifted[column] = shifted[column].astype(float) * 0.5
    prior_week = shifted["events_prior_28d"].astype(float) / 4
    # no prior use: null, as the warehouse's nullif division gives (not infinity)
    prior_week = prior_week.where(prior_week > 0)
    shifted["usage_change_7d_vs_prior_28d"] = (shifted["events_7d"] - prior_week) / prior_week
    shifted["events_per_seat_7d"] = shifted["events_per_seat_7d"].astype(float) * 0.5
    for column in TICKETS:
        shifted[column] = shifted[column].astype(float) * 2 + 1
    shifted["tickets_per_seat_30d"] = shifted["tickets_per_seat_30d"].astype(float) * 2
    shifted["days_to_renewal"] = shifted["days_to_renewal"] % 90
    shifted["renewal_within_90d"] = shifted["days_to_renewal"].between(0, 89)
    manual = ~shifted["auto_renew"].astype("boolean").fillna(False)
    shifted["renewal_within_90d_manual"] = shifted["renewal_within_90d"] & manual
    for column in ("usage_vs_peak_90d", "usage_vs_avg_90d"):
        shifted[column] = shifted[column].astype(float) * 0.5
    return shifted


def test_drift_fires_on_a_shifted_batch_and_not_on_a_same_batch(
    tmp_path: Path, churn_model: TrainedModel
) -> None:
    reference, same = _halves(churn_model)
    shifted = _shifted(same)
    columns = ACCOUNT_FEATURES.columns
    kinds = {"categorical": ACCOUNT_FEATURES.categorical}

    quiet = drift_report(reference, same, columns, tmp_path / "same.html", **kinds)
    assert not quiet.detected
    assert quiet.drift_share < 0.1
    loud = drift_report(reference, shifted, columns, tmp_path / "shifted.html", **kinds)
    assert loud.detected
    assert set(USAGE + TICKETS) - {"seat_utilization"} <= set(loud.drifted_columns)
    assert "days_to_renewal" in loud.drifted_columns
    assert loud.drift_share == len(loud.drifted_columns) / len(columns)
    assert loud.html_path.stat().st_size > 10_000

    calm = prediction_drift(
        pd.Series(churn_model.predict(reference)), pd.Series(churn_model.predict(same)), None
    )
    moved = prediction_drift(
        pd.Series(churn_model.predict(reference)), pd.Series(churn_model.predict(shifted)), None
    )
    assert not calm.detected and calm.drifted_columns == []
    assert moved.detected and moved.drifted_columns == ["prediction"]


NUMBER = re.compile(r"-?[\d,]+(?:\.\d+)?")
SHARE = re.compile(r"(more|fewer|higher|lower) than (\d+)% of accounts")


def test_each_reason_states_the_accounts_own_values(
    churn_model: TrainedModel, scored: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    frame, _ = scored
    spec, population = churn_model.spec, churn_model.reference
    contrib = contributions(churn_model, frame)
    medians = {
        f: float(population[f].astype(float).median())
        for f in churn_model.features.numeric
        if population[f].notna().any()
    }
    picked = pick_features(spec, frame, contrib, medians)
    reasons = explain(churn_model, frame)
    checked = 0
    for i, features in enumerate(picked):
        texts = [t for t in reasons.loc[i, ["reason_1", "reason_2", "reason_3"]] if t]
        assert len(texts) == len(features)
        if any(f not in spec.firmographic for f in features):
            assert all(f not in spec.firmographic for f in features)
        for feature, text in zip(features, texts, strict=True):
            value = frame[feature].iloc[i]
            if text.startswith("ticket burst"):
                assert feature == "tickets_14d" and value >= 4
                continue
            assert contrib[feature].iloc[i] > 0
            direction = spec.directions.get(feature, 0)
            if direction and not pd.isna(value):  # on the risky side of the population
                assert (float(value) - medians[feature]) * direction > 0, (feature, value)
            if feature in ACCOUNT_FEATURES.categorical:
                assert text.endswith(f": {value}")
                continue
            if pd.isna(value):
                assert text.startswith("no ")
                continue
            if feature.startswith(("auto_renew", "renewal_within", "usage_vs")):
                checked += 1
                continue
            stated = float(NUMBER.search(text).group().replace(",", ""))
            if feature == "usage_change_7d_vs_prior_28d":
                assert stated == round(abs(value) * 100)
                assert ("down" in text) == (value < 0)
            # shown to one and two decimals: within half a last digit (plus float slack)
            elif feature == "events_per_seat_7d":
                assert stated == pytest.approx(value, abs=0.0501)
            elif feature == "tickets_per_seat_30d":
                assert stated == pytest.approx(value, abs=0.00501)
            elif feature in (
                "negative_sentiment_share_30d",
                "seat_utilization",
                "errors_per_event_28d",
            ):
                assert stated == round(value * 100)
            elif feature in ("csat_avg_30d", "csat_trend_30d"):
                assert stated == pytest.approx(abs(value), abs=0.0501)
            else:
                assert stated == round(value), (feature, text)
            share = SHARE.search(text)
            if share:  # a share of the model's population, not of the rows explained
                known = population[feature].dropna().astype(float)
                side = known < value if share[1] in ("more", "higher") else known > value
                assert int(share[2]) == math.floor(100 * side.sum() / len(known))
            checked += 1
    assert checked > len(frame) / 2


@pytest.mark.parametrize("family", ["logistic", "hgb"])
def test_explaining_gives_the_calibrated_probability_of_predict(
    family: str, ml_data: MLData, escalation_model: TrainedModel
) -> None:
    """The scoring service takes a ticket's probability from the reasons' model pass
    (one preprocessing pass, not two): it must be `predict`'s, for either family."""
    cols = escalation_model.features.columns
    mature = ml_data.escalation[ml_data.escalation["label_mature"]]
    x, y, frame = mature[cols], mature["escalated_tier3"], mature.head(200)
    pipe = build_pipeline(escalation_model.features, family, seed=0)
    calibrated = CalibratedClassifierCV(pipe, method="sigmoid", cv=3, ensemble=False).fit(x, y)
    model = dataclasses.replace(
        escalation_model, estimator=calibrated, raw=calibrated.calibrated_classifiers_[0].estimator
    )
    table, probability = explain_and_predict(model, frame)
    np.testing.assert_allclose(probability, calibrated.predict_proba(frame[cols])[:, 1], rtol=1e-12)
    assert table.equals(explain(model, frame))
    # A model whose calibration is not over `raw` still gets `predict`'s probability.
    apart = dataclasses.replace(model, raw=build_pipeline(model.features, family, seed=0).fit(x, y))
    assert apart.calibrated_probability(frame[cols]) is None
    np.testing.assert_allclose(explain_and_predict(apart, frame)[1], probability, rtol=1e-12)


def test_outreach_ranks_by_revenue_at_risk(
    ml_data: MLData, churn_model: TrainedModel, scored: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    frame, scores = scored
    with ml_data.connect() as con:
        accounts = current_accounts(con)
        active = con.execute(
            "select count(*) from features.feat_account_daily where as_of_date = "
            "(select max(as_of_date) from features.feat_account_daily) "
            "and account_status = 'active' and subscription_status = 'active'"
        ).fetchall()[0][0]
    assert len(scores) == active > 100
    assert np.allclose(scores["revenue_at_risk"], scores["arr"] * scores["churn_probability"])
    reasons = explain(churn_model, frame)
    full = outreach_list(scores, reasons, accounts)
    assert list(full.columns) == OUTREACH_COLUMNS
    assert list(full["rank"]) == list(range(1, len(scores) + 1))
    assert full["revenue_at_risk"].is_monotonic_decreasing
    assert full["account_name"].notna().all() and full["owner"].notna().all()
    first = full.iloc[0]
    expected = reasons.set_index("account_id").loc[first["account_id"]]
    assert first["reason_1"] == expected["reason_1"]

    top = outreach_list(scores, reasons, accounts, top=10, min_probability=0.1)
    assert len(top) <= 10 and (top["churn_probability"] >= 0.1).all()
    assert list(top["account_id"]) == list(
        full[full["churn_probability"] >= 0.1]["account_id"].head(10)
    )


def test_open_tickets_are_scored_with_an_sla_band(
    ml_data: MLData, escalation_model: TrainedModel
) -> None:
    with ml_data.connect() as con:
        tickets = open_tickets(con)
        unresolved = con.execute("select count(*) from marts.fct_tickets where is_open").fetchall()[
            0
        ][0]
    scores = score_tickets(escalation_model, tickets)
    assert len(scores) == unresolved > 0
    assert scores["escalation_probability"].between(0, 1).all()
    assert set(scores["sla_risk"]) <= {"breached", "high", "medium", "low", "none"}
    late = scores["minutes_to_sla_due"] < 0
    assert (scores.loc[late, "sla_risk"] == "breached").all()


def test_open_tickets_carry_the_action_of_the_champions_policy(ml_data: MLData) -> None:
    """`ml.ticket_scores` (written by the pipeline run) has the action the champion's chosen
    policy gives each open ticket: its rules written out by hand (tests/test_triage_service),
    with the thresholds read from the policy file beside the model as plain YAML."""
    current = champion(ml_data.warehouse.parent / "models", "escalation")
    chosen = yaml.safe_load((current.path / "policy.yml").read_text())
    thresholds = {name: entry["value"] for name, entry in chosen["thresholds"].items()}
    with duckdb.connect(str(ml_data.serving), read_only=True) as con:
        scores = con.execute("SELECT * FROM ml.ticket_scores ORDER BY ticket_id").df()
        features = con.execute(
            "SELECT ticket_id, is_negative_sentiment, category, tier, priority "
            "FROM features.feat_ticket_at_creation"
        ).df()
    rows = scores.merge(features, on="ticket_id", validate="one_to_one")
    assert len(rows) == len(scores) > 0
    want = hand_decisions(rows.assign(p=rows["escalation_probability"]), thresholds["senior"],
                          thresholds["review"])  # fmt: skip
    assert rows["action"].tolist() == want.tolist()
    queue = {"senior_review": "senior", "bot_answer": "bot"}
    assert rows["queue"].tolist() == [queue.get(a, c) for a, c in zip(rows["action"],
                                                                     rows["category"], strict=True)]  # fmt: skip
    assert set(rows["policy_version"]) == {f"triage-v{chosen['version']}+{current.version}"}
    assert set(rows["model_version"]) == {current.version}
    assert rows["rule"].notna().all()


# ------------------------------------------------------------------ the Dagster ML assets


def test_pipeline_trains_registers_scores_and_publishes(ml_data: MLData) -> None:
    """The refresh run trained both champions and published scores, evaluations and drift."""
    materialised = {
        e.asset_key.to_user_string()
        for e in ml_data.result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert {f"ml/{name}" for name in ("churn_model", "escalation_model", "account_scores",
            "ticket_scores", "outreach_list")} <= materialised  # fmt: skip
    versions = list_versions(ml_data.warehouse.parent / "models")
    assert {(v.task, v.status) for v in versions} == {
        ("churn", "champion"),
        ("escalation", "champion"),
    }
    with duckdb.connect(str(ml_data.serving), read_only=True) as con:
        scorers = con.execute(
            "SELECT task, list(scorer ORDER BY scorer) FROM ml.evaluations GROUP BY 1 ORDER BY 1"
        ).fetchall()
        scores = con.execute("SELECT * FROM ml.account_scores").df()
        active = con.execute(
            "SELECT count(*) FROM features.feat_account_daily WHERE as_of_date = "
            "(SELECT max(as_of_date) FROM features.feat_account_daily) "
            "AND account_status = 'active' AND subscription_status = 'active'"
        ).fetchone()[0]
        ranked = con.execute("SELECT * FROM ml.outreach_list ORDER BY rank").df()
        open_tickets = con.execute(
            "SELECT count(*) FROM marts.fct_tickets WHERE is_open"
        ).fetchone()[0]
        ticket_scores = con.execute("SELECT count(*) FROM ml.ticket_scores").fetchone()[0]
        drift = con.execute("SELECT task, kind FROM ml.drift ORDER BY 1, 2").fetchall()
    assert scorers == [
        ("churn", ["ceiling", "health_score", "logistic", "model"]),
        ("escalation", ["ceiling", "logistic", "model", "triage_rule"]),
    ]
    assert len(scores) == active > 0
    assert np.allclose(scores["revenue_at_risk"], scores["arr"] * scores["churn_probability"])
    # sized for the team: above the champion's threshold, at most 4 accounts per owner
    card = champion(ml_data.warehouse.parent / "models", "churn").card
    threshold = card["outreach_threshold"]["threshold"]
    above = scores[scores["churn_probability"] >= threshold]
    assert 0 < len(ranked) <= min(len(above), 4 * ranked["owner"].nunique())
    assert ranked.groupby("owner").size().max() <= 4
    assert ranked["revenue_at_risk"].is_monotonic_decreasing
    # every listed account has a reason, and the first is behavioural, not who it is
    assert ranked["reason_1"].notna().all()
    assert not ranked["reason_1"].str.match(r"(segment|tier|plan): ").any()
    assert ticket_scores == open_tickets
    assert drift == [
        ("churn", "feature"), ("churn", "prediction"),
        ("escalation", "feature"), ("escalation", "prediction"),
    ]  # fmt: skip
    export = pd.read_csv(ml_data.warehouse.parent / "exports" / "outreach_list.csv")
    assert export["account_id"].astype(str).tolist() == ranked["account_id"].astype(str).tolist()
    assert export["reason_1"].tolist() == ranked["reason_1"].tolist()
    reports = list((ml_data.warehouse.parent / "ml" / "drift").glob("*.html"))
    assert len(reports) == 4


def test_one_refresh_carries_the_holdout_it_drew_into_the_warehouse(ml_data: MLData) -> None:
    """The outreach list's holdout is written to the actions store after the store's regular
    copy; the same refresh's warehouse (`actions.outreach_records`) holds it all the same:
    every account the hash rule holds out of the list's quarter, none of them listed."""
    with duckdb.connect(str(ml_data.serving), read_only=True) as con:
        listed = con.execute("SELECT account_id, as_of_date FROM ml.outreach_list").df()
    as_of = pd.Timestamp(listed["as_of_date"].max()).date()
    period = actions.period_of(as_of)
    stored = actions.read_tables(ml_data.warehouse.parent / "actions.sqlite")["outreach_records"]
    drawn = stored[(stored["arm"] == "holdout") & (stored["listed_on"] == as_of.isoformat())]
    with ml_data.connect() as con:
        copied = con.execute(
            "SELECT account_id, period, listed_on FROM actions.outreach_records "
            "WHERE arm = 'holdout' AND listed_on = ?",
            [as_of],
        ).df()
    assert len(drawn) > 0
    assert sorted(copied["account_id"]) == sorted(drawn["account_id"])
    assert set(copied["period"]) == {period}
    assert all(actions.in_holdout(copied["account_id"], period, 0.2))
    assert not set(copied["account_id"]) & set(listed["account_id"])


def test_cli_lists_models_and_the_outreach_list(ml_data: MLData) -> None:
    import json
    import subprocess
    import sys

    env = isolated_env(SUPPORTOPS_DATA_DIR=str(ml_data.warehouse.parent))

    def cli(*args: str) -> str:
        command = [sys.executable, "-m", "orchestration.cli", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout

    cards = json.loads(cli("models", "--json"))
    assert {(c["task"], c["status"]) for c in cards} == {
        ("churn", "champion"),
        ("escalation", "champion"),
    }
    assert all({"data_window", "features", "metrics", "code_version"} <= set(c) for c in cards)
    listed = json.loads(
        cli("outreach", "--top", "5", "--min-probability", "0.2", "--format", "json")
    )
    with duckdb.connect(str(ml_data.serving), read_only=True) as con:
        expected = con.execute(
            "SELECT account_id FROM ml.outreach_list WHERE churn_probability >= 0.2 "
            "ORDER BY rank LIMIT 5"
        ).fetchall()
    assert [r["account_id"] for r in listed] == [a for (a,) in expected]
    assert all(r["churn_probability"] >= 0.2 for r in listed)
    csv_lines = cli("outreach", "--top", "3", "--format", "csv").splitlines()
    assert csv_lines[0].startswith("rank,account_id") and len(csv_lines) == 4


def test_a_daily_materialize_scores_with_the_champions_and_retrains_nothing(
    ml_data: MLData, tmp_path: Path
) -> None:
    """`supportops materialize` on a warehouse whose models have champions: the refresh
    ingests, builds, scores, monitors and publishes, and trains nothing (retraining is the
    weekly job's); no new model version, and the champions' scores are published."""
    import shutil

    from tests.conftest import landed_days, run_cli

    shutil.copytree(ml_data.warehouse.parent, tmp_path / "data")
    before = [(v.task, v.version) for v in list_versions(tmp_path / "data" / "models")]
    last = landed_days(tmp_path / "data" / "landing")[-1]

    run = run_cli(tmp_path, "materialize", "--from", last, "--to", last)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"landing days {last}..{last}, gates, dbt build, publish" in run.stdout
    assert [(v.task, v.version) for v in list_versions(tmp_path / "data" / "models")] == before
    with duckdb.connect(str(tmp_path / "data" / "serving.duckdb"), read_only=True) as con:
        scored = con.execute("SELECT DISTINCT model_version FROM ml.account_scores").fetchall()
        published = con.execute("SELECT data_as_of FROM main.serving_info").fetchone()
    assert scored == [(champion(tmp_path / "data" / "models", "churn").version,)]
    assert str(published[0]) == last
