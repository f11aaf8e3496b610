"""Zendesk Support as Fivetran lands it: the adapter, the connector-shaped generator and the
`sources check` command.

The round trip of the generated world through the pipeline is in
tests/test_connector_sources.py (all connector shapes at once); here, hand-built exports with
hand-worked answers, the checks, re-loads and the commands.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import duckdb
import yaml
from typer.testing import CliRunner

from extracts.contracts import HELPDESK_TICKET_EVENTS, HELPDESK_TICKETS
from extracts.generator.zendesk_fivetran import write as write_zendesk_fivetran
from extracts.ingest import load_range
from extracts.lexicon import sentiment_score
from extracts.sources.connector import clear_deletions, sources_with_deletions
from extracts.sources.zendesk_fivetran import (
    ZendeskFivetranConfig,
    check_export,
    convert_to_landing,
)
from orchestration.cli import app
from tests.conftest import Pipeline, connector_csv, landed_days

KEY = b"test-pii-key"


# ---------------------------------------------------------------------------------------
# Round trip: the generated world, natively and through the connector shape


def test_connector_tables_are_deterministic(tiny_pipeline: Pipeline, tmp_path: Path) -> None:
    write_zendesk_fivetran(tiny_pipeline.landing, tmp_path / "a")
    write_zendesk_fivetran(tiny_pipeline.landing, tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [
        "group.parquet",
        "organization.parquet",
        "organization_tag.parquet",
        "satisfaction_rating.parquet",
        "schedule.parquet",
        "schedule_holiday.parquet",
        "ticket.parquet",
        "ticket_comment.parquet",
        "ticket_field_history.parquet",
        "ticket_schedule.parquet",
        "ticket_tag.parquet",
        "user.parquet",
    ]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


# ---------------------------------------------------------------------------------------
# A hand-built export: reopened, agent-opened, deleted, bot-handled tickets


SYNCED = "2026-05-10 02:00:00"


def _hand_export(folder: Path) -> None:
    connector_csv(
        folder,
        "user",
        "id,_fivetran_synced,name,email,phone,role,external_id,organization_id",
        f"1,{SYNCED},Ana Lopez, Ana@Example.com ,+1 555 0100,end-user,CON-1,501",
        f"2,{SYNCED},Bo Chen,bo@example.com,,end-user,,502",
        f"11,{SYNCED},Agent Smith,smith@support.test,,agent,AGT-11,",
        f"12,{SYNCED},Admin Jones,jones@support.test,,admin,,",
        f"90,{SYNCED},Answer Bot,,,agent,,",
    )
    connector_csv(
        folder,
        "organization",
        "id,_fivetran_synced,external_id,name",
        f"501,{SYNCED},ACC-1,Acme",
        f"502,{SYNCED},,Globex",
    )
    connector_csv(
        folder, "organization_tag", "organization_id,tag,_fivetran_synced", f"501,VIP,{SYNCED}"
    )
    connector_csv(
        folder,
        "group",
        "id,_fivetran_synced,name",
        f"71,{SYNCED},Support Tier 1",
        f"72,{SYNCED},Tier 2 Escalations",
    )
    connector_csv(
        folder,
        "ticket",
        "id,_fivetran_synced,_fivetran_deleted,created_at,updated_at,status,priority,"
        "requester_id,submitter_id,assignee_id,group_id,organization_id,via_channel,subject,"
        "description",
        # an older synced version of 101: the latest version wins
        "101,2026-05-04 12:00:00,false,2026-05-04 09:00:00,2026-05-04 11:00:00,solved,low,1,1,"
        "11,,501,web,Invoice wrong,The invoice is wrong",
        # 101: a requester's email, solved, reopened, solved again, closed; rated good
        f"101,{SYNCED},false,2026-05-04 09:00:00,2026-05-09 09:00:00,closed,high,1,1,11,,501,"
        "email,Invoice wrong,The invoice is wrong",
        # 102: opened by an agent on the phone for a requester; escalated to tier 2
        f"102,{SYNCED},false,2026-05-04 14:00:00,2026-05-04 15:00:00,open,,2,11,11,72,,"
        "voice,Call back,Customer called",
        # 103: deleted in Zendesk: gone with its comments and history
        f"103,{SYNCED},true,2026-05-05 10:00:00,2026-05-05 10:00:00,open,low,1,1,,,501,"
        "web,Spam,spam",
        # 104: a bot answers in the mobile SDK, hands off to tier 1, an agent takes it
        f"104,{SYNCED},false,2026-05-06 08:00:00,2026-05-06 09:00:00,open,low,1,1,12,71,501,"
        "mobile_sdk,Login,Cannot log in",
    )
    connector_csv(
        folder,
        "ticket_tag",
        "ticket_id,tag,_fivetran_synced,_fivetran_deleted",
        f"101,category_billing,{SYNCED},false",
        f"101,urgent_customer,{SYNCED},false",
        f"102,category_refunds,{SYNCED},false",
        # a tag removed in Zendesk: soft-deleted by the connector, no longer the category
        f"102,category_billing,{SYNCED},true",
        f"104,category_account_access,{SYNCED},",
    )
    connector_csv(
        folder,
        "ticket_comment",
        "id,_fivetran_synced,body,created,public,ticket_id,user_id",
        f"1001,{SYNCED},The invoice is wrong,2026-05-04 09:00:00,true,101,1",
        f"1002,{SYNCED},check the refund policy,2026-05-04 09:10:00,false,101,11",
        f"1003,{SYNCED},Thanks for waiting - fixed it,2026-05-04 09:30:00,true,101,11",
        f"1004,{SYNCED},Still wrong,2026-05-04 10:00:00,true,101,1",
        f"1005,{SYNCED},Customer called,2026-05-04 14:00:20,false,102,11",
        f"1006,{SYNCED},We are on it,2026-05-04 14:30:00,true,102,11",
        f"1007,{SYNCED},spam,2026-05-05 10:00:00,true,103,1",
        f"1008,{SYNCED},Cannot log in,2026-05-06 08:00:00,true,104,1",
        f"1009,{SYNCED},Try resetting your password,2026-05-06 08:00:30,true,104,90",
        f"1010,{SYNCED},Done - unlocked,2026-05-06 08:20:00,true,104,12",
    )
    connector_csv(
        folder,
        "ticket_field_history",
        "field_name,ticket_id,updated,_fivetran_synced,user_id,value",
        f"status,101,2026-05-04 09:00:00,{SYNCED},1,new",
        f"priority,101,2026-05-04 09:00:00,{SYNCED},1,high",
        f"assignee_id,101,2026-05-04 09:05:00,{SYNCED},11,11",
        f"status,101,2026-05-04 09:30:00,{SYNCED},11,pending",
        f"time_spent_last_update_sec,101,2026-05-04 09:30:00,{SYNCED},11,300",
        f"status,101,2026-05-04 10:00:00,{SYNCED},,open",
        f"status,101,2026-05-04 11:00:00,{SYNCED},11,solved",
        f"status,101,2026-05-05 08:00:00,{SYNCED},,open",
        f"status,101,2026-05-05 09:00:00,{SYNCED},11,solved",
        f"status,101,2026-05-09 09:00:00,{SYNCED},,closed",
        f"status,102,2026-05-04 14:00:00,{SYNCED},11,open",
        f"assignee_id,102,2026-05-04 14:00:00,{SYNCED},11,11",
        f"group_id,102,2026-05-04 15:00:00,{SYNCED},11,72",
        f"status,103,2026-05-05 10:00:00,{SYNCED},1,new",
        f"status,104,2026-05-06 08:00:00,{SYNCED},1,new",
        f"group_id,104,2026-05-06 08:01:00,{SYNCED},90,71",
        f"assignee_id,104,2026-05-06 08:10:00,{SYNCED},12,12",
        f"status,104,2026-05-06 08:20:00,{SYNCED},12,on-hold",
    )
    connector_csv(
        folder,
        "satisfaction_rating",
        "id,_fivetran_synced,ticket_id,score,created_at,updated_at,requester_id",
        f"9001,{SYNCED},101,good,2026-05-05 12:00:00,2026-05-05 12:00:00,1",
        f"9002,{SYNCED},104,offered,2026-05-06 09:00:00,2026-05-06 09:00:00,1",
    )
    # business hours: London, Mon-Fri 09:00-17:00 local, for ticket 101 only
    connector_csv(
        folder,
        "schedule",
        "id,_fivetran_synced,name,time_zone,start_time,end_time",
        *(
            f"8001,{SYNCED},London office,London,{d * 1440 + 540},{d * 1440 + 1020}"
            for d in range(1, 6)
        ),
    )
    connector_csv(
        folder,
        "schedule_holiday",
        "id,_fivetran_synced,schedule_id,start_date,end_date,name",
        f"1,{SYNCED},8001,2026-05-25,2026-05-25,Spring bank holiday",
    )
    connector_csv(
        folder,
        "ticket_schedule",
        "ticket_id,created_at,schedule_id,_fivetran_synced",
        f"101,2026-05-04 09:00:00,8001,{SYNCED}",
    )


def _landed(landing: Path, entity) -> list[dict]:
    rows = []
    for path in sorted((landing / "helpdesk").glob(f"*/{entity.file_name}")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line]
    return rows


def test_hand_built_export_maps_to_hand_worked_events(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing")

    assert (result.tickets, result.deleted_tickets) == (3, 1)
    assert result.synced_through == dt.datetime(2026, 5, 10, 2, 0)
    assert result.other_counts == {
        "channel": {"mobile_sdk": 1},
        "category": {"refunds": 1},
        "priority": {"(none)": 1},
    }
    # days from the first ticket to the last event, quiet days included
    assert landed_days(tmp_path / "landing") == [f"2026-05-0{d}" for d in range(4, 10)]
    tickets = {t["ticket_id"]: t for t in _landed(tmp_path / "landing", HELPDESK_TICKETS)}
    assert sorted(tickets) == [101, 102, 104]
    assert {k: tickets[101][k] for k in ("channel", "category", "priority", "tier")} == {
        "channel": "email",
        "category": "billing",
        "priority": "high",
        "tier": "vip",
    }
    assert (tickets[101]["account_id"], tickets[101]["requester_id"]) == ("ACC-1", "CON-1")
    assert {k: tickets[102][k] for k in ("channel", "category", "priority", "tier")} == {
        "channel": "phone",
        "category": "other",
        "priority": "normal",
        "tier": "standard",
    }
    # no organization on the ticket: the requester's; no external id: not a CRM account
    assert (tickets[102]["account_id"], tickets[102]["requester_id"]) == ("zendesk-org-502", "2")
    assert (tickets[104]["channel"], tickets[104]["category"]) == ("other", "account_access")
    # the first ticket_schedule row; no row: the tier's clock (null)
    assert {t: tickets[t]["schedule_id"] for t in tickets} == {101: "8001", 102: None, 104: None}

    events = _landed(tmp_path / "landing", HELPDESK_TICKET_EVENTS)
    by_ticket: dict[int, list[tuple]] = {}
    for e in events:
        by_ticket.setdefault(e["ticket_id"], []).append(
            (e["created_at"][5:16], e["event_type"], e["actor_type"], e["actor_id"], e["status"])
        )
    assert set(by_ticket) == {101, 102, 104}
    assert sorted(by_ticket[101]) == [
        ("05-04T09:00", "created", "requester", "CON-1", "new"),
        ("05-04T09:05", "agent_assigned", "agent", "AGT-11", None),
        ("05-04T09:10", "internal_note", "agent", "AGT-11", None),
        ("05-04T09:30", "agent_reply", "agent", "AGT-11", None),
        ("05-04T09:30", "status_change", "agent", "AGT-11", "pending"),
        ("05-04T10:00", "requester_reply", "requester", "CON-1", None),
        ("05-04T10:00", "status_change", "system", None, "open"),
        ("05-04T11:00", "solved", "agent", "AGT-11", "solved"),
        ("05-05T08:00", "reopened", "system", None, "open"),
        ("05-05T09:00", "solved", "agent", "AGT-11", "solved"),
        ("05-05T12:00", "csat_response", "requester", "CON-1", None),
        ("05-09T09:00", "closed", "system", None, "closed"),
    ]
    # agent-opened: the agent's private first comment is the description, not a note
    assert sorted(by_ticket[102]) == [
        ("05-04T14:00", "agent_assigned", "agent", "AGT-11", None),
        ("05-04T14:00", "created", "agent", "AGT-11", "open"),
        ("05-04T14:30", "agent_reply", "agent", "AGT-11", None),
        ("05-04T15:00", "escalated", "agent", "AGT-11", None),
    ]
    # the bot by name; its group change is the hand-off; an admin is an agent;
    # an "offered" survey is no response
    assert sorted(by_ticket[104]) == [
        ("05-06T08:00", "bot_reply", "bot", "90", None),
        ("05-06T08:00", "created", "requester", "CON-1", "new"),
        ("05-06T08:01", "bot_handoff", "bot", "90", None),
        ("05-06T08:10", "agent_assigned", "agent", "12", None),
        ("05-06T08:20", "agent_reply", "agent", "12", None),
        ("05-06T08:20", "status_change", "agent", "12", "on_hold"),
    ]
    detail = {(e["ticket_id"], e["event_type"]): e for e in events}
    assert detail[(101, "agent_reply")]["handle_seconds"] == 300
    assert detail[(104, "agent_reply")]["handle_seconds"] is None
    assert detail[(102, "escalated")]["to_tier"] == 2
    assert detail[(101, "csat_response")]["csat_score"] == 5
    assert len({e["event_id"] for e in events}) == len(events)

    # Re-converting the same sync gives the same files (event ids included).
    first = {p: p.read_bytes() for p in (tmp_path / "landing").rglob("*.jsonl")}
    convert_to_landing(tmp_path / "export", tmp_path / "landing")
    assert {p: p.read_bytes() for p in (tmp_path / "landing").rglob("*.jsonl")} == first


def test_hand_built_export_loads_with_native_pii_rules(tmp_path: Path) -> None:
    """Ingestion hashes the mapped PII with the native HMAC and keeps no comment text."""
    _hand_export(tmp_path / "export")
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing")
    con = duckdb.connect()
    for entity in (HELPDESK_TICKETS, HELPDESK_TICKET_EVENTS):
        loaded = load_range(
            con, entity, tmp_path / "landing", result.first_day, result.last_day, KEY
        )
        assert loaded.rows_quarantined == 0
    email_hash, name_hash, phone_hash = con.execute(
        "SELECT requester_email_hash, requester_name_hash, requester_phone_hash "
        "FROM raw.helpdesk_tickets WHERE ticket_id = 101"
    ).fetchone()

    def mac(value: str) -> str:
        return hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()

    assert (email_hash, name_hash, phone_hash) == (
        mac("ana@example.com"),
        mac("ana lopez"),
        mac("+15550100"),
    )
    chars, language = con.execute(
        "SELECT body_chars, body_language FROM raw.helpdesk_ticket_events "
        "WHERE ticket_id = 101 AND event_type = 'agent_reply'"
    ).fetchone()
    assert chars == len("Thanks for waiting - fixed it")
    assert language == "en"
    # the connector's text gets the native scorer: the reply reads positive, "The invoice
    # is wrong" negative
    reply_sentiment = con.execute(
        "SELECT body_sentiment FROM raw.helpdesk_ticket_events "
        "WHERE ticket_id = 101 AND event_type = 'agent_reply'"
    ).fetchone()[0]
    description = con.execute(
        "SELECT description_sentiment, description_language FROM raw.helpdesk_tickets "
        "WHERE ticket_id = 101"
    ).fetchone()
    assert reply_sentiment == sentiment_score("Thanks for waiting - fixed it", "en") > 0.3
    assert description == (sentiment_score("The invoice is wrong", "en"), "en")
    assert description[0] < -0.3
    text = con.execute(
        "SELECT string_agg(CAST(t AS VARCHAR), ' ') FROM raw.helpdesk_ticket_events AS t"
    ).fetchone()[0] + " ".join(
        str(r) for r in con.execute("SELECT * FROM raw.helpdesk_tickets").fetchall()
    )
    for secret in ("Ana", "Lopez", "example.com", "fixed it", "invoice"):
        assert secret not in text


def test_config_overrides_bot_category_and_tier(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    config = ZendeskFivetranConfig(
        bot_user_ids=("12",),
        bot_name_pattern="",
        category_map={"refunds": "billing"},
        vip_organization_tags=("gold",),
        channel_map={"voice": "phone", "email": "email", "mobile_sdk": "chat"},
    )
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing", config)
    assert result.other_counts == {"priority": {"(none)": 1}}
    tickets = {t["ticket_id"]: t for t in _landed(tmp_path / "landing", HELPDESK_TICKETS)}
    assert tickets[102]["category"] == "billing"
    assert tickets[104]["channel"] == "chat"
    assert {t["tier"] for t in tickets.values()} == {"standard"}
    events = _landed(tmp_path / "landing", HELPDESK_TICKET_EVENTS)
    types_104 = sorted(e["event_type"] for e in events if e["ticket_id"] == 104)
    # user 90 is no bot by id and the name pattern is off: an agent, whose move to a tier-1
    # group is neither a hand-off nor an escalation; user 12 is the bot now
    assert types_104 == [
        "agent_assigned",
        "agent_reply",
        "bot_reply",
        "created",
        "status_change",
    ]


# ---------------------------------------------------------------------------------------
# sources check


def test_check_passes_the_hand_export(tmp_path: Path) -> None:
    _hand_export(tmp_path)
    report = check_export(tmp_path)
    assert report.ok, report.errors
    assert report.rows["ticket"] == 5  # rows read, older versions included
    assert report.unavailable == []


def test_check_names_missing_table_column_and_bad_type(tmp_path: Path) -> None:
    _hand_export(tmp_path)
    (tmp_path / "ticket_comment.csv").unlink()
    (tmp_path / "satisfaction_rating.csv").unlink()
    ticket = (tmp_path / "ticket.csv").read_text().replace("via_channel", "channel_via")
    (tmp_path / "ticket.csv").write_text(ticket)
    history = (tmp_path / "ticket_field_history.csv").read_text()
    (tmp_path / "ticket_field_history.csv").write_text(
        history.replace("2026-05-04 09:05:00", "yesterday")
    )

    result = CliRunner().invoke(
        app, ["sources", "check", str(tmp_path), "--kind", "zendesk_fivetran"], terminal_width=200
    )

    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "table ticket: column via_channel missing" in out
    assert "table ticket_comment: missing" in out
    assert (
        "table ticket_field_history: column updated has 1 value(s) that are not TIMESTAMP "
        "(e.g. 'yesterday')" in out
    )
    assert "CSAT is unavailable" in out
    assert "cannot be loaded as zendesk_fivetran" in out


def test_check_reports_metrics_a_thin_export_lacks(tmp_path: Path) -> None:
    _hand_export(tmp_path)
    for table in ("group", "organization_tag", "ticket_tag"):
        (tmp_path / f"{table}.csv").unlink()
    history = (tmp_path / "ticket_field_history.csv").read_text().splitlines()
    (tmp_path / "ticket_field_history.csv").write_text(
        "\n".join(line for line in history if "time_spent" not in line) + "\n"
    )
    report = check_export(tmp_path, ZendeskFivetranConfig(bot_name_pattern=""))
    assert report.ok
    unavailable = dict(report.unavailable)
    assert set(unavailable) == {
        "(no table group)",
        "(no table organization_tag)",
        "(no table ticket_tag)",
        "bot containment",
        "handle time",
    }
    assert "escalations are unavailable" in unavailable["(no table group)"]
    assert any("no organization external_id" in w for w in report.warnings)


def test_a_later_sync_rewrites_only_the_days_it_changes(tmp_path: Path) -> None:
    """Re-loading the same sync writes nothing; a sync that deletes a ticket rewrites the days
    that held its rows and no other, and the manifest moves to the new watermark."""
    export, landing = tmp_path / "export", tmp_path / "landing"
    _hand_export(export)
    first = convert_to_landing(export, landing)
    assert first.changed_days == [dt.date(2026, 5, d) for d in range(4, 10)]
    day_files = sorted((landing / "helpdesk").glob("*/*.jsonl"))
    stamps = {path: path.stat().st_mtime_ns for path in day_files}
    assert convert_to_landing(export, landing).changed_days == []
    assert {path: path.stat().st_mtime_ns for path in day_files} == stamps
    clear_deletions(landing, ["helpdesk"])  # as a full build does
    assert convert_to_landing(export, landing).changed_days == []
    assert sources_with_deletions(landing, ["helpdesk"]) == []  # same sync: nothing new gone
    # a day folder someone else overwrote is restored, though the export did not change
    (landing / "helpdesk" / "2026-05-05" / HELPDESK_TICKETS.file_name).write_text("")
    assert convert_to_landing(export, landing).changed_days == [dt.date(2026, 5, 5)]
    day_files = sorted((landing / "helpdesk").glob("*/*.jsonl"))
    stamps = {path: path.stat().st_mtime_ns for path in day_files}

    holding_104 = sorted(
        {
            path.parent.name
            for path in day_files
            if any(json.loads(line)["ticket_id"] == 104 for line in path.read_text().splitlines())
        }
    )
    with (export / "ticket.csv").open("a") as tickets:
        tickets.write(
            "104,2026-05-11 03:00:00,true,2026-05-06 08:00:00,2026-05-06 09:00:00,open,low,"
            "1,1,12,71,501,mobile_sdk,Login,Cannot log in\n"
        )
    second = convert_to_landing(export, landing)
    assert sources_with_deletions(landing, ["helpdesk"]) == ["helpdesk"]
    assert [d.isoformat() for d in second.changed_days] == holding_104
    assert second.deleted_tickets == 2
    assert 104 not in {t["ticket_id"] for t in _landed(landing, HELPDESK_TICKETS)}
    assert 104 not in {e["ticket_id"] for e in _landed(landing, HELPDESK_TICKET_EVENTS)}
    untouched = [p for p in day_files if p.parent.name not in holding_104]
    assert untouched and all(p.stat().st_mtime_ns == stamps[p] for p in untouched)
    manifest = json.loads((landing / "helpdesk" / "_connector.json").read_text())
    assert (manifest["kind"], manifest["synced_through"]) == (
        "zendesk_fivetran",
        "2026-05-11T03:00:00",
    )


def test_an_incremental_drop_adds_to_the_kept_versions(tmp_path: Path) -> None:
    """A sync delivered as only its changed rows: the archive under `_synced/` keeps every
    version (re-loading one adds nothing), and the landing reflects the whole current state."""
    export, landing = tmp_path / "export", tmp_path / "landing"
    _hand_export(export)
    convert_to_landing(export, landing)
    convert_to_landing(export, landing)
    archive = landing / "helpdesk" / "_synced"
    versions = duckdb.connect()

    def archived(table: str) -> int:
        return versions.execute(
            f"SELECT count(*) FROM read_parquet('{archive / table}/*.parquet', union_by_name=true)"
        ).fetchone()[0]

    assert archived("ticket") == 5  # every row of ticket.csv, 101 in two versions
    before = {t["ticket_id"] for t in _landed(landing, HELPDESK_TICKETS)}

    for table in export.iterdir():  # the next drop holds only what changed since
        header = table.read_text().splitlines()[0]
        table.write_text(header + "\n")
    (export / "ticket.csv").write_text(
        "id,_fivetran_synced,_fivetran_deleted,created_at,updated_at,status,priority,"
        "requester_id,submitter_id,assignee_id,group_id,organization_id,via_channel,subject,"
        "description\n"
        "104,2026-05-11 03:00:00,true,2026-05-06 08:00:00,2026-05-06 09:00:00,open,low,"
        "1,1,12,71,501,mobile_sdk,Login,Cannot log in\n"
    )
    result = convert_to_landing(export, landing)
    assert archived("ticket") == 6
    assert {t["ticket_id"] for t in _landed(landing, HELPDESK_TICKETS)} == before - {104}
    assert result.synced_through == dt.datetime(2026, 5, 11, 3, 0)
    convert_to_landing(export, landing)
    assert archived("ticket") == 6


def test_a_duckdb_database_export_loads_like_the_folder(tmp_path: Path) -> None:
    """Fivetran's and Airbyte's DuckDB destinations: the same tables in a schema of a
    database file give the same landing files; two schemas holding a table need `schema`."""
    _hand_export(tmp_path / "export")
    database = tmp_path / "fivetran.duckdb"
    with duckdb.connect(str(database)) as con:
        for schema in ("zendesk", "zendesk_old"):
            con.execute(f"CREATE SCHEMA {schema}")
        for table in (tmp_path / "export").glob("*.csv"):
            con.execute(
                f'CREATE TABLE zendesk."{table.stem}" AS SELECT * FROM read_csv(?, header=true)',
                [str(table)],
            )
        con.execute("CREATE TABLE zendesk_old.ticket AS SELECT * FROM zendesk.ticket LIMIT 0")

    ambiguous = check_export(database)
    assert ambiguous.errors == [
        "table ticket is in several schemas (zendesk, zendesk_old): set `schema` in the "
        "source's config"
    ]
    config = ZendeskFivetranConfig(schema="zendesk")
    assert check_export(database, config).ok
    from_database = convert_to_landing(database, tmp_path / "from_database", config)
    from_folder = convert_to_landing(tmp_path / "export", tmp_path / "from_folder")
    assert (from_database.tickets, from_database.events) == (
        from_folder.tickets,
        from_folder.events,
    )
    for entity in (HELPDESK_TICKETS, HELPDESK_TICKET_EVENTS):
        assert _landed(tmp_path / "from_database", entity) == _landed(
            tmp_path / "from_folder", entity
        )


def test_load_command_writes_landing_days(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    result = CliRunner().invoke(
        app,
        ["sources", "load", str(tmp_path / "export"), "--landing", str(tmp_path / "landing")],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "3 tickets and 22 events" in out
    assert "1 deleted tickets dropped" in out
    assert "synced through 2026-05-10 02:00:00" in out
    assert "category: 1 tickets mapped to other ({'refunds': 1})" in out
    assert (tmp_path / "landing" / "helpdesk" / "2026-05-04" / "tickets.jsonl").is_file()


def test_generate_command_writes_the_connector_shape(tmp_path: Path) -> None:
    args = ["generate", "--out", str(tmp_path), "--scale", "tiny", "--days", "3"]
    result = CliRunner().invoke(app, [*args, "--format", "zendesk_fivetran"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "landing" / "helpdesk").exists()
    assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == ["crm", "telemetry"]
    assert check_export(tmp_path / "connectors" / "zendesk_fivetran").ok

    faulty = CliRunner().invoke(
        app, [*args, "--format", "zendesk_fivetran", "--fault-rate", "0.1"], terminal_width=200
    )
    assert faulty.exit_code != 0
    assert "faults are injected into native files only" in " ".join(faulty.output.split())


def test_config_file_sets_the_mapping_knobs(tmp_path: Path) -> None:
    """The documented example's mapping parses, and `--config` reaches the mapping."""
    example = yaml.safe_load((Path(__file__).parents[1] / "sources.example.yml").read_text())
    zendesk = next(s for s in example["sources"] if s["kind"] == "zendesk_fivetran")
    assert ZendeskFivetranConfig.from_mapping(zendesk["mapping"]) == ZendeskFivetranConfig(
        bot_user_ids=("360001234567",),
        category_map={"billing_question": "billing", "refunds": "billing"},
    )
    config = tmp_path / "zendesk.yml"
    config.write_text(yaml.safe_dump({"zendesk_fivetran": zendesk["mapping"]}))
    _hand_export(tmp_path / "export")
    args = ["sources", "load", str(tmp_path / "export"), "--landing", str(tmp_path / "landing")]
    result = CliRunner().invoke(app, [*args, "--config", str(config)], terminal_width=200)
    assert result.exit_code == 0, result.output
    tickets = {t["ticket_id"]: t for t in _landed(tmp_path / "landing", HELPDESK_TICKETS)}
    assert tickets[102]["category"] == "billing"

    (tmp_path / "bad.yml").write_text("zendesk_fivetran:\n  bot_users: [1]\n")
    bad = CliRunner().invoke(app, [*args, "--config", str(tmp_path / "bad.yml")])
    assert bad.exit_code != 0
    assert "bot_users" in " ".join(bad.output.split())
