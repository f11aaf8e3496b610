"""A poisoned landing folder through `supportops materialize`: the failure names the step,
the file and the problem, and no name, email or phone of the poisoned rows appears in the
CLI's output, Dagster's run storage or its compute logs.

Poison: a CRM contacts file with a row of extra fields (DuckDB's own error would quote the
row), a ticket events file cut off mid-record (DuckDB's JSON error quotes the input), and
tickets with a bad timestamp (quarantined; their PII is hashed).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from extracts.contracts import CRM_CONTACTS, HELPDESK_TICKET_EVENTS, HELPDESK_TICKETS, landing_path
from tests.conftest import Pipeline, landed_days, run_cli

pytestmark = pytest.mark.e2e

PII = ("Zed Poisonous", "zed.poison@evil.example", "+1-555-999-0001", "Quinn Venom")


def _append(path: Path, text: str) -> None:
    with path.open("a") as file:
        file.write(text)


def test_a_poisoned_landing_fails_by_name_and_leaks_no_pii(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(tiny_pipeline.landing, landing)
    days = landed_days(landing)
    contacts = Path(landing_path(str(landing), CRM_CONTACTS, days[2]))
    header = contacts.read_text().splitlines()[0].split(",")
    row = ["C-POISON", "A0001", "Zed", "Poisonous", PII[1], PII[2], "CEO", "true"]
    _append(contacts, ",".join([*row, "Quinn Venom", "extra"]) + "\n")
    assert len(row) == len(header)

    events = Path(landing_path(str(landing), HELPDESK_TICKET_EVENTS, days[4]))
    _append(events, '{"event_id": 99999999, "body": "call Zed Poisonous on +1-555-999-0001", "ac')

    tickets = Path(landing_path(str(landing), HELPDESK_TICKETS, days[5]))
    first = json.loads(tickets.read_text().splitlines()[0])
    poisoned = first | {
        "ticket_id": 99999998,
        "created_at": "not a date",
        "requester_email": PII[1],
        "requester_name": PII[0],
        "requester_phone": PII[2],
        "subject": "Zed Poisonous here",
    }
    _append(tickets, json.dumps(poisoned) + "\n")

    run = run_cli(tmp_path, "materialize", landing=landing)
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode == 1, output[-3000:]
    # The failed steps, each with its file and what is wrong with it.
    assert f"failed step raw__raw_crm_contacts: {contacts}: line" in output, output[-3000:]
    assert "fields where the header has 8" in output
    assert f"failed step raw__raw_helpdesk_ticket_events: {events}: line" in output
    assert "is not valid JSON" in output

    stored = [p for p in tmp_path.rglob("*") if p.is_file() and ".dagster" in p.parts]
    assert any(p.suffix == ".db" for p in stored)  # the run storage is there to search
    for value in PII:
        assert value not in run.stdout + run.stderr, value
        for path in stored:
            assert value.encode() not in path.read_bytes(), (value, path)

    # `supportops quality` tells the same story: both refused files and the quarantined row.
    quality = run_cli(tmp_path, "quality", "--json", landing=landing, check=True)
    rows = json.loads(quality.stdout)
    refused = {
        r["suite"]: json.loads(r["observed_value"])
        if isinstance(r["observed_value"], str)
        else r["observed_value"]
        for r in rows
        if r["suite"].startswith("ingestion.") and not r["success"]
    }
    assert set(refused) == {"ingestion.crm_contacts", "ingestion.helpdesk_ticket_events"}
    assert refused["ingestion.crm_contacts"]["file"] == str(contacts)
    (tickets_load,) = [r for r in rows if r["suite"] == "ingestion.helpdesk_tickets"]
    assert tickets_load["unexpected_count"] == 1
    for value in PII:
        assert value not in quality.stdout, value
