"""Per-ticket metrics as fivetran/dbt_zendesk defines them, on a hand-built Fivetran export.

Seven tickets, each an edge case, go through the adapter and the real pipeline (ingestion,
dbt, publication); fct_tickets must give the numbers worked out by hand below. Tickets are
standard tier: business hours Mon-Fri 08:00-18:00 UTC. 2026-05-04 is a Monday.

- 201 reopened: requester email Mon 09:00, agent reply 09:45, solved 10:00, the requester
  writes back Tue 08:30 (reopen), agent reply 09:00, solved Tue 09:30.
- 202 merged into 201 (tag closed_by_merge, private note, closed): dropped, counted apart.
- 203 agent-opened: an agent logs a call for the requester Mon 13:00 (public description),
  replies 14:00, solves 14:30. dbt_zendesk counts the description as a public agent
  comment (count_public_agent_comments 2: two-touch there); here it is no reply (one-touch).
  First reply agrees: creation to the agent's next public comment.
- 204 deleted in Zendesk: dropped.
- 205 two assignees: created Tue 17:00, agent 11 assigned 17:10 (private note 17:20),
  agent 12 assigned 17:30, 12 replies Wed 08:30, 11 assigned again 08:45 and replies
  08:50, solved 09:00.
- 206 one reply over a weekend: created Fri 16:00, assigned 16:30, reply Mon 09:00,
  solved Mon 10:00.
- 207 one reply, still pending: created Mon 05-11 08:00, assigned 08:10, reply 08:20.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from extracts.sources.zendesk_fivetran import ConversionResult, convert_to_landing
from orchestration.cli import app
from tests.conftest import Pipeline, connector_csv, landed_days, run_pipeline

SYNCED = "2026-05-12 02:00:00"


def _export(folder: Path) -> None:
    connector_csv(
        folder,
        "user",
        "id,_fivetran_synced,name,email,phone,role,external_id,organization_id",
        f"1,{SYNCED},Ana Lopez,ana@example.com,,end-user,CON-1,501",
        f"11,{SYNCED},Agent Smith,smith@support.test,,agent,AGT-11,",
        f"12,{SYNCED},Admin Jones,jones@support.test,,admin,AGT-12,",
    )
    connector_csv(
        folder, "organization", "id,_fivetran_synced,external_id,name", f"501,{SYNCED},,Acme"
    )
    ticket_header = (
        "id,_fivetran_synced,_fivetran_deleted,created_at,updated_at,status,priority,"
        "requester_id,submitter_id,assignee_id,group_id,organization_id,via_channel,subject,"
        "description"
    )
    connector_csv(
        folder,
        "ticket",
        ticket_header,
        f"201,{SYNCED},false,2026-05-04 09:00:00,2026-05-05 09:30:00,solved,normal,1,1,11,,501,"
        "email,Invoice wrong,The invoice is wrong",
        f"202,{SYNCED},false,2026-05-04 11:00:00,2026-05-04 11:30:00,closed,normal,1,1,11,,501,"
        "web,Invoice again,Same invoice",
        f"203,{SYNCED},false,2026-05-04 13:00:00,2026-05-04 14:30:00,solved,normal,1,12,12,,501,"
        "voice,Call,Customer called",
        f"204,{SYNCED},true,2026-05-05 10:00:00,2026-05-05 10:00:00,new,normal,1,1,,,501,"
        "web,Spam,spam",
        f"205,{SYNCED},false,2026-05-05 17:00:00,2026-05-06 09:00:00,solved,normal,1,1,11,,501,"
        "web,Export fails,The export fails",
        f"206,{SYNCED},false,2026-05-08 16:00:00,2026-05-11 10:00:00,solved,normal,1,1,11,,501,"
        "email,Password,Reset my password",
        f"207,{SYNCED},false,2026-05-11 08:00:00,2026-05-11 08:20:00,pending,normal,1,1,12,,501,"
        "web,Question,A question",
    )
    connector_csv(
        folder,
        "ticket_tag",
        "ticket_id,tag,_fivetran_synced,_fivetran_deleted",
        f"202,closed_by_merge,{SYNCED},false",
        f"201,category_billing,{SYNCED},false",
    )
    connector_csv(
        folder,
        "ticket_comment",
        "id,_fivetran_synced,body,created,public,ticket_id,user_id",
        f"1,{SYNCED},The invoice is wrong,2026-05-04 09:00:00,true,201,1",
        f"2,{SYNCED},Fixed,2026-05-04 09:45:00,true,201,11",
        f"3,{SYNCED},Still wrong,2026-05-05 08:30:00,true,201,1",
        f"4,{SYNCED},Fixed now,2026-05-05 09:00:00,true,201,11",
        f"5,{SYNCED},Same invoice,2026-05-04 11:00:00,true,202,1",
        f"6,{SYNCED},Closed: merged into #201,2026-05-04 11:30:00,false,202,11",
        f"7,{SYNCED},Customer called,2026-05-04 13:00:00,true,203,12",
        f"8,{SYNCED},Here is the answer,2026-05-04 14:00:00,true,203,12",
        f"9,{SYNCED},spam,2026-05-05 10:00:00,true,204,1",
        f"10,{SYNCED},The export fails,2026-05-05 17:00:00,true,205,1",
        f"11,{SYNCED},looks like a bug,2026-05-05 17:20:00,false,205,11",
        f"12,{SYNCED},Try this,2026-05-06 08:30:00,true,205,12",
        f"13,{SYNCED},Fixed in the release,2026-05-06 08:50:00,true,205,11",
        f"14,{SYNCED},Reset my password,2026-05-08 16:00:00,true,206,1",
        f"15,{SYNCED},Done,2026-05-11 09:00:00,true,206,11",
        f"16,{SYNCED},A question,2026-05-11 08:00:00,true,207,1",
        f"17,{SYNCED},Can you say more?,2026-05-11 08:20:00,true,207,12",
    )
    connector_csv(
        folder,
        "ticket_field_history",
        "field_name,ticket_id,updated,_fivetran_synced,user_id,value",
        f"status,201,2026-05-04 09:00:00,{SYNCED},1,new",
        f"assignee_id,201,2026-05-04 09:05:00,{SYNCED},11,11",
        f"status,201,2026-05-04 10:00:00,{SYNCED},11,solved",
        f"status,201,2026-05-05 08:30:00,{SYNCED},1,open",
        f"status,201,2026-05-05 09:30:00,{SYNCED},11,solved",
        f"status,202,2026-05-04 11:00:00,{SYNCED},1,new",
        f"status,202,2026-05-04 11:30:00,{SYNCED},11,closed",
        f"status,203,2026-05-04 13:00:00,{SYNCED},12,open",
        f"assignee_id,203,2026-05-04 13:00:00,{SYNCED},12,12",
        f"status,203,2026-05-04 14:30:00,{SYNCED},12,solved",
        f"status,204,2026-05-05 10:00:00,{SYNCED},1,new",
        f"status,205,2026-05-05 17:00:00,{SYNCED},1,new",
        f"assignee_id,205,2026-05-05 17:10:00,{SYNCED},11,11",
        f"assignee_id,205,2026-05-05 17:30:00,{SYNCED},11,12",
        f"assignee_id,205,2026-05-06 08:45:00,{SYNCED},12,11",
        f"status,205,2026-05-06 09:00:00,{SYNCED},11,solved",
        f"status,206,2026-05-08 16:00:00,{SYNCED},1,new",
        f"assignee_id,206,2026-05-08 16:30:00,{SYNCED},11,11",
        f"status,206,2026-05-11 10:00:00,{SYNCED},11,solved",
        f"status,207,2026-05-11 08:00:00,{SYNCED},1,new",
        f"assignee_id,207,2026-05-11 08:10:00,{SYNCED},12,12",
        f"status,207,2026-05-11 08:20:00,{SYNCED},12,pending",
    )


COLUMNS = (
    "first_reply_minutes",
    "first_reply_business_minutes",
    "first_resolution_minutes",
    "first_resolution_business_minutes",
    "full_resolution_minutes",
    "full_resolution_business_minutes",
    "solves",
    "reopens",
    "agent_replies",
    "assignee_stations",
    "unique_assignees",
    "is_one_touch_resolution",
    "is_two_touch_resolution",
)
# Worked by hand from the timeline in the module docstring (business: Mon-Fri 08-18).
EXPECTED = {
    # 45 min to the reply; first solve 60 min; final solve Tue 09:30 = 24h30 = 1470 min,
    # business Mon 09-18 (540) + Tue 08-09:30 (90) = 630; two public replies: two-touch
    201: (45.0, 45.0, 60.0, 60.0, 1470.0, 630.0, 2, 1, 2, 1, 1, False, True),
    # the description is the agent's own: the 14:00 reply is the first and only one
    203: (60.0, 60.0, 90.0, 90.0, 90.0, 90.0, 1, 0, 1, 1, 1, True, False),
    # Tue 17:00 -> Wed 08:30 = 930 min, business 60 + 30; solved Wed 09:00 = 960 min,
    # business 60 + 60; assigned 11, 12, 11: three stations, two assignees
    205: (930.0, 90.0, 960.0, 120.0, 960.0, 120.0, 1, 0, 2, 3, 2, False, True),
    # Fri 16:00 -> Mon 09:00 = 65 h = 3900 min, business Fri 16-18 + Mon 08-09 = 180;
    # solved Mon 10:00 = 3960 min, business 240
    206: (3900.0, 180.0, 3960.0, 240.0, 3960.0, 240.0, 1, 0, 1, 1, 1, True, False),
    # one reply but not solved: no resolution, not one-touch
    207: (20.0, 20.0, None, None, None, None, 0, 0, 1, 1, 1, False, False),
}


def _append_days(converted: Path, landing: Path) -> None:
    """Append each converted helpdesk day file to the same file of `landing`."""
    for path in sorted((converted / "helpdesk").glob("*/*.jsonl")):
        target = landing / "helpdesk" / path.parent.name / path.name
        with target.open("a") as out:
            out.write(path.read_text())


@pytest.fixture(scope="module")
def metrics_pipeline(
    tiny_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ConversionResult]:
    """The export converted, its days appended to a copy of the clean tiny world's landing,
    and the whole run through the pipeline. The tiny world's traffic is there for the
    quality gates (every raw day must have fresh rows, volumes and shares in their bands),
    which seven tickets alone would fail; its ticket ids start at 1,000,001, ours do not
    collide."""
    root = tmp_path_factory.mktemp("zendesk_metrics")
    _export(root / "zendesk")
    shutil.copytree(tiny_pipeline.landing, root / "landing")
    result = convert_to_landing(root / "zendesk", root / "converted")
    days = landed_days(root / "landing")
    assert days[0] <= str(result.first_day) and str(result.last_day) <= days[-1]
    _append_days(root / "converted", root / "landing")
    run = run_pipeline(
        root / "landing", root / "warehouse.duckdb", root / "serving.duckdb", days[0], days[-1]
    )
    assert run.success
    return root / "warehouse.duckdb", result


def test_merged_and_deleted_tickets_are_dropped_and_counted(
    metrics_pipeline: tuple[Path, ConversionResult],
) -> None:
    _, result = metrics_pipeline
    assert (result.tickets, result.deleted_tickets, result.merged_tickets) == (5, 1, 1)
    assert (str(result.first_day), str(result.last_day)) == ("2026-05-04", "2026-05-11")
    # 201: created, assigned, 3 comments after the description, 3 status moves
    # (solved, reopened, solved); 202's private merge note and closure are gone with it
    assert result.events_by_type == {
        "agent_assigned": 7,
        "agent_reply": 7,
        "created": 5,
        "internal_note": 1,
        "reopened": 1,
        "requester_reply": 1,
        "solved": 5,
        "status_change": 1,
    }


def test_fct_tickets_gives_the_hand_worked_metrics(
    metrics_pipeline: tuple[Path, ConversionResult],
) -> None:
    warehouse, _ = metrics_pipeline
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"SELECT ticket_id, {', '.join(COLUMNS)} FROM marts.fct_tickets "
            "WHERE ticket_id < 1000 ORDER BY ticket_id"
        ).fetchall()
        merged_events = con.execute(
            "SELECT count(*) FROM marts.fct_ticket_events WHERE ticket_id IN (202, 204)"
        ).fetchone()[0]
    got = {row[0]: tuple(row[1:]) for row in rows}
    assert sorted(got) == sorted(EXPECTED)
    for ticket_id, expected in EXPECTED.items():
        assert dict(zip(COLUMNS, got[ticket_id], strict=True)) == dict(
            zip(COLUMNS, expected, strict=True)
        ), ticket_id
    assert merged_events == 0


def test_load_command_reports_merged_tickets(tmp_path: Path) -> None:
    _export(tmp_path / "export")
    args = ["sources", "load", str(tmp_path / "export"), "--landing", str(tmp_path / "landing")]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "1 deleted and 1 merged tickets dropped" in " ".join(result.output.split())


def test_a_removed_merge_tag_keeps_the_ticket(tmp_path: Path) -> None:
    """Only a live `closed_by_merge` tag drops a ticket: one the connector soft-deleted
    (the tag was removed in Zendesk) leaves 202 an ordinary closed ticket, and a tag row
    without a ticket id drops nothing."""
    _export(tmp_path / "export")
    tags = tmp_path / "export" / "ticket_tag.csv"
    tags.write_text(
        tags.read_text().replace(
            "202,closed_by_merge,2026-05-12 02:00:00,false",
            "202,closed_by_merge,2026-05-12 02:00:00,true",
        )
        + f",closed_by_merge,{SYNCED},false\n"
    )
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing")
    assert (result.tickets, result.deleted_tickets, result.merged_tickets) == (6, 1, 0)
    # 202 brings its created event, the private merge note and the closure
    assert result.events_by_type["internal_note"] == 2
    assert result.events_by_type["closed"] == 1
