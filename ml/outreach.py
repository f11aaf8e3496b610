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


def outreach_list(
    scores: pd.DataFrame,
    reasons: pd.DataFrame,
    accounts: pd.DataFrame,
    top: int | None = None,
    min_probability: float = 0.0,
) -> pd.DataFrame:
    """Scored accounts ranked by revenue at risk (ARR x churn probability), with reasons.

    `scores` comes from `score_accounts`, `reasons` from `reasons.explain`, `accounts`
    from `current_accounts`; an account missing from `accounts` keeps empty name fields.
    """
    listed = (
        scores[scores["churn_probability"] >= min_probability]
        .merge(reasons, on="account_id", how="left")
        .merge(accounts, on="account_id", how="left")
        .sort_values(["revenue_at_risk", "account_id"], ascending=[False, True], kind="stable")
    )
    if top is not None:
        listed = listed.head(top)
    listed = listed.reset_index(drop=True)
    listed["rank"] = listed.index + 1
    return listed[OUTREACH_COLUMNS]
