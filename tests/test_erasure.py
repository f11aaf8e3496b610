"""`supportops erase`: a person (by email) and an account leave landing, the warehouse, the
serving copy and the exports, the erasure is audited without personal data, the rows do not
come back with the next refresh, and everyone else's figures stay what they were."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from config.settings import DEMO_PII_KEY
from extracts import actions
from orchestration.cli import app
from tests.conftest import Pipeline, email_hmac, run_cli, runs_pipeline

KPI_CELL = ["kpi_date", "channel", "category", "tier", "handling_path"]
KPI_SUMS = ["tickets", "agent_replies", "handle_seconds"]


def _tickets(landing: Path) -> pd.DataFrame:
    rows = [
        json.loads(line)
        for path in sorted(landing.glob("helpdesk/*/tickets.jsonl"))
        for line in path.read_text().splitlines()
    ]
    return pd.DataFrame(rows)


def _frame(path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
@runs_pipeline
def erased(tiny_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A copy of the tiny world; one requester erased (no refresh), then one account (with
    the full refresh, which re-reads every landing day: the requester's included)."""
    root = tmp_path_factory.mktemp("erasure")
    data = tiny_pipeline.copy_to(root / "data")

    tickets = _tickets(data / "landing")
    per_account = tickets.groupby("account_id").size().sort_values(ascending=False)
    account = per_account.index[0]
    person = tickets[tickets.account_id != account].sort_values("ticket_id").iloc[0]
    subject = {
        "account": account,
        "person_account": person.account_id,
        "email": person.requester_email,
        "hash": email_hmac(DEMO_PII_KEY, person.requester_email),
        "people": sorted(
            {person.requester_id} | set(tickets[tickets.account_id == account].requester_id)
        ),
        "tickets": sorted(
            tickets[
                (tickets.account_id == account) | (tickets.requester_id == person.requester_id)
            ].ticket_id
        ),
    }
    # Scores and an export as the ml assets write them (the tiny world trains no model).
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA ml")
        con.execute(
            "CREATE TABLE ml.account_scores AS SELECT DISTINCT account_id, 0.5 AS p "
            "FROM marts.dim_accounts"
        )
    (data / "exports").mkdir()
    (data / "exports" / "outreach_list.csv").write_text(
        f"rank,account_id,owner\n1,{account},csm-01\n2,AC_OTHER,csm-02\n"
    )
    # The alerts webhook's state: the account's posted alert and someone else's.
    (data / "exports" / "alerts_webhook_state.json").write_text(json.dumps(
        {"day": "2026-06-01", "posted": [f"2026-06-01|{account}|usage_drop",
                                         "2026-06-01|AC_OTHER|ticket_burst"]}
    ))  # fmt: skip
    # What people did with the scores, in the actions store: the subject's and someone
    # else's (the erased person also reviewed a ticket, as staff can be customers too).
    store = data / "actions.sqlite"
    other_account = per_account.index[-1]
    other_ticket = int(tickets[~tickets.ticket_id.isin(subject["tickets"])].ticket_id.iloc[0])
    as_reviewer = actions.Reviewer("cs", subject["hash"])
    for account_id in (account, other_account):
        actions.insert_outreach(
            store, [(account_id, "2026-Q2", "2026-05-04", "contacted", "2026-05-05T10:00:00",
                     "reached")], actions.Reviewer("cs"),
        )  # fmt: skip
    for ticket_id in (subject["tickets"][0], other_ticket):
        actions.record_review(store, ticket_id, "override", "already_handled", as_reviewer)
    subject |= {"other_account": other_account, "other_ticket": other_ticket}
    before = {
        "tickets": _frame(tiny_pipeline.warehouse, "SELECT * FROM marts.fct_tickets"),
        "features": _frame(tiny_pipeline.warehouse, "SELECT * FROM features.feat_account_daily"),
        "kpis": _frame(tiny_pipeline.warehouse, "SELECT * FROM marts.fct_support_kpis_daily"),
    }

    runs = []
    for args in (
        ["--requester", f"  {person.requester_email.upper()} ", "--no-refresh"],
        ["--account", account, "--reference", "REQ-2026-17"],
    ):
        done = run_cli(root, "erase", *args)
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        runs.append(done.stdout + done.stderr)
    return {"data": data, "subject": subject, "before": before, "output": runs}


def _every_value(database: Path) -> pd.DataFrame:
    """Every cell of every table of a DuckDB file, as text: (table, column, value)."""
    with duckdb.connect(str(database), read_only=True) as con:
        columns = con.execute(
            """SELECT schema_name, table_name, column_name FROM duckdb_columns()
               WHERE database_name = current_database() AND NOT internal"""
        ).fetchall()
        selects = [
            f"""SELECT '{s}.{t}' AS table_name, '{c}' AS column_name,
                       CAST("{c}" AS VARCHAR) AS value FROM "{s}"."{t}" """
            for s, t, c in columns
        ]
        return con.execute(" UNION ALL ".join(selects)).df()


@pytest.mark.parametrize("database", ["warehouse.duckdb", "serving.duckdb"])
def test_nothing_of_them_remains_in_any_table(erased: dict, database: str) -> None:
    values = _every_value(erased["data"] / database)
    s = erased["subject"]
    identifying = {s["account"], s["hash"], s["email"], *s["people"]}
    exact = values[values.value.isin(identifying)]
    assert exact.empty, exact.head().to_dict("records")
    # ...nor inside a text value (a quarantined record's JSON, a reason, a file name)
    contained = values[values.value.fillna("").str.contains("|".join(sorted(identifying)))]
    assert contained.empty, contained.head().to_dict("records")
    ticket_cells = values[values.column_name == "ticket_id"]
    assert not set(ticket_cells.value.dropna().astype(int)) & set(s["tickets"])
    assert len(ticket_cells) > 0  # the scan did read the ticket tables


def test_nothing_of_them_remains_in_files_landing_or_exports(erased: dict) -> None:
    s = erased["subject"]
    needles = [x.encode() for x in (s["account"], s["hash"], s["email"], *s["people"])]
    files = [p for p in erased["data"].rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files) and any(
        p.name == "serving.duckdb" for p in files
    )
    found = {
        str(p.relative_to(erased["data"])): n
        for p in files
        for n in needles
        if n.lower() in p.read_bytes().lower()
    }
    assert found == {}
    export = pd.read_csv(erased["data"] / "exports" / "outreach_list.csv")
    assert export.account_id.tolist() == ["AC_OTHER"]
    state = json.loads((erased["data"] / "exports" / "alerts_webhook_state.json").read_text())
    assert state == {"day": "2026-06-01", "posted": ["2026-06-01|AC_OTHER|ticket_burst"]}
    # The landing files still load: every other ticket is still there.
    left = _tickets(erased["data"] / "landing")
    assert not set(left.ticket_id) & set(s["tickets"])
    assert len(left) == len(erased["before"]["tickets"]) - len(s["tickets"])


def test_their_actions_leave_the_store_and_everyone_elses_stay(erased: dict) -> None:
    s = erased["subject"]
    with closing(sqlite3.connect(erased["data"] / "actions.sqlite")) as con:
        outreach = [a for (a,) in con.execute("SELECT account_id FROM outreach_records")]
        reviews = con.execute("SELECT ticket_id, reviewer_hash FROM review_decisions").fetchall()
    assert outreach == [s["other_account"]]
    # the other ticket's decision stays; the erased person's hash as its reviewer does not
    assert reviews == [(s["other_ticket"], None)]
    with duckdb.connect(str(erased["data"] / "warehouse.duckdb"), read_only=True) as con:
        copied = con.execute("SELECT account_id FROM actions.outreach_records").fetchall()
    assert copied == [(s["other_account"],)]  # the refresh copied the erased store


def test_the_audit_says_what_and_when_without_personal_data(erased: dict) -> None:
    audit = _frame(
        erased["data"] / "warehouse.duckdb", "SELECT * FROM meta.erasures ORDER BY erased_at"
    )
    assert audit.kind.tolist() == ["requester", "account"]
    assert audit.reference.tolist()[1] == "REQ-2026-17"
    first, second = (json.loads(r) for r in audit.rows_removed)
    s = erased["subject"]
    person_tickets = len(s["tickets"]) - int(
        (erased["before"]["tickets"].account_id == s["account"]).sum()
    )
    assert first["raw.helpdesk_tickets"] == first["landing.helpdesk_tickets"] == person_tickets
    assert second["raw.crm_accounts"] > 0 and second["marts.dim_accounts"] == 1
    assert second["ml.account_scores"] == 1
    assert audit.people.tolist()[0] == 1
    assert "erasure" in erased["output"][0] and "no refresh" in erased["output"][0]


def test_everyone_elses_tickets_features_and_kpis_are_unchanged(erased: dict) -> None:
    s, before = erased["subject"], erased["before"]
    warehouse = erased["data"] / "warehouse.duckdb"
    after_tickets = _frame(warehouse, "SELECT * FROM marts.fct_tickets")
    kept = before["tickets"][~before["tickets"].ticket_id.isin(s["tickets"])]
    # Lines in a rewritten landing file move up: where a row came from is not a figure.
    ignore = ["source_line"]
    pd.testing.assert_frame_equal(
        after_tickets.drop(columns=ignore).sort_values("ticket_id").reset_index(drop=True),
        kept.drop(columns=ignore).sort_values("ticket_id").reset_index(drop=True),
    )
    # Account features: the erased person's account stops counting their tickets; every
    # other account's rows are as they were.
    after_features = _frame(warehouse, "SELECT * FROM features.feat_account_daily")
    touched = {s["account"], s["person_account"]}
    key = ["account_id", "as_of_date"]
    pd.testing.assert_frame_equal(
        after_features[~after_features.account_id.isin(touched)]
        .sort_values(key)
        .reset_index(drop=True),
        before["features"][~before["features"].account_id.isin(touched)]
        .sort_values(key)
        .reset_index(drop=True),
        check_dtype=False,
    )
    counted = {
        name: frame[frame.account_id == s["person_account"]].tickets_30d.sum()
        for name, frame in (("before", before["features"]), ("after", after_features))
    }
    assert counted["after"] < counted["before"]
    # The KPI mart: each cell's sums before, less the erased tickets' own (from their
    # ticket facts), are the sums after.
    gone = before["tickets"][before["tickets"].ticket_id.isin(s["tickets"])].rename(
        columns={"created_date": "kpi_date"}
    )
    erased_sums = gone.assign(tickets=1).groupby(KPI_CELL)[KPI_SUMS].sum()
    expected = before["kpis"].groupby(KPI_CELL)[KPI_SUMS].sum().sub(erased_sums, fill_value=0)
    after = (
        _frame(warehouse, "SELECT * FROM marts.fct_support_kpis_daily")
        .groupby(KPI_CELL)[KPI_SUMS]
        .sum()
    )
    # A cell left with nothing in it may go: a missing cell sums to zero.
    cells = after.index.union(expected.index)
    pd.testing.assert_frame_equal(
        after.reindex(cells, fill_value=0), expected.reindex(cells, fill_value=0), check_dtype=False
    )
    assert erased_sums.tickets.sum() == len(s["tickets"]) > 1


def test_erase_wants_exactly_one_subject() -> None:
    for args in ([], ["--requester", "a@b.example", "--account", "AC1"]):
        result = CliRunner().invoke(app, ["erase", *args], terminal_width=200)
        assert result.exit_code == 2 and "exactly one of" in " ".join(result.output.split())


def test_erase_on_hand_built_files_keeps_what_is_not_theirs(tmp_path: Path) -> None:
    """One person (Ann, contact C0 of A1) erased; Bo's ticket, its actorless event and the
    account whose billing email is Ann's stay (the email blanked)."""
    from extracts.contracts import (
        CRM_ACCOUNTS,
        CRM_CONTACTS,
        HELPDESK_TICKET_EVENTS,
        HELPDESK_TICKETS,
    )
    from extracts.erasure import erase
    from extracts.ingest import load_range

    day, key = "2026-05-01", b"unit-test-key"
    root = tmp_path / "landing"
    ticket = {"created_at": "2026-05-01T10:00:00Z", "channel": "email", "category": "billing",
              "priority": "low", "tier": "vip", "requester_name": None, "requester_phone": None,
              "subject": None, "description": None}  # fmt: skip
    event = {"created_at": "2026-05-01T10:00:00Z", "handle_seconds": None, "to_tier": None,
             "status": None, "csat_score": None, "body": None}  # fmt: skip
    files = {
        "helpdesk/tickets.jsonl": [
            ticket | {"ticket_id": 1, "account_id": "A1", "requester_id": "C0",
                      "requester_email": "ann.lee@acme.example"},
            ticket | {"ticket_id": 2, "account_id": "A2", "requester_id": "C1",
                      "requester_email": "bo@beta.example"},
        ],
        "helpdesk/ticket_events.jsonl": [
            event | {"event_id": 10, "ticket_id": 1, "event_type": "created",
                     "actor_type": "requester", "actor_id": "C0"},
            event | {"event_id": 20, "ticket_id": 2, "event_type": "reopened",
                     "actor_type": "system", "actor_id": None},
            event | {"event_id": 21, "ticket_id": 2, "event_type": "requester_reply",
                     "actor_type": "requester", "actor_id": "C1"},
        ],
    }  # fmt: skip
    for name, rows in files.items():
        source, file = name.split("/")
        (root / source / day).mkdir(parents=True, exist_ok=True)
        (root / source / day / file).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "crm" / day).mkdir(parents=True)
    (root / "crm" / day / "contacts.csv").write_text(
        "contact_id,account_id,first_name,last_name,email,phone,title,is_primary\n"
        "C0,A1,Ann,Lee,Ann.Lee@acme.example,,CFO,true\nC1,A2,Bo,Berg,bo@beta.example,,CTO,true\n"
    )
    (root / "crm" / day / "accounts.csv").write_text(
        "account_id,account_name,industry,segment,region,tier,owner,created_date,status,"
        "billing_email\nA1,Acme,retail,smb,na,vip,csm-01,2025-01-01,active,ann.lee@acme.example\n"
        "A2,Beta,retail,smb,na,vip,csm-02,2025-01-01,active,billing@beta.example\n"
    )
    d = dt.date.fromisoformat(day)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        for entity in (HELPDESK_TICKETS, HELPDESK_TICKET_EVENTS, CRM_CONTACTS, CRM_ACCOUNTS):
            assert load_range(con, entity, root, d, d, key).rows_quarantined == 0
        result = erase(con, root, "requester", " ANN.LEE@acme.example", key, reference="R-1")
        raw = {
            "tickets": con.execute("SELECT list(ticket_id) FROM raw.helpdesk_tickets").fetchone()[
                0
            ],
            "events": con.execute(
                "SELECT list(event_id ORDER BY event_id) FROM raw.helpdesk_ticket_events"
            ).fetchone()[0],
            "contacts": con.execute("SELECT list(contact_id) FROM raw.crm_contacts").fetchone()[0],
            "billing": con.execute(
                "SELECT list(billing_email_hash IS NULL ORDER BY account_id) FROM raw.crm_accounts"
            ).fetchone()[0],
        }
        audit = con.execute("SELECT * FROM meta.erasures").df()
    assert (result.people, result.tickets) == (1, 1)
    assert raw == {"tickets": [2], "events": [20, 21], "contacts": ["C1"], "billing": [True, False]}
    landing = _tickets(root)
    assert landing.ticket_id.tolist() == [2]
    events = [
        json.loads(x)
        for x in (root / "helpdesk" / day / "ticket_events.jsonl").read_text().splitlines()
    ]
    assert [e["event_id"] for e in events] == [20, 21]
    accounts = pd.read_csv(root / "crm" / day / "accounts.csv")
    assert accounts.billing_email.isna().tolist() == [True, False]
    assert accounts.account_id.tolist() == ["A1", "A2"]
    text = "".join(p.read_text().lower() for p in root.rglob("*.*"))
    assert "ann.lee" not in text and "ann,lee" not in text and '"c0"' not in text
    assert len(audit) == 1 and "ann.lee" not in audit.to_json().lower()
    assert "C0" not in audit.to_json() and audit.reference[0] == "R-1"
