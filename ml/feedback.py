"""What people's actions tell the models: the uplift of outreach, and reviewers' labels.

A reviewer's verdict on a flagged ticket is a label days before the helpdesk's outcome
matures: escalation training uses it where the outcome cannot be used yet, never across
the test window's boundary (`with_review_labels`, `ml.datasets.review_rows`).

The uplift compares churn among the accounts contacted with churn among the random holdout
kept off the list (`fct_outreach_outcomes`): since the holdout is drawn by a hash of the
account id and period, the two arms differ only by the outreach, so the difference in
their churn rates is its effect (by assignment: a held-out account contacted anyway stays
in the holdout). Its 95% interval is Newcombe's hybrid score interval, built from each
arm's Wilson interval: it keeps sensible bounds with the few churns a holdout has.
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from extracts.catalog import table_exists
from serving.kpis import Z_95, wilson_interval

UPLIFT_COLUMNS = [
    "scope", "holdout_accounts", "holdout_churned", "holdout_churn_rate",
    "contacted_accounts", "contacted_churned", "contacted_churn_rate",
    "uplift", "uplift_low", "uplift_high",
]  # fmt: skip


def uplift(units: pd.DataFrame, z: float = Z_95) -> dict[str, float | int | None]:
    """Churn rate of the holdout minus that of the contacted (positive: outreach keeps
    customers), with Newcombe's interval; `units` has `arm` and `is_churned` per account
    and period. Rates and bounds are None for an arm without accounts."""
    counts = {}
    for arm in ("holdout", "contacted"):
        churned = units.loc[units["arm"] == arm, "is_churned"].astype(bool)
        counts[arm] = (int(churned.sum()), len(churned))
    (k1, n1), (k2, n2) = counts["holdout"], counts["contacted"]
    row: dict[str, float | int | None] = {
        "holdout_accounts": n1, "holdout_churned": k1,
        "holdout_churn_rate": k1 / n1 if n1 else None,
        "contacted_accounts": n2, "contacted_churned": k2,
        "contacted_churn_rate": k2 / n2 if n2 else None,
        "uplift": None, "uplift_low": None, "uplift_high": None,
    }  # fmt: skip
    if n1 and n2:
        p1, p2 = k1 / n1, k2 / n2
        (l1, u1), (l2, u2) = wilson_interval(k1, n1, z), wilson_interval(k2, n2, z)
        row["uplift"] = p1 - p2
        row["uplift_low"] = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        row["uplift_high"] = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return row


def uplift_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The uplift over all mature periods (`scope` = all), then per mature period."""
    mature = outcomes[outcomes["is_mature"].astype(bool)]
    rows = [{"scope": "all mature periods", **uplift(mature)}]
    for period, units in sorted(mature.groupby("outreach_period")):
        rows.append({"scope": period, **uplift(units)})
    return pd.DataFrame(rows, columns=UPLIFT_COLUMNS)


def outreach_outcomes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """`marts.fct_outreach_outcomes` (warehouse or serving copy)."""
    return con.execute(
        "select * from marts.fct_outreach_outcomes order by outreach_period, account_id"
    ).df()


def review_labels(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Reviewers' labels for escalation training: per reviewed ticket, its latest decision
    (true: the flag was right) with the model version that flagged it."""
    return con.execute(
        """
        select ticket_id, review_label, decision_reason, model_version, decided_at
        from marts.fct_review_decisions
        where is_latest_for_ticket
        order by ticket_id
        """
    ).df()


def with_review_labels(frame: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The escalation frame with each ticket's review label and when it was given
    (`review_label`, `review_decided_at`; null where nobody reviewed it), which the splits
    use where a ticket's outcome cannot be (`ml.datasets.review_rows`)."""
    reviews = labels[["ticket_id", "review_label", "decided_at"]].rename(
        columns={"decided_at": "review_decided_at"}
    )
    return frame.merge(reviews, on="ticket_id", how="left", validate="one_to_one")


def ticket_score(con: duckdb.DuckDBPyConnection, ticket_id: int) -> tuple[float, str] | None:
    """The newest escalation score and model version of a ticket (serving copy), which a
    review decision records beside itself; None when it was never scored."""
    if not table_exists(con, "ml.ticket_scores"):
        return None
    row = con.execute(
        "select escalation_probability, model_version from ml.ticket_scores "
        "where ticket_id = ? order by scored_at desc limit 1",
        [int(ticket_id)],
    ).fetchone()
    return None if row is None else (float(row[0]), str(row[1]))


def listed_on(con: duckdb.DuckDBPyConnection, account_id: str):
    """The as-of day of the outreach list holding the account (its outcome window starts
    then), or None when it is not on the published list."""
    if not table_exists(con, "ml.outreach_list"):
        return None
    row = con.execute(
        "select max(as_of_date) from ml.outreach_list where account_id = ?", [account_id]
    ).fetchone()
    return None if row is None or row[0] is None else row[0]


# Each ticket's newest score (ml.ticket_scores), as the Review page and `supportops review`
# list them.
LATEST_TICKET_SCORES = """
    select * from ml.ticket_scores
    qualify row_number() over (partition by ticket_id order by scored_at desc) = 1"""


def flagged_tickets(
    con: duckdb.DuckDBPyConnection, actions: tuple[str, ...], limit: int = 1000
) -> pd.DataFrame:
    """Open tickets whose newest score's policy action is one of `actions` (serving copy),
    riskiest first: what a reviewer works through."""
    return con.execute(
        f"""
        with scores as ({LATEST_TICKET_SCORES})
        select scores.ticket_id, tickets.created_at, tickets.category, tickets.tier,
            tickets.priority, scores.escalation_probability, scores.action, scores.queue,
            scores.rule, scores.policy_version
        from scores
        inner join marts.fct_tickets as tickets on scores.ticket_id = tickets.ticket_id
        where tickets.is_open and list_contains(?::varchar[], scores.action)
        order by scores.escalation_probability desc, scores.ticket_id
        limit ?
        """,
        [list(actions), limit],
    ).df()
