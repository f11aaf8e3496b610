"""Serving files for the dashboard tests: copies of the tiny published warehouse, and a copy
with the `ml` schema (not published by the pipeline yet) filled with known values."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd

APP = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"

# (rank, segment, owner, churn_probability): what the Outreach page must list and filter.
OUTREACH = [
    (1, "enterprise", "ana", 0.91),
    (2, "smb", "ben", 0.74),
    (3, "mid_market", "ana", 0.55),
    (4, "smb", "ana", 0.42),
    (5, "enterprise", "ben", 0.18),
]
CHAMPIONS = {"churn": "churn-v2", "escalation": "escalation-v1"}
# Newest drift check per task and kind: only these must show (older rows are decoys).
LATEST_DRIFT_DETECTED = {
    ("churn", "feature"): True,
    ("churn", "prediction"): False,
    ("escalation", "feature"): False,
    ("escalation", "prediction"): False,
}
QUARANTINED_DUPLICATES = 3


def fixture_action(p: float) -> str:
    """The action the fixture's scores carry: senior review above 0.7, human approval above
    0.4, else route (the Review page lists the first two by default)."""
    return "senior_review" if p >= 0.7 else "human_approval" if p >= 0.4 else "route"


def copy_serving(source: Path, data_dir: Path) -> Path:
    """A private copy in `data_dir` (the tests replace and edit it; the session's stays)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "serving.duckdb"
    shutil.copyfile(source, target)
    return target


def add_ml_and_quarantine(serving: Path) -> dict[int, float]:
    """Create the `ml` tables with known rows and quarantine a few duplicate tickets.

    Returns the escalation probability given to each open ticket."""
    con = duckdb.connect(str(serving))
    with con:
        open_ids = [
            r[0]
            for r in con.execute(
                "SELECT ticket_id FROM marts.fct_tickets WHERE is_open ORDER BY ticket_id"
            ).fetchall()
        ]
        resolved_id = con.execute(
            "SELECT min(ticket_id) FROM marts.fct_tickets WHERE NOT is_open"
        ).fetchone()[0]
        accounts = con.execute(
            "SELECT DISTINCT account_id FROM marts.dim_accounts ORDER BY 1 LIMIT ?", [len(OUTREACH)]
        ).fetchall()
        con.execute("CREATE SCHEMA ml")
        trained = dt.datetime(2026, 6, 1)
        con.execute(
            """CREATE TABLE ml.model_versions (task VARCHAR, version VARCHAR, status VARCHAR,
               trained_at TIMESTAMP, train_start DATE, train_end DATE, test_start DATE,
               test_end DATE, card JSON)"""
        )
        versions = [("churn", "churn-v1", "retired"), ("churn", "churn-v2", "champion"),
                    ("escalation", "escalation-v1", "champion"),
                    ("escalation", "escalation-v2", "challenger")]  # fmt: skip
        for i, (task, version, status) in enumerate(versions):
            card = json.dumps({"v": version, "parameters": {"review_labels": i}})
            con.execute(
                "INSERT INTO ml.model_versions VALUES (?, ?, ?, ?, '2026-05-01', '2026-05-20', "
                "'2026-05-21', '2026-05-31', ?)",
                [task, version, status, trained + dt.timedelta(days=i), card],
            )
        con.execute(
            """CREATE TABLE ml.evaluations (task VARCHAR, version VARCHAR, scorer VARCHAR,
               roc_auc DOUBLE, pr_auc DOUBLE, brier DOUBLE, base_rate_brier DOUBLE,
               top_decile_lift DOUBLE, rows BIGINT, positives BIGINT)"""
        )
        for task, version, _ in versions:
            for j, scorer in enumerate(("ceiling", "health_score", "logistic", "model")):
                con.execute(
                    "INSERT INTO ml.evaluations VALUES (?, ?, ?, ?, ?, 0.1, 0.09, 2.0, 1000, 100)",
                    [task, version, scorer, 0.6 + 0.1 * j, 0.2 + 0.05 * j],
                )
        con.execute(
            """CREATE TABLE ml.calibration (task VARCHAR, version VARCHAR, bin INTEGER,
               mean_predicted DOUBLE, observed_rate DOUBLE, rows BIGINT)"""
        )
        for task, version, _ in versions:
            for b in range(5):
                con.execute(
                    "INSERT INTO ml.calibration VALUES (?, ?, ?, ?, ?, 50)",
                    [task, version, b, 0.1 + 0.2 * b, 0.12 + 0.19 * b],
                )
        con.execute(
            """CREATE TABLE ml.account_scores (account_id VARCHAR, as_of_date DATE,
               churn_probability DOUBLE, arr DOUBLE, revenue_at_risk DOUBLE, health_score DOUBLE,
               health_band VARCHAR, model_version VARCHAR)"""
        )
        con.execute(
            """CREATE TABLE ml.ticket_scores (ticket_id BIGINT, escalation_probability DOUBLE,
               sla_risk VARCHAR, action VARCHAR, queue VARCHAR, rule VARCHAR,
               model_version VARCHAR, policy_version VARCHAR, scored_at TIMESTAMP)"""
        )
        probabilities = {tid: round(0.05 + 0.9 * (i + 1) / (len(open_ids) + 1), 4)
                         for i, tid in enumerate(open_ids)}  # fmt: skip
        insert = "INSERT INTO ml.ticket_scores VALUES (?, ?, ?, ?, 'q', 'r', ?, ?, ?)"
        for tid, p in probabilities.items():
            # An older score (and action) that must be superseded by the newer one.
            con.execute(insert, [tid, 0.999, "high", "senior_review", "escalation-v0",
                                 "triage-v1+escalation-v0", trained])  # fmt: skip
            con.execute(insert, [tid, p, "medium", fixture_action(p), "escalation-v1",
                                 "triage-v1+escalation-v1", trained + dt.timedelta(days=1)])  # fmt: skip
        # A resolved ticket with the highest score: it is not open and must not be listed.
        con.execute(insert, [resolved_id, 0.9999, "high", "senior_review", "escalation-v1",
                             "triage-v1+escalation-v1", trained + dt.timedelta(days=2)])  # fmt: skip
        con.execute(
            """CREATE TABLE ml.drift (task VARCHAR, version VARCHAR, kind VARCHAR,
               checked_at TIMESTAMP, drift_share DOUBLE, drifted_columns BIGINT, columns BIGINT,
               detected BOOLEAN, threshold DOUBLE, report_path VARCHAR)"""
        )
        for (task, kind), detected in LATEST_DRIFT_DETECTED.items():
            version = CHAMPIONS[task]
            report = serving.parent / "reports" / f"{task}-{kind}.html"
            report.parent.mkdir(exist_ok=True)
            report.write_text(f"<html><body>{task} {kind} drift</body></html>")
            con.execute(
                "INSERT INTO ml.drift VALUES (?, ?, ?, ?, 0.9, 9, 10, ?, 0.5, ?), "
                "(?, ?, ?, ?, ?, 1, 10, ?, 0.5, ?)",
                [task, version, kind, trained, not detected, f"/gone/{task}-{kind}-old.html",
                 task, version, kind, trained + dt.timedelta(days=3), 0.6 if detected else 0.1,
                 detected, str(report)],
            )  # fmt: skip
        con.execute(
            """CREATE TABLE ml.outreach_list (rank INTEGER, account_id VARCHAR,
               account_name VARCHAR, segment VARCHAR, tier VARCHAR, plan VARCHAR, owner VARCHAR,
               arr DOUBLE, churn_probability DOUBLE, revenue_at_risk DOUBLE,
               health_band VARCHAR, reason_1 VARCHAR, reason_2 VARCHAR, reason_3 VARCHAR,
               as_of_date DATE)"""
        )
        for (rank, segment, owner, p), (account_id,) in zip(OUTREACH, accounts, strict=True):
            con.execute(
                "INSERT INTO ml.outreach_list VALUES (?, ?, ?, ?, 'standard', 'pro', ?, 10000, "
                "?, ?, 'red', 'usage down 40%', 'SLA breach', 'renewal in 30 days', '2026-06-01')",
                [rank, account_id, f"Account {rank}", segment, owner, p, 10000 * p],
            )
        con.execute(
            "INSERT INTO quarantine.helpdesk_tickets (_landing_date, _source_file, _source_line, "
            "field, fault_kind, reason) SELECT DATE '2026-05-02', 'helpdesk/x/tickets.jsonl', "
            "range, NULL, 'duplicate', 'duplicate' FROM range(?)",
            [QUARANTINED_DUPLICATES],
        )
    return probabilities


def read_table(serving: Path, table: str) -> pd.DataFrame:
    """Rows of one table as pandas: the tests recompute every figure from these."""
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(f"SELECT * FROM {table}").df()
