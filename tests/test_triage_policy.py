"""The triage policy library on hand-built frames: parsing, threshold choice for stated
targets, the first-matching-rule decision and the backtest against a pandas recount."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml import policy
from ml.policy import PolicyError


def _validation() -> pd.DataFrame:
    """40 rows, probabilities 1.000, 0.975, ..., 0.025; positives at ranks 0-7, 12, 15,
    25 and 30 (12 in all). Hand-worked: precision >= 0.75 over at least 10 flagged rows
    holds down to rank 9 (8 of 10 = 0.8; 8 of 11 = 0.727), so the senior threshold is
    rank 9's 0.775; recall >= 0.8 needs 10 of 12 positives, first reached at rank 15
    (0.625), where precision is 10 of 16."""
    p = (40 - np.arange(40)) / 40
    y = np.zeros(40, dtype=bool)
    y[[0, 1, 2, 3, 4, 5, 6, 7, 12, 15, 25, 30]] = True
    order = np.random.default_rng(3).permutation(40)  # row order must not matter
    return pd.DataFrame({"ticket_id": order, "escalated_tier3": y[order], "probability": p[order]})


def _policy(senior_precision: float = 0.75, review_recall: float = 0.8) -> policy.Policy:
    data = policy.load_policy(policy.DEFAULT_POLICY).to_dict()
    data["thresholds"]["senior"]["target"]["at_least"] = senior_precision
    data["thresholds"]["review"]["target"]["at_least"] = review_recall
    return policy.parse_policy(data, "test policy")


def test_thresholds_are_chosen_for_their_targets_on_validation_rows() -> None:
    chosen = policy.choose_thresholds(_policy(), _validation(), "v0007")
    senior, review = chosen.thresholds["senior"], chosen.thresholds["review"]
    assert senior.value == pytest.approx(0.775)
    assert senior.chosen["precision"] == pytest.approx(0.8)
    assert senior.chosen["recall"] == pytest.approx(8 / 12)
    assert review.value == pytest.approx(0.625)
    assert review.chosen["recall"] == pytest.approx(10 / 12)
    assert review.chosen["precision"] == pytest.approx(10 / 16)
    assert chosen.label == "triage-v1+v0007"
    assert senior.chosen["rows"] == 40 and senior.chosen["positives"] == 12


def test_a_chosen_policy_round_trips_through_its_file(tmp_path) -> None:
    chosen = policy.choose_thresholds(_policy(), _validation(), "v0007")
    path = policy.write_policy(chosen, tmp_path / "policy.yml")
    again = policy.load_policy(path)
    assert again.label == "triage-v1+v0007"
    assert again.thresholds["senior"].value == pytest.approx(0.775)
    assert again.thresholds["senior"].chosen["precision"] == pytest.approx(0.8)
    # The file keeps the template's defaults beside the chosen values.
    assert again.to_dict()["thresholds"]["senior"]["default"] == 0.3
    assert [r.name for r in again.rules] == [r.name for r in chosen.rules]


def test_the_file_defaults_are_in_force_until_a_model_chooses() -> None:
    template = policy.load_policy(policy.DEFAULT_POLICY)
    assert template.label == "triage-v1"
    assert {n: t.value for n, t in template.thresholds.items()} == {"senior": 0.3, "review": 0.1}
    assert all(t.chosen is None for t in template.thresholds.values())


def test_no_validation_predictions_is_an_error_naming_the_model() -> None:
    with pytest.raises(PolicyError, match="v0002 kept no validation predictions"):
        policy.choose_thresholds(_policy(), pd.DataFrame(), "v0002")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rules"][0].update(action="escalate"), r"rules\[0\]\.action"),
        (lambda d: d["rules"][1]["when"].update(mood="bad"), r"rules\[1\]\.when\.mood"),
        (lambda d: d["rules"][0]["when"].update(probability_at_least="top"), "no threshold"),
        (lambda d: d["thresholds"]["senior"]["target"].update(metric="f1"), "target.metric"),
        (lambda d: d["thresholds"]["review"].update(default=1.5), r"thresholds\.review\.default"),
        (lambda d: d["rules"][4]["when"].update(tier="vip"), r"rules\[4\]\.when\.tier"),
        (lambda d: d.pop("version"), "version: is missing"),
    ],
)
def test_a_bad_policy_names_its_file_and_field(change, message) -> None:
    data = policy.load_policy(policy.DEFAULT_POLICY).to_dict()
    change(data)
    with pytest.raises(PolicyError, match=message) as caught:
        policy.parse_policy(data, "policies/draft.yml")
    assert str(caught.value).startswith("policies/draft.yml: ")


def _tickets() -> pd.DataFrame:
    """One ticket per rule of the default policy (senior 0.3, review 0.1) and three for none."""
    rows = [
        # p, negative, tier, category, priority, sla_state -> expected action, queue, rule
        (
            0.70,
            False,
            "standard",
            "billing",
            "normal",
            "low",
            "senior_review",
            "senior",
            "likely escalation",
        ),
        (0.20, True, "vip", "technical", "normal", "low", "senior_review", "senior", "unhappy vip"),
        (0.05, True, "vip", "bug", "normal", "low", "route", "bug", "default"),
        (0.20, False, "vip", "bug", "high", "low", "human_approval", "bug", "risky reply"),
        (
            0.02,
            False,
            "standard",
            "integration",
            "urgent",
            "high",
            "human_approval",
            "integration",
            "urgent",
        ),
        (0.02, False, "standard", "how_to", "low", "medium", "bot_answer", "bot", "bot can answer"),
        (0.02, True, "standard", "how_to", "low", "medium", "route", "how_to", "default"),
        (
            0.02,
            False,
            "vip",
            "account_access",
            "normal",
            "none",
            "route",
            "account_access",
            "default",
        ),
    ]
    columns = ["escalation_probability", "is_negative_sentiment", "tier", "category", "priority",
               "sla_state", "want_action", "want_queue", "want_rule"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def test_each_ticket_gets_the_first_rule_that_holds() -> None:
    frame = _tickets()
    decided = policy.decide(policy.load_policy(policy.DEFAULT_POLICY), frame)
    assert decided["action"].tolist() == frame["want_action"].tolist()
    assert decided["queue"].tolist() == frame["want_queue"].tolist()
    assert decided["rule"].tolist() == frame["want_rule"].tolist()


def test_deciding_without_a_needed_column_says_which() -> None:
    with pytest.raises(ValueError, match=r"lack columns \['sla_state'\]"):
        policy.decide(
            policy.load_policy(policy.DEFAULT_POLICY), _tickets().drop(columns="sla_state")
        )


def _history(n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 6, n)
    return pd.DataFrame(
        {
            "created_date": pd.Timestamp("2026-05-01")
            + pd.to_timedelta(rng.integers(0, 21, n), "D"),
            "escalation_probability": p,
            "escalated_tier3": rng.random(n) < p,
            "is_sla_breached": rng.random(n) < 0.2,
            "is_negative_sentiment": rng.random(n) < 0.3,
            "tier": rng.choice(["vip", "standard"], n, p=[0.2, 0.8]),
            "category": rng.choice(["billing", "how_to", "bug", "account_access"], n),
            "priority": rng.choice(["low", "normal", "high", "urgent"], n),
            "sla_state": rng.choice(["low", "medium", "high", "none"], n),
        }
    )


def test_backtest_figures_match_a_pandas_recount() -> None:
    rows = _history()
    chosen = policy.load_policy(policy.DEFAULT_POLICY)
    result = policy.backtest(chosen, rows)
    # Independent recount: the default policy's rules written out as plain boolean masks.
    p, neg = rows["escalation_probability"], rows["is_negative_sentiment"]
    senior = (p >= 0.3) | ((rows["tier"] == "vip") & neg & (p >= 0.1))
    approval = ~senior & ((p >= 0.1) | (rows["priority"] == "urgent"))
    flagged = senior | approval
    y = rows["escalated_tier3"]
    actions = result["actions"].set_index("action")
    assert actions.loc["senior_review", "tickets"] == senior.sum()
    assert actions.loc["human_approval", "tickets"] == approval.sum()
    assert actions.loc["senior_review", "precision"] == pytest.approx(y[senior].mean())
    assert actions.loc["senior_review", "recall"] == pytest.approx(y[senior].sum() / y.sum())
    assert actions.loc["any flag", "recall"] == pytest.approx(y[flagged].sum() / y.sum())
    assert actions.loc[list(policy.ACTIONS), "tickets"].sum() == len(rows)
    per_day = senior.groupby(rows["created_date"].dt.date).sum()
    got = result["senior_queue_per_day"].set_index("day")["senior_queue_tickets"]
    assert got.to_dict() == per_day.to_dict()
    sla = result["sla"].set_index("group")
    breached = rows["is_sla_breached"]
    assert sla.loc["flagged", "sla_breaches"] == breached[flagged].sum()
    assert sla.loc["unflagged", "breach_rate"] == pytest.approx(breached[~flagged].mean())


def test_tradeoff_curve_matches_a_recount_at_every_threshold() -> None:
    rows = _history()
    curve = policy.tradeoff_curve(rows, steps=20)
    p, y = rows["escalation_probability"], rows["escalated_tier3"]
    days = rows["created_date"].nunique()
    for point in curve.itertuples():
        above = p >= point.threshold
        assert point.flagged == above.sum()
        assert point.recall == pytest.approx(y[above].sum() / y.sum())
        assert point.flagged_per_day == pytest.approx(above.sum() / days)
        if above.any():
            assert point.precision == pytest.approx(y[above].mean())
