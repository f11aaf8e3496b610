"""`supportops rotate-key` on a built warehouse: afterwards every hash is the new key's (checked
against HMACs computed here from the landing files), none of the old key's is left in any
table, and the old key is refused."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from contextlib import closing

import duckdb

from config.settings import DEMO_PII_KEY
from extracts import actions
from extracts.pii_key import key_fingerprint
from tests.conftest import CLI, cli_env, email_hmac

NEW_KEY = "rotated-test-key-0123456789abcdef"  # pragma: allowlist secret


def test_rotate_key_rehashes_everything_and_refuses_the_old_key(tiny_pipeline, tmp_path) -> None:
    data = tiny_pipeline.copy_to(tmp_path / "data")
    env = cli_env(tmp_path, demo=False)

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [CLI, *args], cwd=tmp_path, env=env | extra, capture_output=True, text=True
        )

    # A reviewer's decision, attributed by the hash of their email under the old key.
    reviewer = actions.Reviewer("cs", email_hmac(DEMO_PII_KEY, "rev@example.com"))
    actions.record_review(data / "actions.sqlite", 1, "accept", "agree", reviewer)

    rotated = run("rotate-key", SUPPORTOPS_PII_KEY=NEW_KEY)
    assert rotated.returncode == 0, (rotated.stdout + rotated.stderr)[-3000:]
    assert "1 reviewer hash(es) in the actions store blanked" in " ".join(rotated.stdout.split())
    with closing(sqlite3.connect(data / "actions.sqlite")) as store:
        kept = store.execute("SELECT ticket_id, reviewer_role, reviewer_hash FROM review_decisions")
        assert kept.fetchall() == [(1, "cs", None)]  # the decision and role stay
    assert reviewer.person_hash.encode() not in (data / "actions.sqlite").read_bytes()
    assert f"{key_fingerprint(DEMO_PII_KEY.encode())} -> {key_fingerprint(NEW_KEY.encode())}" in (
        rotated.stdout
    )

    emails = {
        json.loads(line)["ticket_id"]: json.loads(line)["requester_email"]
        for path in (data / "landing").glob("helpdesk/*/tickets.jsonl")
        for line in path.read_text().splitlines()
    }
    old_hashes = {email_hmac(DEMO_PII_KEY, e) for e in emails.values()}
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        stored = dict(
            con.execute(
                "SELECT ticket_id, requester_email_hash FROM raw.helpdesk_tickets"
            ).fetchall()
        )
        fingerprint = con.execute(
            "SELECT fingerprint FROM meta.pii_key ORDER BY recorded_at DESC LIMIT 1"
        ).fetchone()[0]
        hash_columns = con.execute(
            """SELECT schema_name, table_name, column_name FROM duckdb_columns()
               WHERE database_name = current_database() AND column_name LIKE '%email_hash'"""
        ).fetchall()
        every_hash = {
            v
            for s, t, c in hash_columns
            for (v,) in con.execute(f'SELECT DISTINCT "{c}" FROM "{s}"."{t}"').fetchall()
        }
        marts = con.execute("SELECT count(*) FROM marts.fct_tickets").fetchone()[0]
    assert stored == {t: email_hmac(NEW_KEY, e) for t, e in emails.items()}
    assert fingerprint == key_fingerprint(NEW_KEY.encode())
    assert len(hash_columns) >= 4 and not every_hash & old_hashes
    assert marts == len(emails)  # rebuilt in full

    refused = run("materialize", SUPPORTOPS_DEMO="1")  # the demo (old) key
    assert refused.returncode == 2
    assert "another key" in " ".join(refused.stdout.split())
