"""Batch scores: churn risk per active account, escalation risk per open ticket.

The SQL helpers select only the rows to score, so a scoring run never pulls history into
pandas.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ml.datasets import ACTIVE_ACCOUNT_ROWS
from ml.model import TrainedModel

# Minutes to the next SLA deadline at which an open ticket's risk band changes.
SLA_BANDS = ((0, "breached"), (60, "high"), (240, "medium"))


def accounts_to_score(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Active accounts' feature rows as of the newest as-of day, with their health score."""
    (newest,) = con.execute("select max(as_of_date) from features.feat_account_daily").fetchone()
    sql = f"""
        with rows as ({ACTIVE_ACCOUNT_ROWS})
        select * from rows
        where as_of_date = $start
        order by account_id
    """
    return con.execute(sql, {"start": newest, "end": newest}).df()


def open_tickets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Open tickets' (`fct_tickets.is_open`) creation features, their first-response SLA
    target (`sla_target_minutes`: the triage policy's SLA state at creation) and minutes to
    their next SLA deadline.

    The next deadline is the first response's while no agent has replied, else the
    resolution's; minutes are counted from the warehouse's newest event (data_as_of).
    """
    sql = """
        select
            features.*,
            tickets.sla_first_response_target_minutes as sla_target_minutes,
            tickets.data_as_of,
            case
                when tickets.first_agent_reply_at is null
                    and tickets.sla_first_response_due_at is not null
                    then tickets.sla_first_response_due_at
                else tickets.sla_resolution_due_at
            end as next_sla_due_at,
            date_diff('minute', tickets.data_as_of, next_sla_due_at) as minutes_to_sla_due
        from features.feat_ticket_at_creation as features
        inner join marts.fct_tickets as tickets on features.ticket_id = tickets.ticket_id
        where tickets.is_open
        order by features.ticket_id
    """
    return con.execute(sql).df()


def score_accounts(model: TrainedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Churn probability and revenue at risk (ARR x probability) on the newest as-of day."""
    newest = frame[frame["as_of_date"] == frame["as_of_date"].max()]
    rows = newest[
        (newest["account_status"] == "active") & (newest["subscription_status"] == "active")
    ]
    probability = model.predict(rows)
    return pd.DataFrame(
        {
            "account_id": rows["account_id"].to_numpy(),
            "as_of_date": rows["as_of_date"].to_numpy(),
            "churn_probability": probability,
            "arr": rows["arr"].to_numpy(float),
            "revenue_at_risk": rows["arr"].to_numpy(float) * probability,
            "health_score": rows["health_score"].to_numpy(),
            "health_band": rows["health_band"].to_numpy(),
        }
    )


def sla_risk(minutes_to_due: pd.Series) -> np.ndarray:
    """breached (past due), high (< 1 h), medium (< 4 h), low; none without an SLA."""
    minutes = minutes_to_due.astype("float64")
    bands = np.select(
        [minutes < limit for limit, _ in SLA_BANDS], [name for _, name in SLA_BANDS], "low"
    )
    return np.where(minutes.isna(), "none", bands)


def score_tickets(model: TrainedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Escalation probability and SLA risk band per open ticket (rows of `open_tickets`)."""
    return pd.DataFrame(
        {
            "ticket_id": frame["ticket_id"].to_numpy(),
            "account_id": frame["account_id"].to_numpy(),
            "created_at": frame["created_at"].to_numpy(),
            "escalation_probability": model.predict(frame),
            "next_sla_due_at": frame["next_sla_due_at"].to_numpy(),
            "minutes_to_sla_due": frame["minutes_to_sla_due"].to_numpy(),
            "sla_risk": sla_risk(frame["minutes_to_sla_due"]),
        }
    )
