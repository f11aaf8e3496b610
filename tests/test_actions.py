"""The actions store, the outreach holdout, the uplift estimate and the planted effect.

No pipeline here: the store is read and written through its library and the warehouse
load runs on an in-memory DuckDB; the uplift is checked against pandas counts and an
independent interval implementation (statsmodels); the planted effect on a generated world
is measured from the world's own files (the simulated team's records and the CRM truth).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from extracts import actions
from extracts.generator.config import GeneratorConfig
from extracts.generator.core import generate
from extracts.generator.outreach import planted_uplift
from ml.feedback import uplift, uplift_table
from ml.pipeline import _hold_out
from tests.conftest import isolated_env

CS = actions.Reviewer("cs", actions.person_hash("Ana@Example.com ", b"key"))
# An account id not in the 2026-Q2 holdout at 20% (asserted where used).
FREE = "AC000003"


def test_store_round_trip_and_warehouse_load(tmp_path):
    store = tmp_path / "actions.sqlite"
    when = dt.datetime(2026, 5, 4, 10, 30)
    assert not actions.in_holdout([FREE], "2026-Q2", 0.2)[0]
    review = actions.record_review(
        store, 41, "override", "already_handled", CS,
        model_version="escalation-v3", escalation_probability=0.81, decided_at=when,
    )  # fmt: skip
    accept = actions.record_review(store, 42, "accept", "ignored for an accept", CS)
    contact = actions.record_contact(
        store, FREE, "reached", CS, contacted_at=when, listed_on=dt.date(2026, 5, 1),
        holdout_share=0.2,
    )  # fmt: skip
    held = actions.record_holdout(store, ["AC000010", "AC000011"], dt.date(2026, 5, 1), CS)
    again = actions.record_holdout(store, ["AC000010"], dt.date(2026, 5, 8), CS)
    assert (review, accept, contact, held, again) == (1, 2, 1, 2, 0)

    con = duckdb.connect()
    counts = actions.load_into_warehouse(con, store)
    assert counts == {"review_decisions": 2, "outreach_records": 3}
    reviews = con.execute(
        "select ticket_id, decision, reason, model_version, escalation_probability, "
        "reviewer_role, reviewer_hash, decided_at from actions.review_decisions "
        "order by decision_id"
    ).fetchall()
    # The hash is HMAC-SHA256 of the trimmed, lower-cased email, computed here by hand.
    import hmac

    expected_hash = hmac.new(b"key", b"ana@example.com", hashlib.sha256).hexdigest()
    assert reviews[0] == (41, "override", "already_handled", "escalation-v3", 0.81, "cs",
                          expected_hash, when)  # fmt: skip
    assert reviews[1][1:3] == ("accept", "agree")
    records = con.execute(
        "select account_id, period, listed_on, arm, contacted_at, outcome "
        "from actions.outreach_records order by record_id"
    ).fetchall()
    assert records == [
        (FREE, "2026-Q2", dt.date(2026, 5, 1), "contacted", when, "reached"),
        ("AC000010", "2026-Q2", dt.date(2026, 5, 1), "holdout", None, None),
        ("AC000011", "2026-Q2", dt.date(2026, 5, 1), "holdout", None, None),
    ]
    # No email anywhere in the store file.
    assert b"example.com" not in store.read_bytes().lower()


def test_bad_input_is_refused_naming_the_field(tmp_path):
    store = tmp_path / "actions.sqlite"
    with pytest.raises(actions.ActionError, match="decision must be one of accept, override"):
        actions.record_review(store, 1, "maybe", "", CS)
    with pytest.raises(actions.ActionError, match="reason of an override"):
        actions.record_review(store, 1, "override", "", CS)
    with pytest.raises(actions.ActionError, match="outcome must be one of"):
        actions.record_contact(store, FREE, "happy", CS, holdout_share=0.2)
    held = next(a for a in (f"AC{i:06d}" for i in range(1, 100))
                if actions.in_holdout([a], "2026-Q2", 0.2)[0])  # fmt: skip
    with pytest.raises(actions.ActionError, match=f"{held} is in the 2026-Q2 holdout"):
        actions.record_contact(
            store, held, "reached", CS, listed_on=dt.date(2026, 4, 2), holdout_share=0.2
        )
    # A hand-edited row that does not cast stops the warehouse load, naming table, row, field.
    actions.record_review(store, 5, "accept", "", CS)
    with sqlite3.connect(store) as raw:
        raw.execute("update review_decisions set decided_at = 'yesterday' where ticket_id = 5")
    with pytest.raises(actions.ActionError, match="table review_decisions, decision_id 1, "
                       "field decided_at: 'yesterday' is not a timestamp"):  # fmt: skip
        actions.load_into_warehouse(duckdb.connect(), store)


WRITER = """
import sys
from extracts import actions
store, who = sys.argv[1], sys.argv[2]
for i in range(60):
    actions.record_review(store, 1000 * int(who) + i, "accept", "", actions.Reviewer(who))
"""


def test_two_writers_at_once_lose_nothing(tmp_path):
    """Two processes write 60 decisions each at the same time: all 120 land, ids unique."""
    store = tmp_path / "actions.sqlite"
    actions.read_tables(store)  # create it, in WAL mode, before the race
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(store), who], env=isolated_env(),
                         cwd=Path(__file__).resolve().parent.parent, stderr=subprocess.PIPE)
        for who in ("1", "2")
    ]  # fmt: skip
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read().decode()
    decisions = actions.read_tables(store)["review_decisions"]
    assert len(decisions) == 120
    assert decisions["decision_id"].is_unique
    assert sorted(decisions["ticket_id"]) == [*range(1000, 1060), *range(2000, 2060)]
    with sqlite3.connect(store) as con:
        assert con.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_holdout_is_deterministic_with_its_share_and_new_each_period():
    ids = [f"AC{i:06d}" for i in range(1, 20_001)]
    q2 = np.array(actions.in_holdout(ids, "2026-Q2", 0.2))
    # The rule by hand: the first 8 bytes of sha256("<id>|<period>") below 20% of 2**64.
    by_hand = [
        int(hashlib.sha256(f"{a}|2026-Q2".encode()).hexdigest()[:16], 16) < 0.2 * 2**64
        for a in ids[:500]
    ]
    assert list(q2[:500]) == by_hand
    # Another process (another hash seed) assigns the same accounts.
    other = subprocess.run(
        [sys.executable, "-c", "from extracts import actions; "
         "print(sum(actions.in_holdout([f'AC{i:06d}' for i in range(1, 20001)], '2026-Q2', .2)))"],
        env=isolated_env(), cwd=Path(__file__).resolve().parent.parent,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert int(other.stdout) == q2.sum()
    # The share: 20% of 20,000 within four binomial standard deviations (4 x 56.6).
    assert abs(q2.sum() - 4000) < 4 * math.sqrt(20_000 * 0.2 * 0.8)
    # A new period draws anew: about 20% of Q2's holdout is held out again in Q3.
    q3 = np.array(actions.in_holdout(ids, "2026-Q3", 0.2))
    assert abs((q2 & q3).sum() / q2.sum() - 0.2) < 0.04
    assert not any(actions.in_holdout(ids, "2026-Q2", 0.0))
    assert actions.period_of(dt.date(2026, 12, 31)) == "2026-Q4"
    assert actions.period_end("2026-Q4") == dt.date(2027, 1, 1)
    assert actions.period_end("2026-Q1") == dt.date(2026, 4, 1)


def test_the_list_keeps_its_holdout_off_and_records_it(tmp_path):
    store = tmp_path / "actions.sqlite"
    ids = [f"AC{i:06d}" for i in range(1, 201)]
    ranked = pd.DataFrame(
        {"rank": range(1, 201), "account_id": ids, "as_of_date": pd.Timestamp("2026-05-20")}
    )
    kept, held = _hold_out(ranked, 0.2, store)
    expected = {a for a, h in zip(ids, actions.in_holdout(ids, "2026-Q2", 0.2), strict=True) if h}
    assert held == len(expected) > 0
    assert set(kept["account_id"]) == set(ids) - expected
    assert list(kept["rank"]) == list(range(1, len(kept) + 1))
    assert list(kept["account_id"]) == [a for a in ids if a not in expected]  # order kept
    records = actions.read_tables(store)["outreach_records"]
    assert set(records["account_id"]) == expected
    assert set(records["arm"]) == {"holdout"} and set(records["listed_on"]) == {"2026-05-20"}
    # A rebuild of the list the same quarter holds out the same accounts, recorded once.
    again, _ = _hold_out(ranked.assign(as_of_date=pd.Timestamp("2026-06-03")), 0.2, store)
    assert list(again["account_id"]) == list(kept["account_id"])
    assert len(actions.read_tables(store)["outreach_records"]) == len(expected)


# Hand-built: period 2026-Q2, 10 held out (4 churn), 30 contacted (3 churn); 2026-Q3 is not
# mature and must be left out; a held-out account contacted anyway stays in the holdout.
def _units() -> pd.DataFrame:
    rows = [("2026-Q2", "holdout", i < 4, True) for i in range(10)]
    rows += [("2026-Q2", "contacted", i < 3, True) for i in range(30)]
    rows += [("2026-Q3", "holdout", True, False)] * 5 + [("2026-Q3", "contacted", False, False)]
    frame = pd.DataFrame(rows, columns=["outreach_period", "arm", "is_churned", "is_mature"])
    return frame.assign(account_id=[f"A{i}" for i in range(len(frame))])


def test_uplift_against_pandas_and_an_independent_interval():
    table = uplift_table(_units())
    overall = table.iloc[0]
    assert list(table["scope"]) == ["all mature periods", "2026-Q2"]
    mature = _units()[_units()["is_mature"]]
    rates = mature.groupby("arm")["is_churned"].mean()
    assert overall["holdout_churn_rate"] == pytest.approx(rates["holdout"]) == 0.4
    assert overall["contacted_churn_rate"] == pytest.approx(rates["contacted"]) == 0.1
    assert overall["uplift"] == pytest.approx(0.3)
    low, high = confint_proportions_2indep(4, 10, 3, 30, method="newcomb", compare="diff")
    assert (overall["uplift_low"], overall["uplift_high"]) == (
        pytest.approx(low, abs=1e-9),
        pytest.approx(high, abs=1e-9),
    )
    # Hand-worked Wilson bounds of 4/10 (0.1682, 0.6873) and 3/30 (0.0346, 0.2562):
    # low = 0.3 - sqrt(0.2318^2 + 0.1562^2) = 0.0205, high = 0.3 + sqrt(0.2873^2 + 0.0654^2).
    assert overall["uplift_low"] == pytest.approx(0.0205, abs=5e-4)
    assert overall["uplift_high"] == pytest.approx(0.5947, abs=5e-4)
    empty = uplift(mature[mature["arm"] == "contacted"])
    assert empty["holdout_accounts"] == 0 and empty["uplift"] is None


# 700 accounts over Feb..Sep 2026: the simulated team lists at Feb 2, Apr 1 and Jul 1; Q1 and
# Q2 have ended by the last day (Aug 30), Q3 has not.
PLANTED = GeneratorConfig(
    accounts=700, start=dt.date(2026, 2, 2), days=210, seed=3, outreach_effect=0.5
)


@pytest.fixture(scope="module")
def planted_world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("planted")
    generate(PLANTED, root)
    return root


def test_simulated_team_follows_the_holdout_rule(planted_world):
    records = actions.read_tables(planted_world / "actions.sqlite")["outreach_records"]
    assert set(records["period"]) == {"2026-Q1", "2026-Q2", "2026-Q3"}
    for period, rows in records.groupby("period"):
        expected = actions.in_holdout(rows["account_id"], period, PLANTED.outreach_holdout)
        assert list(rows["arm"] == "holdout") == expected
    truth = pq.read_table(planted_world / "truth" / "outreach.parquet").to_pandas()
    assert len(truth) == len(records)
    # Contacted accounts are the ones whose truth churn probability outreach lowered.
    contacted = truth[truth["arm"] == "contacted"]
    assert (contacted["churn_probability_treated"] < contacted["churn_probability_untreated"]).all()


def test_no_effect_no_team(tmp_path):
    generate(replace(PLANTED, accounts=60, days=40, outreach_effect=0.0), tmp_path)
    assert not (tmp_path / "actions.sqlite").exists()
    assert not (tmp_path / "truth" / "outreach.parquet").exists()


def test_measured_uplift_covers_the_planted_effect(planted_world):
    """The estimate from what the pipeline can see (the team's records, the churn dates)
    against the planted uplift computed from the truth's exact probabilities."""
    records = actions.read_tables(planted_world / "actions.sqlite")["outreach_records"]
    churn = pq.read_table(planted_world / "truth" / "accounts.parquet").to_pandas()
    units = records.merge(churn, on="account_id", how="left")
    listed = pd.to_datetime(units["listed_on"])
    end = pd.to_datetime(units["period"].map(lambda p: actions.period_end(p)))
    churned_on = pd.to_datetime(units["churn_date"])
    last_day = PLANTED.start + dt.timedelta(days=PLANTED.days)
    units = units.assign(
        outreach_period=units["period"],
        is_churned=(churned_on >= listed) & (churned_on < end),
        is_mature=end <= pd.Timestamp(last_day),
    )
    measured = uplift_table(units).iloc[0]
    planted = planted_uplift(pq.read_table(planted_world / "truth" / "outreach.parquet"))
    assert planted > 0.02  # a real effect to find
    assert measured["uplift_low"] <= planted <= measured["uplift_high"], (measured, planted)
    assert measured["uplift_low"] > 0, measured  # and outreach is seen to work
