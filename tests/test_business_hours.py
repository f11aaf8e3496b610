"""Business hours from the source's Zendesk schedules, end to end with hand-worked minutes
(and the scoring service's business-hours flag of a posted ticket against the warehouse's).

A connector-shaped export, written here as small CSV files, has one schedule: Mon-Fri
09:00-17:00 in New York (Zendesk's Rails name "Eastern Time (US & Canada)"), Tuesday
2026-03-10 a holiday. US daylight saving starts Sunday 2026-03-08, so the office is open
14:00-22:00 UTC up to Friday 03-06 and 13:00-21:00 UTC from Monday 03-09. The adapter lands
it, ingestion loads it under the contracts, dbt builds fct_tickets; every figure below is
counted by hand in local office hours (all tickets are tier standard, whose own clock,
Mon-Fri 08:00-18:00 UTC, would give other numbers).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from extracts.contracts import (
    ENTITIES,
    HELPDESK_SCHEDULE_HOLIDAYS,
    HELPDESK_SCHEDULES,
    HELPDESK_TICKET_EVENTS,
    HELPDESK_TICKETS,
)
from extracts.ingest import ensure_tables, load_range
from extracts.sources.zendesk_fivetran import check_export, convert_to_landing
from extracts.sources.zendesk_schedules import RAILS_TIME_ZONES, _time_zones
from ml import live
from tests.conftest import connector_csv, run_dbt, runs_pipeline

KEY = b"test-pii-key"
SYNCED = "2026-03-12 02:00:00"
NEW_YORK = "Eastern Time (US & Canada)"

# Mon-Fri 09:00-17:00 as minutes of the week from Sunday 00:00: day d opens at d*1440 + 540.
OFFICE_HOURS = [(d * 1440 + 540, d * 1440 + 1020) for d in range(1, 6)]

# ticket id -> (created, first agent reply, solved), UTC; 204 has no schedule
TICKETS = {
    201: ("2026-03-06 20:00:00", "2026-03-09 14:30:00", "2026-03-11 13:30:00"),
    202: ("2026-03-05 23:00:00", "2026-03-06 14:10:00", "2026-03-06 21:00:00"),
    203: ("2026-03-10 15:00:00", "2026-03-10 16:00:00", "2026-03-11 14:00:00"),
    204: ("2026-03-09 07:00:00", "2026-03-09 09:00:00", "2026-03-09 10:00:00"),
    205: ("2026-03-04 15:00:00", "2026-03-05 15:30:00", "2026-03-05 16:00:00"),
}


def _export(folder: Path, time_zone: str = NEW_YORK, intervals=OFFICE_HOURS) -> None:
    connector_csv(
        folder,
        "user",
        "id,_fivetran_synced,name,email,role,external_id,organization_id",
        f"1,{SYNCED},Ana Lopez,ana@example.com,end-user,CON-1,501",
        f"11,{SYNCED},Agent Smith,smith@support.test,agent,AGT-11,",
    )
    connector_csv(
        folder, "organization", "id,_fivetran_synced,external_id,name", f"501,{SYNCED},ACC-1,Acme"
    )
    connector_csv(folder, "organization_tag", "organization_id,tag,_fivetran_synced")
    connector_csv(folder, "group", "id,_fivetran_synced,name", f"71,{SYNCED},Support Tier 1")
    connector_csv(
        folder, "ticket_tag", "ticket_id,tag,_fivetran_synced", f"201,category_billing,{SYNCED}"
    )
    connector_csv(folder, "satisfaction_rating", "id,_fivetran_synced,ticket_id,score,created_at")
    connector_csv(
        folder,
        "ticket",
        "id,_fivetran_synced,created_at,status,priority,requester_id,submitter_id,"
        "organization_id,via_channel,subject,description",
        *(
            f"{t},{SYNCED},{created},solved,normal,1,1,501,email,Help,Please help"
            for t, (created, _, _) in TICKETS.items()
        ),
    )
    comments, history = [], []
    for t, (created, reply, solved) in TICKETS.items():
        comments += [
            f"{t}1,{SYNCED},Please help,{created},true,{t},1",
            f"{t}2,{SYNCED},Here you go,{reply},true,{t},11",
        ]
        history += [
            f"status,{t},{created},{SYNCED},1,new",
            f"status,{t},{solved},{SYNCED},11,solved",
        ]
    connector_csv(
        folder,
        "ticket_comment",
        "id,_fivetran_synced,body,created,public,ticket_id,user_id",
        *comments,
    )
    connector_csv(
        folder,
        "ticket_field_history",
        "field_name,ticket_id,updated,_fivetran_synced,user_id,value",
        *history,
    )
    connector_csv(
        folder,
        "schedule",
        "id,_fivetran_synced,_fivetran_deleted,name,time_zone,start_time,end_time",
        *(f'7001,{SYNCED},false,New York office,"{time_zone}",{s},{e}' for s, e in intervals),
        # a deleted schedule is not landed
        f"7002,{SYNCED},true,Old,Bogus/Zone,0,10080",
    )
    connector_csv(
        folder,
        "schedule_holiday",
        "id,_fivetran_synced,schedule_id,start_date,end_date,name",
        f"1,{SYNCED},7001,2026-03-10,2026-03-10,Office closed",
    )
    connector_csv(
        folder,
        "ticket_schedule",
        "ticket_id,created_at,schedule_id,_fivetran_synced",
        *(f"{t},{TICKETS[t][0]},7001,{SYNCED}" for t in (201, 202, 203, 205)),
        # moved to another schedule later: the first one counts
        f"201,2026-03-09 15:00:00,7002,{SYNCED}",
    )


def _dbt(*args: str, warehouse: Path, tmp: Path) -> None:
    done = run_dbt(*args, work=tmp, SUPPORTOPS_WAREHOUSE=str(warehouse))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


@pytest.fixture(scope="module")
@runs_pipeline
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export converted, ingested (helpdesk entities, no CRM rows) and built to fct_tickets."""
    root = tmp_path_factory.mktemp("business_hours")
    _export(root / "export")
    result = convert_to_landing(root / "export", root / "landing")
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for entity in (HELPDESK_TICKETS, HELPDESK_TICKET_EVENTS, HELPDESK_SCHEDULES,
                       HELPDESK_SCHEDULE_HOLIDAYS):  # fmt: skip
            loaded = load_range(
                con, entity, root / "landing", result.first_day, result.last_day, KEY
            )
            assert loaded.rows_quarantined == 0, entity.table
        for entity in ENTITIES:  # the sources without rows here: empty tables
            ensure_tables(con, entity)
    _dbt("seed", warehouse=warehouse, tmp=root)
    _dbt("run", "--select", "+fct_tickets", "+feat_ticket_at_creation", "dim_business_hours",
         warehouse=warehouse, tmp=root)  # fmt: skip
    return warehouse


def _tickets(warehouse: Path) -> dict[int, tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """SELECT ticket_id, first_reply_business_minutes, full_resolution_business_minutes,
                      sla_first_response_due_at, is_sla_first_response_breached,
                      sla_resolution_due_at, is_sla_resolution_breached
               FROM marts.fct_tickets ORDER BY ticket_id"""
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_business_minutes_follow_the_schedule_across_weekend_holiday_and_dst(built: Path) -> None:
    minutes = {t: (row[0], row[1]) for t, row in _tickets(built).items()}
    assert minutes == {
        # Fri 15:00-17:00 EST (120) + Mon 09:00-10:30 EDT (90); solved Wed 09:30 EDT:
        # 120 + Mon 480 + Tue holiday 0 + Wed 30
        201: (210.0, 630.0),
        # created Thu 18:00 EST, after closing: the clock starts Fri 09:00; reply 09:10,
        # solved 16:00
        202: (10.0, 420.0),
        # created and answered on the holiday; solved Wed 10:00 EDT
        203: (0.0, 60.0),
        # no ticket_schedule row: the standard tier's clock (08:00-18:00 UTC)
        204: (60.0, 120.0),
        # Wed 10:00-17:00 EST (420) + Thu 09:00-10:30 (90); solved Thu 11:00: 420 + 120
        205: (510.0, 540.0),
    }


def test_business_sla_deadlines_follow_the_schedule(built: Path) -> None:
    tickets = _tickets(built)
    # 201: 240 business minutes from Fri 15:00 EST = Fri 120 + Mon 120 -> Mon 11:00 EDT;
    # 1440 = Fri 120 + Mon 480 + (Tue holiday) + Wed 480 + Thu 360 -> Thu 15:00 EDT
    assert tickets[201][2:] == (
        dt.datetime(2026, 3, 9, 15, 0),
        False,
        dt.datetime(2026, 3, 12, 19, 0),
        False,
    )
    # 205: first reply after 510 business minutes breaches the 240 due Wed 14:00 EST
    assert tickets[205][2:4] == (dt.datetime(2026, 3, 4, 19, 0), True)


# Posted to the scoring service: (created UTC, schedule, tier) -> in business hours, by hand.
POSTED = {
    # the warehouse's own tickets, as the helpdesk sent them
    201: ("2026-03-06 20:00:00", "7001", "standard", True),  # Fri 15:00 EST
    202: ("2026-03-05 23:00:00", "7001", "standard", False),  # Thu 18:00 EST: closed
    203: ("2026-03-10 15:00:00", "7001", "standard", False),  # the holiday
    204: ("2026-03-09 07:00:00", None, "standard", False),  # tier clock opens 08:00 UTC
    205: ("2026-03-04 15:00:00", "7001", "standard", True),  # Wed 10:00 EST
    # new ones
    206: ("2026-03-10 18:00:00", "7001", "standard", False),  # holiday, 14:00 EDT
    207: ("2026-03-11 18:00:00", "7001", "standard", True),  # Wed 14:00 EDT
    208: ("2026-03-11 12:30:00", "7001", "standard", False),  # 08:30 EDT; tier clock: open
    209: ("2026-03-07 12:00:00", None, "vip", True),  # Saturday, VIP clock 24x7
    210: ("2026-03-11 12:30:00", "9999", "standard", True),  # unknown schedule: tier clock
}


def test_the_scoring_service_puts_a_posted_ticket_in_business_hours_as_the_warehouse_does(
    built: Path,
) -> None:
    """A posted ticket's `is_created_in_business_hours` (ml/live.py, from the calendar the
    serving copy publishes) against the hand-worked answer and, for the warehouse's own
    tickets, feat_ticket_at_creation's: a holiday, after closing, before opening in New
    York while the tier clock is open, the VIP clock at the weekend, and an unknown schedule
    falling back to the tier's clock."""
    posted = pd.DataFrame(
        [{"ticket_id": t, "created_at": pd.Timestamp(created), "channel": "email",
          "category": "billing", "priority": "normal", "tier": tier, "account_id": "ACC-1",
          "requester_id": "CON-1", "schedule_id": schedule, "subject": "Help",
          "description": "Please help"}
         for t, (created, schedule, tier, _) in POSTED.items()]
    )  # fmt: skip
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{built}' AS serving (READ_ONLY)")
        features = live.ticket_features(live.prepare(con), posted)
        warehouse = dict(
            con.execute(
                "SELECT ticket_id, is_created_in_business_hours "
                "FROM serving.features.feat_ticket_at_creation"
            ).fetchall()
        )
    served = dict(zip(features["ticket_id"], features["is_created_in_business_hours"], strict=True))
    assert served == {t: row[3] for t, row in POSTED.items()}
    assert sorted(warehouse) == [201, 202, 203, 204, 205]
    assert warehouse == {t: served[t] for t in warehouse}


def test_schedules_land_as_daily_snapshots_with_iana_zones(tmp_path: Path) -> None:
    _export(tmp_path / "export")
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing")
    days = sorted(p.name for p in (tmp_path / "landing" / "helpdesk").glob("2026-*"))
    assert days == [f"2026-03-{d:02d}" for d in range(4, 12)]
    assert (result.first_day, result.last_day) == (dt.date(2026, 3, 4), dt.date(2026, 3, 11))
    for day in days:
        folder = tmp_path / "landing" / "helpdesk" / day
        assert (folder / "schedules.csv").read_text().splitlines() == [
            "schedule_id,schedule_name,time_zone,start_minute,end_minute",
            *(f"7001,New York office,America/New_York,{s},{e}" for s, e in OFFICE_HOURS),
        ]
        assert (folder / "schedule_holidays.csv").read_text().splitlines() == [
            "schedule_id,start_date,end_date,holiday_name",
            "7001,2026-03-10,2026-03-10,Office closed",
        ]
    with duckdb.connect() as con:
        schedules = dict(
            con.execute(
                f"SELECT ticket_id, schedule_id FROM read_json('{tmp_path}/landing/helpdesk/*/tickets.jsonl')"
            ).fetchall()
        )
    assert schedules == {201: "7001", 202: "7001", 203: "7001", 204: None, 205: "7001"}


def test_check_reports_schedule_tables_as_used(tmp_path: Path) -> None:
    _export(tmp_path)
    (tmp_path / "time_zone.csv").write_text("time_zone,standard_offset\nAmerica/New_York,-05:00\n")
    report = check_export(tmp_path)
    assert report.ok, report.errors
    assert not any("schedule" in w or "time_zone" in w for w in report.warnings)
    # no bot users or time tracking in this export; nothing about schedules is lost
    assert {metric for metric, _ in report.unavailable} == {"bot containment", "handle time"}
    assert report.rows["schedule"] == 6


def test_check_names_an_unknown_time_zone_and_an_interval_outside_the_week(tmp_path: Path) -> None:
    _export(tmp_path, time_zone="Atlantis Time", intervals=[(1980, 2460), (9900, 10200)])
    report = check_export(tmp_path)
    assert report.errors == [
        "table schedule: column time_zone value 'Atlantis Time' (schedule 7001) is no IANA "
        "time zone and no Rails time-zone name Zendesk uses",
        "table schedule: columns start_time, end_time value 9900-10200 (schedule 7001) is not "
        "an interval of the week (0 <= start_time < end_time <= 10080, minutes from Sunday "
        "00:00)",
    ]
    with pytest.raises(ValueError, match="Atlantis Time"):
        convert_to_landing(tmp_path, tmp_path / "landing")


def test_every_rails_zone_maps_to_a_zone_duckdb_knows() -> None:
    with duckdb.connect() as con:
        known = {name for (name,) in con.execute("SELECT name FROM pg_timezone_names()").fetchall()}
    assert set(RAILS_TIME_ZONES.values()) - known == set()
    assert RAILS_TIME_ZONES[NEW_YORK] == "America/New_York"
    assert RAILS_TIME_ZONES["Pacific Time (US & Canada)"] == "America/Los_Angeles"
    # one zone per name, so a schedule interval lands once ("UTC" is a Rails and an IANA name)
    with duckdb.connect() as con:
        _time_zones(con)
        assert con.execute(
            "SELECT count(*) - count(DISTINCT name) FROM _zd_time_zones"
        ).fetchone() == (0,)
        assert con.execute(
            "SELECT name, iana FROM _zd_time_zones WHERE name IN ('UTC', 'Eastern Time (US & Canada)') ORDER BY 1"
        ).fetchall() == [("Eastern Time (US & Canada)", "America/New_York"), ("UTC", "UTC")]


def test_schedule_snapshots_load_under_their_contract(tmp_path: Path) -> None:
    """Optional entity: a day without the file loads nothing; a bad row is quarantined with
    its field and reason; a re-run replaces the window."""
    day = dt.date(2026, 3, 9)
    folder = tmp_path / "helpdesk" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / "schedules.csv").write_text(
        "schedule_id,schedule_name,time_zone,start_minute,end_minute\n"
        "7001,New York office,America/New_York,1980,2460\n"
        "7001,New York office,America/New_York,6300,10500\n"
    )
    con = duckdb.connect()
    previous = day - dt.timedelta(days=1)
    for _ in range(2):
        result = load_range(con, HELPDESK_SCHEDULES, tmp_path, previous, day, KEY)
        assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    assert result.files == [str(folder.resolve() / "schedules.csv")]
    assert con.execute(
        "SELECT field, fault_kind, reason FROM quarantine.helpdesk_schedules"
    ).fetchall() == [
        ("end_minute", "out_of_range", "end_minute value 10500 out of range [0, 10080]")
    ]
    assert con.execute(
        "SELECT schedule_id, start_minute, _landing_date FROM raw.helpdesk_schedules"
    ).fetchall() == [("7001", 1980, day)]
    empty = load_range(con, HELPDESK_SCHEDULE_HOLIDAYS, tmp_path, previous, day, KEY)
    assert (empty.rows_read, empty.files) == (0, [])
    assert con.execute("SELECT count(*) FROM raw.helpdesk_schedule_holidays").fetchone()[0] == 0
