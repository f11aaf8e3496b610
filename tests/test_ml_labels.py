"""Labels and splits on hand-built warehouse tables whose answers are written out by hand."""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from ml.datasets import churn_dataset, escalation_dataset, random_split, time_split
from ml.feedback import with_review_labels
from ml.model import FeatureSet, TaskSpec

D = dt.date


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    """Snapshots run 2026-01-01..2026-06-30.

    A cancels: its churned version starts 2026-04-10. B changes ARR but never churns.
    C does not renew: its subscription is expired from 2026-06-20.
    """
    con = duckdb.connect()
    con.execute("create schema features; create schema marts")
    con.execute(
        """
        create table marts.dim_accounts as select * from (values
            ('A', date '2026-01-01', date '2026-04-10', date '2026-04-09', 'active', 'active', false),
            ('A', date '2026-04-10', null, date '2026-06-30', 'churned', 'cancelled', true),
            ('B', date '2026-01-01', date '2026-03-01', date '2026-02-28', 'active', 'active', false),
            ('B', date '2026-03-01', null, date '2026-06-30', 'active', 'active', true),
            ('C', date '2026-01-01', date '2026-06-20', date '2026-06-19', 'active', 'active', false),
            ('C', date '2026-06-20', null, date '2026-06-30', 'churned', 'expired', true)
        ) as t(account_id, valid_from, valid_to, last_snapshot_date, account_status,
               subscription_status, is_current)
        """
    )
    rows = [
        ("A", D(2026, 1, 10), "active", 60),
        ("A", D(2026, 1, 11), "active", 60),
        ("A", D(2026, 4, 10), "active", 60),
        ("A", D(2026, 4, 11), "churned", 60),
        ("B", D(2026, 1, 11), "active", 60),
        ("B", D(2026, 4, 2), "active", 60),
        ("B", D(2026, 4, 3), "active", 60),
        ("C", D(2026, 3, 22), "active", 60),
        ("C", D(2026, 3, 23), "active", 60),
        ("C", D(2026, 1, 2), "active", 1),
    ]
    features = pd.DataFrame(
        rows, columns=["account_id", "as_of_date", "account_status", "history_days"]
    )
    features["subscription_status"] = features["account_status"].map(
        {"active": "active", "churned": "cancelled"}
    )
    # inputs of the builder's per-seat ratios
    features = features.assign(
        events_7d=70, events_prior_28d=280, seats=10, tickets_30d=2, errors_28d=35,
        days_to_renewal=200, auto_renew=True,
    )  # fmt: skip
    # A's renewal comes into the 90-day horizon on 2026-01-11, without auto-renew
    features.loc[features["account_id"] == "A", "auto_renew"] = False
    features.loc[:1, "days_to_renewal"] = [90, 89]
    # B's use halves, then doubles its 90-day peak
    features.loc[5:6, "events_7d"] = [35, 140]
    health = features[["account_id", "as_of_date"]].assign(health_score=80, health_band="green")
    con.register("features_df", features)
    con.register("health_df", health)
    con.execute("create table features.feat_account_daily as select * from features_df")
    con.execute("create table features.health_score_daily as select * from health_df")
    return con


def test_churn_labels_follow_the_crm_versions(warehouse: duckdb.DuckDBPyConnection) -> None:
    frame = churn_dataset(warehouse, horizon_days=90)
    got = {
        (r.account_id, r.as_of_date.date()): (r.churned, r.label_mature) for r in frame.itertuples()
    }
    assert got == {
        # the window [D, D + 90) of 2026-01-10 ends on 2026-04-09, the day before A churns
        ("A", D(2026, 1, 10)): (False, True),
        ("A", D(2026, 1, 11)): (True, True),
        # churned on its as-of day; the label is known, but the window is not yet covered
        ("A", D(2026, 4, 10)): (True, False),
        ("B", D(2026, 1, 11)): (False, True),
        # 2026-04-02 + 89 days is the newest snapshot, 2026-06-30; a day later is not seen
        ("B", D(2026, 4, 2)): (False, True),
        ("B", D(2026, 4, 3)): (False, False),
        ("C", D(2026, 3, 22)): (False, True),
        ("C", D(2026, 3, 23)): (True, True),
    }
    assert frame["health_score"].eq(80).all()
    steady = frame[frame["events_7d"] == 70]
    assert len(steady) == 6
    assert steady["events_per_seat_7d"].eq(7.0).all()
    assert frame["tickets_per_seat_30d"].eq(0.2).all()
    assert steady["errors_per_event_28d"].eq(0.1).all()
    flags = frame.set_index(["account_id", frame["as_of_date"].dt.date])
    due = flags[["renewal_within_90d", "renewal_within_90d_manual"]]
    assert due.loc[("A", D(2026, 1, 10))].tolist() == [False, False]
    assert due.loc[("A", D(2026, 1, 11))].tolist() == [True, True]
    assert not due.drop([("A", D(2026, 1, 11))]).any().any()
    # B: 35 against the peak 70 of 2026-01-11; then 140 against itself, and the mean of
    # 70, 35 and 140; the 2026-01-11 row has only itself
    assert flags.loc[("B", D(2026, 4, 2)), "usage_vs_peak_90d"] == 0.5
    assert flags.loc[("B", D(2026, 4, 3)), "usage_vs_peak_90d"] == 1.0
    assert flags.loc[("B", D(2026, 4, 3)), "usage_vs_avg_90d"] == pytest.approx(140 / (245 / 3))
    assert flags.loc[("B", D(2026, 1, 11)), "usage_vs_avg_90d"] == 1.0


def test_a_start_day_keeps_later_rows_with_their_usage_ratios_over_earlier_days(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    """Monitoring reads from a start day: the rows from then on, exactly as the whole
    dataset has them (B's 2026-04-02 ratio still compares with its 2026-01-11 peak)."""
    whole = churn_dataset(warehouse, horizon_days=90)
    later = churn_dataset(warehouse, horizon_days=90, start=D(2026, 4, 2))
    kept = whole[whole["as_of_date"] >= pd.Timestamp(2026, 4, 2)].reset_index(drop=True)
    assert len(kept) == 3 < len(whole)
    pd.testing.assert_frame_equal(later, kept)
    assert later.loc[later["account_id"] == "B", "usage_vs_peak_90d"].tolist() == [0.5, 1.0]


def test_mature_only_keeps_the_rows_whose_labels_can_no_longer_change(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    """What monitoring reads for live performance: the mature rows, as the whole set has them
    (A's 2026-04-10 and B's 2026-04-03 rows are not mature yet)."""
    whole = churn_dataset(warehouse, horizon_days=90)
    mature = churn_dataset(warehouse, horizon_days=90, mature_only=True)
    expected = whole[whole["label_mature"]].reset_index(drop=True)
    assert len(expected) == 6 < len(whole)
    pd.testing.assert_frame_equal(mature, expected)


def test_a_shorter_horizon_moves_the_labels(warehouse: duckdb.DuckDBPyConnection) -> None:
    frame = churn_dataset(warehouse, horizon_days=30)
    churned = frame[frame["churned"]]
    assert list(zip(churned["account_id"], churned["as_of_date"].dt.date, strict=True)) == [
        ("A", D(2026, 4, 10))
    ]


def test_escalation_labels_and_maturity() -> None:
    con = duckdb.connect()
    con.execute("create schema features; create schema marts")
    con.execute(
        """
        create table marts.fct_tickets as select * from (values
            (1, true, false, timestamp '2026-06-30 12:00:00', 60, true, null),
            (2, false, true, timestamp '2026-06-30 12:00:00', 240, false, false),
            (3, false, true, timestamp '2026-06-30 12:00:00', 60, null, null),
            (4, true, true, timestamp '2026-06-30 12:00:00', 60, false, true)
        ) as t(ticket_id, is_escalated_to_tier3, is_open, data_as_of,
               sla_first_response_target_minutes, is_sla_first_response_breached,
               is_sla_resolution_breached)
        """
    )
    con.execute(
        """
        create table features.feat_ticket_at_creation as select * from (values
            (1, timestamp '2026-06-29 09:00:00', date '2026-06-29'),
            (2, timestamp '2026-06-10 09:00:00', date '2026-06-10'),
            (3, timestamp '2026-06-28 09:00:00', date '2026-06-28'),
            (4, timestamp '2026-06-16 11:00:00', date '2026-06-16')
        ) as t(ticket_id, created_at, created_date)
        """
    )
    frame = escalation_dataset(con, maturity_days=14).set_index("ticket_id")
    assert frame["escalated_tier3"].to_dict() == {1: True, 2: False, 3: False, 4: True}
    # resolved, open 20 days, open 2 days, open 14 days and 1 hour
    assert frame["label_mature"].to_dict() == {1: True, 2: True, 3: False, 4: True}
    # an SLA breached is either clock; an unknown clock is not a breach
    assert frame["is_sla_breached"].to_dict() == {1: True, 2: False, 3: False, 4: True}
    assert frame["sla_target_minutes"].to_dict() == {1: 60, 2: 240, 3: 60, 4: 60}
    # a window keeps the tickets created on its days, both ends included
    window = escalation_dataset(
        con, maturity_days=14, start=dt.date(2026, 6, 16), end=dt.date(2026, 6, 28)
    )
    assert sorted(window["ticket_id"]) == [3, 4]
    # monitoring reads the mature tickets only: 3 is open and two days old
    mature = escalation_dataset(con, maturity_days=14, mature_only=True)
    assert sorted(mature["ticket_id"]) == [1, 2, 4]


def _spec(horizon: int, test_days: int) -> TaskSpec:
    return TaskSpec("t", FeatureSet([], []), "y", ("day",), date_column="day",
                    horizon_days=horizon, test_days=test_days, mature_column="label_mature")  # fmt: skip


def test_time_split_leaves_the_label_horizon_between_train_and_test() -> None:
    days = pd.date_range("2026-01-01", periods=100, freq="D")
    frame = pd.DataFrame({"day": days, "label_mature": days <= "2026-03-31"})
    split = time_split(frame, _spec(horizon=20, test_days=10))
    # mature days end 2026-03-31 (day 90): test is the last 10 of them
    assert split.test["day"].min() == pd.Timestamp("2026-03-22")
    assert split.test["day"].max() == pd.Timestamp("2026-03-31")
    # a train row as of D sees [D, D + 20): the last one ends the day before the test
    assert split.train["day"].max() == pd.Timestamp("2026-03-02")
    assert split.train["day"].min() == pd.Timestamp("2026-01-01")
    assert not split.train["label_mature"].eq(False).any()
    assert split.windows()["train"] == {"start": "2026-01-01", "end": "2026-03-02"}


def test_time_split_refuses_a_history_too_short() -> None:
    days = pd.date_range("2026-01-01", periods=30, freq="D")
    frame = pd.DataFrame({"day": days, "label_mature": True})
    with pytest.raises(ValueError, match="needs more than"):
        time_split(frame, _spec(horizon=21, test_days=10))


def test_the_demo_world_gives_churn_training_four_months_of_as_of_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo's length is set by the churn design: 35 days of feature history, training
    rows, a 90-day purge, a 14-day test window and 90 days for the labels to mature. Its
    days are priced (cost model) and partitioned (the settings' default start)."""
    from config.settings import get_settings
    from extracts.generator import SCALES
    from ml.datasets import MIN_HISTORY_DAYS
    from ml.tasks import CHURN

    demo = SCALES["demo"]
    # as-of day D (D days after the first snapshot) is mature when D + 90 <= days
    as_of = pd.date_range(demo.start + dt.timedelta(days=MIN_HISTORY_DAYS),
                          demo.start + dt.timedelta(days=demo.days), freq="D")  # fmt: skip
    offsets = (as_of - pd.Timestamp(demo.start)).days
    frame = pd.DataFrame({"as_of_date": as_of, "label_mature": offsets + 90 <= demo.days})
    split = time_split(frame, CHURN)
    # by hand for 360 days: mature as-of days 35..270, test 257..270, training 35..167
    # (a row as of 167 is labelled from [167, 257), closed when the test opens)
    assert split.windows()["test"]["end"] == (demo.start + dt.timedelta(days=270)).isoformat()
    assert len(split.train) == 133
    monkeypatch.delenv("SUPPORTOPS_PARTITIONS_START", raising=False)
    assert get_settings().partitions_start == demo.start
    seed = Path(__file__).parents[1] / "dbt_project" / "seeds" / "cost_model.csv"
    prices = pd.read_csv(seed, parse_dates=["effective_from"])
    assert prices["effective_from"].min() <= pd.Timestamp(demo.start)


def _reviewed_spec(**kw) -> TaskSpec:
    return TaskSpec("t", FeatureSet([], []), "y", ("day",), date_column="day", horizon_days=20,
                    test_days=10, mature_column="label_mature", review_label_column="review",
                    review_time_column="reviewed_at", **kw)  # fmt: skip


def test_review_labels_train_only_where_the_outcome_cannot_and_before_the_test_window() -> None:
    """100 days, outcomes mature to 2026-03-31, so test is 03-22..03-31 and outcomes train up
    to 03-02 (20-day gap). Reviewed: A (02-01, mature: its outcome wins), F (02-20, not
    mature: the review flips it to True), B (03-10, in the gap, reviewed 03-11: used), C (in
    the gap but reviewed when the test window opened: not used), D (test window: keeps its
    outcome), E (04-05, after the mature days: not used)."""
    days = pd.date_range("2026-01-01", periods=100, freq="D")
    frame = pd.DataFrame({"day": days, "y": False, "label_mature": days <= "2026-03-31",
                          "review": None, "reviewed_at": pd.NaT})  # fmt: skip
    reviews = {  # day: (review label, reviewed at)
        "2026-02-01": (True, "2026-02-02 09:00"),
        "2026-02-20": (True, "2026-02-21 09:00"),
        "2026-03-10": (True, "2026-03-11 09:00"),
        "2026-03-15": (True, "2026-03-22 00:00"),
        "2026-03-25": (True, "2026-03-26 09:00"),
        "2026-04-05": (False, "2026-04-06 09:00"),
    }
    for day, (label, at) in reviews.items():
        row = frame["day"] == day
        frame.loc[row, ["review", "reviewed_at"]] = [label, pd.Timestamp(at)]
    frame.loc[frame["day"] == "2026-02-20", "label_mature"] = False

    split = time_split(frame, _reviewed_spec())
    train = split.train.set_index(split.train["day"].dt.strftime("%Y-%m-%d"))
    assert split.review_labels == 2
    # 61 mature outcome days to 03-02 less F's, plus F and B by their reviews
    assert len(train) == 61 - 1 + 2 and train.index.is_unique
    assert sorted(train.index[train["y"]]) == ["2026-02-20", "2026-03-10"]
    assert not {"2026-03-15", "2026-03-25", "2026-04-05"} & set(train.index)
    assert len(split.test) == 10 and not split.test["y"].any()  # D keeps its outcome
    # Without review columns the split is the outcome-only one.
    plain = time_split(frame, _spec(horizon=20, test_days=10))
    assert plain.review_labels == 0 and len(plain.train) == 60


def test_review_labels_of_test_groups_stay_out_of_a_random_split() -> None:
    """Ten accounts, each with 9 mature days and one unmatured reviewed day: the reviews of
    the training accounts train (label True), those of the test accounts nowhere."""
    frame = pd.DataFrame({
        "g": [f"A{i}" for i in range(10) for _ in range(10)],
        "day": list(pd.date_range("2026-01-01", periods=10, freq="D")) * 10,
        "y": False, "label_mature": [d < 9 for _ in range(10) for d in range(10)],
    })  # fmt: skip
    frame["review"] = frame["label_mature"].map({True: None, False: True})
    frame["reviewed_at"] = pd.Timestamp("2026-01-11")
    split = random_split(frame, _reviewed_spec(group_column="g"), seed=3)
    test_groups = set(split.test["g"])
    assert len(test_groups) == 2 and len(split.test) == 18
    assert split.review_labels == 8
    reviewed = split.train[~split.train["label_mature"]]
    assert set(reviewed["g"]) == {f"A{i}" for i in range(10)} - test_groups
    assert reviewed["y"].all() and split.train["label_mature"].sum() == 8 * 9


def test_review_labels_join_the_escalation_frame_by_ticket() -> None:
    frame = pd.DataFrame({"ticket_id": [1, 2, 3], "escalated_tier3": [False, True, False]})
    labels = pd.DataFrame({"ticket_id": [2], "review_label": [False], "model_version": ["v1"],
                           "decided_at": [pd.Timestamp("2026-05-02 10:00")]})  # fmt: skip
    joined = with_review_labels(frame, labels)
    assert joined["ticket_id"].tolist() == [1, 2, 3]
    assert joined["review_label"].isna().tolist() == [True, False, True]
    assert joined.loc[1, "review_label"] == False  # noqa: E712
    assert joined["review_decided_at"].notna().tolist() == [False, True, False]


def test_reviewer_checks_and_training_share_one_maturity_rule() -> None:
    """fct_review_decisions calls an outcome final after the dbt var's days; training after
    escalation_dataset's maturity_days: the two must agree, or reviewers are checked against
    outcomes training would still call open."""
    project = yaml.safe_load(
        (Path(__file__).parents[1] / "dbt_project/dbt_project.yml").read_text()
    )
    default = inspect.signature(escalation_dataset).parameters["maturity_days"].default
    assert project["vars"]["escalation_label_maturity_days"] == default == 14
