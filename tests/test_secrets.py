"""The PII key is required outside demo mode, one key per warehouse, rotation re-hashes, and
`make lint`'s secret scan catches a committed secret."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from config.settings import DEMO_PII_KEY, MissingSecretError, get_settings
from extracts.contracts import CRM_CONTACTS, HELPDESK_TICKETS, landing_path
from extracts.ingest import load_range
from extracts.pii_key import (
    KEY_TABLE,
    KeyMismatchError,
    clear_for_new_key,
    key_fingerprint,
    warehouse_fingerprint,
)
from orchestration.cli import app
from tests.conftest import email_hmac

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 5, 1)
OLD, NEW = b"old-key-0123456789", b"new-key-9876543210"
EMAILS = [" Ann.Lee@Acme.example ", "bo@acme.example"]


@pytest.fixture
def no_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside demo mode, no key: as a fresh production shell."""
    for name in ("SUPPORTOPS_DEMO", "SUPPORTOPS_PII_KEY"):
        monkeypatch.delenv(name, raising=False)


def _landing(root: Path) -> Path:
    path = Path(landing_path(str(root), HELPDESK_TICKETS, DAY.isoformat()))
    path.parent.mkdir(parents=True)
    tickets = [
        {"ticket_id": i + 1, "created_at": "2026-05-01T10:00:00Z", "channel": "email",
         "category": "billing", "priority": "low", "tier": "vip", "account_id": "A1",
         "requester_id": f"C{i}", "requester_email": email, "requester_name": None,
         "requester_phone": None, "subject": None, "description": None}
        for i, email in enumerate(EMAILS)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(t) + "\n" for t in tickets))
    return root


def test_outside_demo_mode_there_is_no_key_and_asking_for_it_says_how(no_demo) -> None:
    settings = get_settings()
    assert (settings.demo, settings.pii_key) == (False, b"")
    with pytest.raises(MissingSecretError, match=r"(?s)SUPPORTOPS_PII_KEY is not set.*export"):
        settings.require_pii_key()


def test_demo_mode_uses_the_published_key_and_a_set_key_wins(monkeypatch, no_demo) -> None:
    monkeypatch.setenv("SUPPORTOPS_DEMO", "1")
    assert get_settings().require_pii_key() == DEMO_PII_KEY.encode()
    monkeypatch.setenv("SUPPORTOPS_PII_KEY", "mine")
    assert get_settings().require_pii_key() == b"mine"
    monkeypatch.setenv("SUPPORTOPS_DEMO", "yes")
    with pytest.raises(ValueError, match="SUPPORTOPS_DEMO must be 1 or 0"):
        get_settings()


def test_materialize_refuses_to_start_without_a_key(no_demo, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["materialize"], env={"SUPPORTOPS_DATA_DIR": str(tmp_path)}, terminal_width=200
    )
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "SUPPORTOPS_PII_KEY is not set" in output and "export SUPPORTOPS_PII_KEY=" in output
    assert not (tmp_path / "warehouse.duckdb").exists()  # refused before anything ran


def test_ingestion_refuses_an_empty_key_and_a_second_key(tmp_path: Path) -> None:
    root = _landing(tmp_path / "landing")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        with pytest.raises(MissingSecretError):
            load_range(con, HELPDESK_TICKETS, root, DAY, DAY, b"")
        load_range(con, HELPDESK_TICKETS, root, DAY, DAY, OLD)
        assert warehouse_fingerprint(con) == key_fingerprint(OLD)
        with pytest.raises(KeyMismatchError, match=r"another key .*supportops rotate-key"):
            load_range(con, HELPDESK_TICKETS, root, DAY, DAY, NEW)
        # The refused load changed nothing: still the old key's hashes.
        hashes = con.execute(
            "SELECT list(requester_email_hash ORDER BY ticket_id) FROM raw.helpdesk_tickets"
        ).fetchone()[0]
    assert hashes == [email_hmac(OLD, e) for e in EMAILS]
    # The fingerprint is not the key, nor any prefix of the key's own SHA-256.
    assert key_fingerprint(OLD) not in (OLD.hex(), hashlib.sha256(OLD).hexdigest()[:16])
    assert OLD not in (tmp_path / "w.duckdb").read_bytes()


def test_clearing_for_a_new_key_then_reloading_leaves_only_new_hashes(tmp_path: Path) -> None:
    root = _landing(tmp_path / "landing")
    contacts = Path(landing_path(str(root), CRM_CONTACTS, DAY.isoformat()))
    contacts.parent.mkdir(parents=True)
    contacts.write_text(
        "contact_id,account_id,first_name,last_name,email,phone,title,is_primary\n"
        'C0,A1,,,"ann.lee@acme.example",,,true\n'
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        for entity in (HELPDESK_TICKETS, CRM_CONTACTS):
            load_range(con, entity, root, DAY, DAY, OLD)
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.m AS SELECT requester_email_hash FROM raw.helpdesk_tickets")
        assert clear_for_new_key(con, NEW) == key_fingerprint(OLD)
        assert con.execute("SELECT count(*) FROM raw.helpdesk_tickets").fetchone()[0] == 0
        assert not con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts'"
        ).fetchone()[0]
        for entity in (HELPDESK_TICKETS, CRM_CONTACTS):
            load_range(con, entity, root, DAY, DAY, NEW)
        tickets = con.execute(
            "SELECT list(requester_email_hash ORDER BY ticket_id) FROM raw.helpdesk_tickets"
        ).fetchone()[0]
        contact = con.execute("SELECT email_hash FROM raw.crm_contacts").fetchone()[0]
        history = con.execute(
            f"SELECT fingerprint, replaced_fingerprint FROM {KEY_TABLE} ORDER BY recorded_at"
        ).fetchall()
        assert clear_for_new_key(con, NEW) is None  # already under it: nothing cleared
    assert tickets == [email_hmac(NEW, e) for e in EMAILS]
    # The same person in two sources still joins under the new key.
    assert contact == tickets[0] != email_hmac(OLD, EMAILS[0])
    assert history == [(key_fingerprint(OLD), None), (key_fingerprint(NEW), key_fingerprint(OLD))]


def test_rotate_key_wants_the_new_key_set(no_demo, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SUPPORTOPS_DEMO", "1")  # the demo key is no key to rotate to
    result = CliRunner().invoke(
        app, ["rotate-key"], env={"SUPPORTOPS_DATA_DIR": str(tmp_path)}, terminal_width=200
    )
    assert result.exit_code == 2 and "set the new key" in result.output


def test_the_secret_scan_fails_on_a_planted_secret_and_passes_the_repository(tmp_path) -> None:
    hook = [str(Path(shutil.which("detect-secrets-hook") or "detect-secrets-hook"))]
    planted = tmp_path / "settings_prod.py"
    # Split so this file itself holds no secret-shaped literal for the scan to find.
    planted.write_text('aws_secret_access_key = "' + "AKIA" + "ZQ3DRSTUVWXY2ABC" + '"\n')
    found = subprocess.run(
        [*hook, "--baseline", ".secrets.baseline", str(planted)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 1 and "AWS Access Key" in found.stdout
    clean = subprocess.run(
        [*hook, "--baseline", ".secrets.baseline", "config/settings.py", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert clean.returncode == 0, clean.stdout
