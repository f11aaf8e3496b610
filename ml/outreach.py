"""The proactive outreach list: who customer success should call first, and why."""

from __future__ import annotations

import duckdb
import pandas as pd

OUTREACH_COLUMNS = [
    "rank",
    "account_id",
    "account_name",
    "segment",
    "tier",
    "plan",
    "owner",
    "arr",
    "churn_probability",
    "revenue_at_risk",
    "health_band",
    "reason_1",
    "reason_2",
    "reason_3",
    "as_of_date",
]


def current_accounts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Name, owner and CRM attributes from each account's current dim_accounts version."""
    return con.execute(
        """
        select account_id, account_name, segment, tier, plan, account_owner as owner
        from marts.dim_accounts
        where is_current
        """
    ).df()


def select_for_capacity(
    scores: pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    per_owner: int | None,
    min_probability: float = 0.0,
) -> pd.DataFrame:
    """The accounts a team can work this week: at least `min_probability` likely to churn
    (the threshold chosen for a target precision), then each owner's `per_owner` accounts
    with the most revenue at risk (None: no cap). Accounts without an owner share one queue.
    """
    listed = scores[scores["churn_probability"] >= min_probability].merge(
        accounts, on="account_id", how="left"
    )
    listed = listed.sort_values(
        ["revenue_at_risk", "account_id"], ascending=[False, True], kind="stable"
    )
    if per_owner is not None:
        queue = listed["owner"].fillna("(no owner)")
        listed = listed[listed.groupby(queue).cumcount() < per_owner]
    return listed.reset_index(drop=True)


def outreach_list(
    scores: pd.DataFrame,
    reasons: pd.DataFrame,
    accounts: pd.DataFrame,
    top: int | None = None,
    min_probability: float = 0.0,
    per_owner: int | None = None,
) -> pd.DataFrame:
    """Accounts ranked by revenue at risk (ARR x churn probability), with reasons.

    `scores` comes from `score_accounts`, `reasons` from `reasons.explain`, `accounts`
    from `current_accounts`; an account missing from `accounts` keeps empty name fields.
    `per_owner` and `min_probability` size the list for a team (`select_for_capacity`).
    """
    listed = select_for_capacity(
        scores, accounts, per_owner=per_owner, min_probability=min_probability
    ).merge(reasons, on="account_id", how="left")
    if top is not None:
        listed = listed.head(top)
    listed = listed.reset_index(drop=True)
    listed["rank"] = listed.index + 1
    return listed[OUTREACH_COLUMNS]


def coverage(listed: pd.DataFrame) -> dict[str, float]:
    """What working the list is worth: the churns it is expected to hold (the sum of the
    calibrated probabilities) and the revenue at risk it covers."""
    return {
        "accounts": float(len(listed)),
        "expected_churns": float(listed["churn_probability"].sum()),
        "revenue_at_risk": float(listed["revenue_at_risk"].sum()),
    }
