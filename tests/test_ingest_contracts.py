"""Ingestion against hand-built landing files whose every fault is known in advance."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from extracts.contracts import (
    CRM_CONTACTS,
    HELPDESK_TICKET_EVENTS,
    HELPDESK_TICKETS,
    TELEMETRY_EVENTS_ENTITY,
    landing_path,
)
from extracts.ingest import ExtractFileError, load_range
from extracts.ledger import pending_corrections, pending_window, record_build

KEY = b"test-key"
DAY = dt.date(2026, 5, 1)

TICKET = {
    "ticket_id": 1,
    "created_at": "2026-05-01T10:00:00Z",
    "channel": "email",
    "category": "billing",
    "priority": "low",
    "tier": "vip",
    "account_id": "A0001",
    "requester_id": "C0001",
    "requester_email": " Ann.Lee@Acme.example ",
    "requester_name": "Ann Lee",
    "requester_phone": "+1-555-123-4567",
    "subject": "The invoice is wrong",
    "description": "I was charged twice and the bill is wrong",
}


def _write(root: Path, entity, day: dt.date, content: str | bytes) -> Path:
    path = Path(landing_path(str(root), entity, day.isoformat()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.fixture
def con(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


def test_other_is_an_accepted_channel_and_category(con, tmp_path: Path) -> None:
    """`other` is where a source adapter puts values outside the known sets: it loads;
    any other unknown value is still quarantined."""
    rows = [
        {**TICKET, "channel": "other", "category": "other"},
        {**TICKET, "ticket_id": 2, "channel": "fax_machine"},
    ]
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl(rows))
    result = load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    assert (result.rows_loaded, result.quarantined_by_kind) == (1, {"unknown_enum": 1})
    assert con.execute("SELECT channel, category FROM raw.helpdesk_tickets").fetchall() == [
        ("other", "other")
    ]


def test_each_bad_row_is_quarantined_with_file_line_field_and_reason(tmp_path, con):
    rows = [
        TICKET,
        {**TICKET, "ticket_id": 2, "channel": "carrier_pigeon"},
        {**TICKET, "ticket_id": 3, "created_at": "2026-13-45T25:61:00Z"},
        {**TICKET, "ticket_id": 4, "account_id": None},
        TICKET,
        {**TICKET, "ticket_id": 5, "created_at": "2026-05-03T00:00:00Z"},
        {**TICKET, "ticket_id": 6},
    ]
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl(rows))

    result = load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)

    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (7, 2, 5)
    quarantined = con.execute(
        "SELECT _source_file, _source_line, field, fault_kind, reason "
        "FROM quarantine.helpdesk_tickets ORDER BY _source_line"
    ).fetchall()
    file = "helpdesk/2026-05-01/tickets.jsonl"
    assert [(f, line, field, kind) for f, line, field, kind, _ in quarantined] == [
        (file, 2, "channel", "unknown_enum"),
        (file, 3, "created_at", "bad_timestamp"),
        (file, 4, "account_id", "null_required"),
        (file, 5, None, "duplicate"),
        (file, 6, "created_at", "future_timestamp"),
    ]
    assert "carrier_pigeon" in quarantined[0][4]
    assert "2026-13-45T25:61:00Z" in quarantined[1][4]
    loaded = con.execute("SELECT ticket_id FROM raw.helpdesk_tickets ORDER BY 1").fetchall()
    assert loaded == [(1,), (6,)]


def test_an_event_time_before_the_earliest_day_is_quarantined(tmp_path, con):
    """A 1970 default from a broken export is quarantined with its reason, so it cannot move
    the date spine; the bound is the caller's to set."""
    rows = [TICKET, {**TICKET, "ticket_id": 2, "created_at": "1970-01-01T00:00:00Z"}]
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl(rows))
    result = load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    assert (result.rows_loaded, result.quarantined_by_kind) == (1, {"too_early": 1})
    field, reason = con.execute("SELECT field, reason FROM quarantine.helpdesk_tickets").fetchone()
    assert field == "created_at"
    assert "before the earliest accepted day 2000-01-01" in reason

    later = load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY, earliest=dt.date(2026, 5, 2))
    assert later.quarantined_by_kind == {"too_early": 2}


def test_pii_is_hmac_hashed_after_normalisation_and_text_becomes_features(tmp_path, con):
    spanish = {
        **TICKET,
        "ticket_id": 2,
        "subject": "el problema",
        "description": "el pago no funciona con la tarjeta",
    }
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl([TICKET, spanish]))
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)

    row = con.execute(
        "SELECT requester_email_hash, requester_name_hash, requester_phone_hash, "
        "description_chars, description_language "
        "FROM raw.helpdesk_tickets WHERE ticket_id = 1"
    ).fetchone()

    def expected(value: str) -> str:
        return hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()

    assert row[0] == expected("ann.lee@acme.example")
    assert row[1] == expected("ann lee")
    assert row[2] == expected("+15551234567")
    assert row[3] == len(TICKET["description"])
    assert row[4] == "en"
    language = con.execute(
        "SELECT description_language FROM raw.helpdesk_tickets WHERE ticket_id = 2"
    ).fetchone()
    assert language == ("es",)
    columns = {c[0] for c in con.execute("DESCRIBE raw.helpdesk_tickets").fetchall()}
    assert not columns & {"requester_email", "requester_name", "subject", "description"}


def test_sentiment_separates_angry_from_happy_text(tmp_path, con):
    angry = {**TICKET, "ticket_id": 1, "description": "terrible broken useless awful"}
    happy = {**TICKET, "ticket_id": 2, "description": "great thanks excellent helpful"}
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl([angry, happy]))
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    scores = dict(
        con.execute("SELECT ticket_id, description_sentiment FROM raw.helpdesk_tickets").fetchall()
    )
    assert scores[1] < 0 < scores[2]


def test_late_event_rows_load_and_are_flagged(tmp_path, con):
    event = {
        "event_id": 10,
        "ticket_id": 1,
        "event_type": "agent_reply",
        "created_at": "2026-05-01T12:00:00Z",
        "actor_type": "agent",
        "actor_id": "AG001",
        "handle_seconds": 300,
        "to_tier": None,
        "status": None,
        "csat_score": None,
        "body": None,
    }
    late = {**event, "event_id": 11, "created_at": "2026-04-29T12:00:00Z"}
    _write(tmp_path, HELPDESK_TICKET_EVENTS, DAY, _jsonl([event, late]))
    result = load_range(con, HELPDESK_TICKET_EVENTS, tmp_path, DAY, DAY, KEY)
    assert (result.rows_loaded, result.rows_late, result.rows_quarantined) == (2, 1, 0)
    flags = con.execute(
        "SELECT event_id, _is_late FROM raw.helpdesk_ticket_events ORDER BY 1"
    ).fetchall()
    assert flags == [(10, False), (11, True)]


CONTACTS_HEADER = "contact_id,account_id,first_name,last_name,email,phone,title,is_primary\n"
CONTACT = "C1,A1,Ann,Lee,ann@acme.example,+1-555-000-0001,CTO,true\n"


def test_csv_with_a_renamed_column_quarantines_every_row_and_names_the_column(tmp_path, con):
    header = CONTACTS_HEADER.replace(",email,", ",email_address,")
    _write(tmp_path, CRM_CONTACTS, DAY, header + CONTACT + CONTACT.replace("C1", "C2"))
    result = load_range(con, CRM_CONTACTS, tmp_path, DAY, DAY, KEY)
    assert (result.rows_loaded, result.rows_quarantined) == (0, 2)
    reasons = con.execute(
        "SELECT _source_line, field, fault_kind, reason FROM quarantine.crm_contacts ORDER BY 1"
    ).fetchall()
    assert [r[:3] for r in reasons] == [
        (2, "email", "missing_column"),
        (3, "email", "missing_column"),
    ]
    assert "email_address" in reasons[0][3]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            CONTACTS_HEADER
            + CONTACT
            + CONTACT.replace("C1,", "C2,").rstrip()
            + ",extra@leak.example\n",
            "line 3: 9 fields where the header has 8",
        ),
        (
            (CONTACTS_HEADER + CONTACT).encode() + b"C3,A1,Ann,L\xffee,ann@acme.example,,x,true\n",
            "line 3: not valid UTF-8",
        ),
        (
            b"contact_id,acc\xffount_id\n" + CONTACT.encode(),
            "line 1 (the header) is not valid UTF-8 (byte 15)",
        ),
    ],
    ids=["extra_field", "invalid_utf8_row", "invalid_utf8_header"],
)
def test_unreadable_csv_names_file_line_and_problem_and_leaks_no_row(
    tmp_path, con, content, problem
):
    """DuckDB's own error quotes the whole row (names, emails, phones); ours names the file,
    the line and what is wrong, and nothing of the row."""
    _write(tmp_path, CRM_CONTACTS, DAY, content)
    with pytest.raises(ExtractFileError) as error:
        load_range(con, CRM_CONTACTS, tmp_path, DAY, DAY, KEY)
    message = str(error.value)
    assert message.endswith(problem)
    assert "crm/2026-05-01/contacts.csv" in message
    for clear in ("ann@acme.example", "leak.example", "Ann", "+1-555"):
        assert clear not in message


def test_csv_without_header_fails_only_its_partition_naming_the_file(tmp_path, con):
    _write(tmp_path, CRM_CONTACTS, DAY, CONTACT * 3)
    with pytest.raises(ExtractFileError, match=r"crm/2026-05-01/contacts\.csv.*header"):
        load_range(con, CRM_CONTACTS, tmp_path, DAY, DAY, KEY)
    tables = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw'"
    ).fetchone()
    rows = con.execute("SELECT count(*) FROM raw.crm_contacts").fetchone() if tables[0] else (0,)
    assert rows == (0,)


def test_truncated_json_fails_naming_file_and_line(tmp_path, con):
    content = _jsonl([TICKET]) + json.dumps({**TICKET, "ticket_id": 2})[:40]
    _write(tmp_path, HELPDESK_TICKETS, DAY, content)
    with pytest.raises(ExtractFileError, match=r"tickets\.jsonl.*line 2"):
        load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)


def test_parquet_with_the_wrong_schema_fails_naming_the_file(tmp_path, con):
    path = _write(tmp_path, TELEMETRY_EVENTS_ENTITY, DAY, b"")
    pd.DataFrame({"msg": ["m1"], "ts": ["x"]}).to_parquet(path)
    with pytest.raises(ExtractFileError, match=r"events\.parquet.*does not match the contract"):
        load_range(con, TELEMETRY_EVENTS_ENTITY, tmp_path, DAY, DAY, KEY)
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(ExtractFileError, match=r"events\.parquet"):
        load_range(con, TELEMETRY_EVENTS_ENTITY, tmp_path, DAY, DAY, KEY)


def test_missing_landing_file_fails_before_writing(tmp_path, con):
    with pytest.raises(ExtractFileError, match="landing file not found"):
        load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)


def test_reloading_a_partition_replaces_it_and_leaves_others_alone(tmp_path, con):
    second_day = DAY + dt.timedelta(days=1)
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl([TICKET, {**TICKET, "ticket_id": 2}]))
    other = {**TICKET, "ticket_id": 3, "created_at": "2026-05-02T09:00:00Z"}
    _write(tmp_path, HELPDESK_TICKETS, second_day, _jsonl([other]))
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, second_day, KEY)
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl([TICKET]))
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    loaded = con.execute("SELECT ticket_id FROM raw.helpdesk_tickets ORDER BY 1").fetchall()
    assert loaded == [(1,), (3,)]


def test_timestamps_with_an_offset_are_stored_as_utc(tmp_path, con):
    con.execute("SET TimeZone = 'America/New_York'")  # the host's zone must not matter
    with_offset = {**TICKET, "created_at": "2026-05-01T08:00:00+02:00"}
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl([with_offset]))
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    stored = con.execute("SELECT created_at::VARCHAR FROM raw.helpdesk_tickets").fetchone()
    assert stored == ("2026-05-01 06:00:00",)


def test_an_empty_jsonl_file_is_a_quiet_day_not_an_error(tmp_path, con):
    _write(tmp_path, HELPDESK_TICKETS, DAY, "")
    result = load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (0, 0, 0)


def test_pending_window_covers_reloads_even_when_nothing_valid_remains(tmp_path, con):
    second_day = DAY + dt.timedelta(days=1)
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl([TICKET]))
    other = {**TICKET, "ticket_id": 2, "created_at": "2026-05-02T09:00:00Z"}
    _write(tmp_path, HELPDESK_TICKETS, second_day, _jsonl([other]))
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, second_day, KEY)
    assert pending_window(con) == (DAY, second_day)
    record_build(con, dt.datetime.now(dt.UTC).replace(tzinfo=None), (DAY, second_day), True)
    assert pending_window(con) == (second_day, second_day)  # nothing new: the newest day

    renamed = {("ticket_priority" if k == "priority" else k): v for k, v in TICKET.items()}
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl([renamed]))
    result = load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    assert result.rows_loaded == 0
    assert pending_window(con) == (DAY, DAY)


def test_an_event_time_after_the_moment_of_loading_is_quarantined(tmp_path, con):
    """A file dated ahead (a clock set wrong) cannot bring rows from the future either."""
    ahead = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    tomorrow = f"{ahead - dt.timedelta(days=1)}T09:00:00Z"
    _write(tmp_path, HELPDESK_TICKETS, ahead, _jsonl([{**TICKET, "created_at": tomorrow}]))
    result = load_range(con, HELPDESK_TICKETS, tmp_path, ahead, ahead, KEY)
    assert (result.rows_loaded, result.quarantined_by_kind) == (0, {"future_timestamp": 1})
    reason = con.execute("SELECT reason FROM quarantine.helpdesk_tickets").fetchone()[0]
    assert reason.endswith("is after the time of loading (UTC)")


def test_corrections_are_a_changed_day_or_keys_resent_on_a_new_day(tmp_path, con):
    """What makes the next build a full one: a re-delivered day whose bytes changed, or a new
    day re-sending a stored key; an identical re-load is neither."""
    second_day = DAY + dt.timedelta(days=1)
    other = {**TICKET, "ticket_id": 2}
    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl([TICKET, other]))
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    record_build(con, dt.datetime.now(dt.UTC).replace(tzinfo=None), (DAY, DAY), True)
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)  # the same bytes again
    assert pending_corrections(con) == []

    _write(tmp_path, HELPDESK_TICKETS, DAY, _jsonl([TICKET]))  # ticket 2 deleted at the source
    load_range(con, HELPDESK_TICKETS, tmp_path, DAY, DAY, KEY)
    assert pending_corrections(con) == [
        ("helpdesk_tickets", DAY, "re-delivered with other content")
    ]
    record_build(con, dt.datetime.now(dt.UTC).replace(tzinfo=None), None, True)
    assert pending_corrections(con) == []

    changed = {**TICKET, "category": "technical", "created_at": "2026-05-02T08:00:00Z"}
    _write(tmp_path, HELPDESK_TICKETS, second_day, _jsonl([changed]))
    result = load_range(con, HELPDESK_TICKETS, tmp_path, second_day, second_day, KEY)
    assert result.rows_resent == 1
    assert pending_corrections(con) == [
        ("helpdesk_tickets", second_day, "re-sends 1 keys of other days")
    ]
    # Both versions stay in raw, for lineage; staging keeps the newest landing.
    versions = con.execute(
        "SELECT _landing_date, category FROM raw.helpdesk_tickets WHERE ticket_id = 1 ORDER BY 1"
    ).fetchall()
    assert versions == [(DAY, TICKET["category"]), (second_day, "technical")]


def test_a_range_read_a_day_at_a_time_loads_the_same_rows(tmp_path, con):
    """Chunks share one text scoring: a text seen in an earlier chunk keeps its features."""
    days = [DAY + dt.timedelta(days=i) for i in range(3)]
    for i, day in enumerate(days):
        rows = [
            {**TICKET, "ticket_id": 10 * i + n, "created_at": f"{day}T0{n}:00:00Z",
             "subject": ["Where is my refund", "Wo ist meine Rechnung", "The invoice is wrong"][n]}
            for n in range(i + 1)
        ]  # fmt: skip
        _write(tmp_path, HELPDESK_TICKETS, day, _jsonl(rows))
    query = "SELECT * EXCLUDE (_loaded_at) FROM raw.helpdesk_tickets ORDER BY ticket_id"
    load_range(con, HELPDESK_TICKETS, tmp_path, days[0], days[-1], KEY)
    whole = con.execute(query).fetchall()
    load_range(con, HELPDESK_TICKETS, tmp_path, days[0], days[-1], KEY, chunk_days=1)
    assert con.execute(query).fetchall() == whole
    languages = con.execute(
        "SELECT ticket_id, subject_language FROM raw.helpdesk_tickets ORDER BY 1"
    ).fetchall()
    assert languages == [(0, "en"), (10, "en"), (11, "de"), (20, "en"), (21, "de"), (22, "en")]
