"""Salesforce as Fivetran lands it: the adapter, the history-mode generator, `sources check`.

The round trip writes the clean tiny world's native CRM snapshots as Salesforce tables
(`account` in history mode, `contact`, `opportunity`), maps them back, and compares every
day's CSV rows as sets with the native files (tests/test_connector_sources.py runs the
pipeline on all connector shapes at once and compares the marts and features). Every
CRM column survives the Salesforce shape: segment, tier, region and the plan ride on custom
fields, the owner label is the owner's user id, subscription ids on a custom opportunity
field; nothing is left out of the comparison.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from extracts.contracts import CRM_ACCOUNTS, CRM_CONTACTS, CRM_SUBSCRIPTIONS, Entity
from extracts.generator.salesforce_fivetran import write as write_salesforce_fivetran
from extracts.ingest import load_range
from extracts.sources.salesforce_fivetran import (
    SalesforceFivetranConfig,
    check_export,
    convert_to_landing,
)
from orchestration.cli import app
from tests.conftest import Pipeline, connector_csv

CRM = (CRM_ACCOUNTS, CRM_CONTACTS, CRM_SUBSCRIPTIONS)


def _value(entity: Entity, name: str, text: str):
    """A CSV cell as a value of its contract type (so 100 and 100.0 are one number)."""
    if text == "":
        return None
    kind = entity.field(name).type
    if kind == "DOUBLE":
        return float(text)
    if kind in ("INTEGER", "BIGINT"):
        return int(text)
    if kind == "BOOLEAN":
        return {"true": True, "false": False}[text.lower()]
    return text


def _rows(path: Path, entity: Entity) -> set[tuple]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [f.name for f in entity.fields], path
        return {tuple(_value(entity, k, v) for k, v in row.items()) for row in reader}


def _days(landing: Path) -> list[str]:
    return sorted(p.name for p in (landing / "crm").glob("????-??-??") if p.is_dir())


def _snapshot(landing: Path, entity: Entity, day: str) -> set[tuple]:
    return _rows(landing / "crm" / day / entity.file_name, entity)


# ---------------------------------------------------------------------------------------
# Round trip: the generated world, natively and through the Salesforce shape


@pytest.fixture(scope="module")
def salesforce_world(tiny_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("tiny_salesforce")
    rows = write_salesforce_fivetran(tiny_pipeline.landing, root / "salesforce")
    result = convert_to_landing(root / "salesforce", root / "landing")
    return {"root": root, "rows": rows, "result": result}


def test_round_trip_gives_the_native_snapshots(
    tiny_pipeline: Pipeline, salesforce_world: dict
) -> None:
    native, mapped = tiny_pipeline.landing, salesforce_world["root"] / "landing"
    days = _days(native)
    assert len(days) == 14
    assert _days(mapped) == days
    for day in days:
        for entity in CRM:
            expected = _snapshot(native, entity, day)
            assert expected, (day, entity.name)
            assert _snapshot(mapped, entity, day) == expected, (day, entity.name)
    result = salesforce_world["result"]
    assert result.history_mode
    assert (result.first_day.isoformat(), result.last_day.isoformat()) == (days[0], days[-1])
    assert result.fallbacks == {}
    last = _snapshot(native, CRM_ACCOUNTS, days[-1])
    assert result.accounts == len(last)


def test_generator_writes_one_account_version_per_change(
    tiny_pipeline: Pipeline, salesforce_world: dict
) -> None:
    """Versions = accounts + day-to-day changes of an account row, counted from the CSVs."""
    native = tiny_pipeline.landing
    days = _days(native)
    changes = 0
    previous: dict[str, tuple] = {}
    for day in days:
        current = {row[0]: row for row in _snapshot(native, CRM_ACCOUNTS, day)}
        changes += sum(1 for k, row in current.items() if k in previous and previous[k] != row)
        previous.update(current)
    assert changes > 0  # churned accounts become Former Customers
    assert salesforce_world["rows"]["account"] == len(previous) + changes
    con = duckdb.connect()
    account = str(salesforce_world["root"] / "salesforce" / "account.parquet")
    active, ended = con.execute(
        f"SELECT count(*) FILTER (WHERE _fivetran_active), "
        f"count(*) FILTER (WHERE _fivetran_end < TIMESTAMP '9999-01-01') FROM '{account}'"
    ).fetchone()
    assert (active, ended) == (len(previous), changes)


def test_generator_is_deterministic(tiny_pipeline: Pipeline, tmp_path: Path) -> None:
    write_salesforce_fivetran(tiny_pipeline.landing, tmp_path / "a")
    write_salesforce_fivetran(tiny_pipeline.landing, tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["account.parquet", "contact.parquet", "opportunity.parquet"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


# ---------------------------------------------------------------------------------------
# A hand-built export with known answers


SYNCED = "2026-05-05 06:00:00"
END = "9999-12-31 23:59:59"
ACCOUNT_HEADER = (
    "id,name,created_date,industry,type,owner_id,number_of_employees,segment_c,"
    "support_tier_c,region_c,arr_c,billing_email_c,is_deleted,_fivetran_synced"
)
# (common columns, history columns) per account version
ACCOUNTS = (
    # 001A: Standard, then VIP from 2026-05-03 15:00
    (
        "001A,Acme,2026-04-01 10:00:00,Technology,Customer,005X,,Mid-Market,Standard,EMEA,,"
        f"billing@acme.example,false,{SYNCED}",
        "2026-05-01 00:00:00,2026-05-03 14:59:59.999,false",
    ),
    (
        "001A,Acme,2026-04-01 10:00:00,Technology,Customer,005X,,Mid-Market,VIP,EMEA,,"
        f"billing@acme.example,false,{SYNCED}",
        f"2026-05-03 15:00:00,{END},true",
    ),
    # 001B: unknown industry, tier and region; no segment but 5000 employees; ARR on the account
    (
        f"001B,Globex,2026-03-01 09:00:00,Biotech,Customer,005Y,5000,,Gold,Mars,5000,,false,{SYNCED}",
        f"2026-05-01 00:00:00,{END},true",
    ),
    # 001C: deleted in Salesforce on 2026-05-02 08:00 (history mode ends its last version)
    (
        f"001C,Initech,2026-04-10 09:00:00,Retail,Customer,005X,20,SMB,Standard,NA,,,false,{SYNCED}",
        "2026-05-01 00:00:00,2026-05-02 08:00:00,false",
    ),
    # 001D: a prospect: no won opportunity, never in a snapshot
    (
        f"001D,Hooli,2026-04-20 09:00:00,Retail,Prospect,005X,,SMB,Standard,NA,,,false,{SYNCED}",
        f"2026-05-01 00:00:00,{END},true",
    ),
    # 001E: a renewal lost at the term's end: expired on 2026-05-02
    (
        f"001E,Umbrella,2026-01-15 09:00:00,Healthcare,Customer,005Y,,Enterprise,VIP,APAC,,,"
        f"false,{SYNCED}",
        f"2026-05-01 00:00:00,{END},true",
    ),
)


def _hand_export(folder: Path, history: bool = True) -> None:
    if history:
        connector_csv(
            folder,
            "account",
            ACCOUNT_HEADER + ",_fivetran_start,_fivetran_end,_fivetran_active",
            *(f"{common},{versions}" for common, versions in ACCOUNTS),
        )
    else:
        # no history mode: one row per account, the latest (001A: VIP; 001C: not deleted)
        connector_csv(
            folder,
            "account",
            ACCOUNT_HEADER,
            *{common[:4]: common for common, _ in ACCOUNTS}.values(),
        )
    connector_csv(
        folder,
        "contact",
        "id,account_id,first_name,last_name,email,phone,title,is_primary_c,created_date,"
        "is_deleted,_fivetran_synced,_fivetran_deleted",
        f"003A1,001A,Ana,Lopez,ana@acme.example,+1 555 0100,CTO,true,2026-04-01 10:00:00,false,"
        f"{SYNCED},false",
        # deleted by the connector (removed in Salesforce, hard delete)
        f"003A2,001A,Bo,Chen,bo@acme.example,,CFO,false,2026-04-01 10:00:00,false,{SYNCED},true",
        # in the Salesforce recycle bin
        f"003B1,001B,Cy,Diaz,cy@globex.example,,,false,2026-03-01 10:00:00,true,{SYNCED},false",
        # no email: the contract requires one
        f"003A3,001A,Di,Ng,,,,false,2026-04-01 10:00:00,false,{SYNCED},false",
        # created during the window: from its created day
        f"003A4,001A,Ed,Moss,ed@acme.example,,,false,2026-05-03 12:00:00,false,{SYNCED},false",
        f"003E1,001E,Fa,Roy,fa@umbrella.example,,,true,2026-01-15 10:00:00,false,{SYNCED},false",
    )
    connector_csv(
        folder,
        "opportunity",
        "id,account_id,type,stage_name,is_won,is_closed,amount,close_date,created_date,plan_c,"
        "seats_c,start_date_c,renewal_date_c,auto_renew_c,is_deleted,_fivetran_synced",
        f"006A1,001A,New Customer,Closed Won,true,true,12000,2026-04-01 00:00:00,"
        f"2026-03-20 10:00:00,Growth,10,2026-04-01,2026-05-04,true,false,{SYNCED}",
        # renewed on its date, no term fields: starts at the close date, a 12-month term
        f"006A2,001A,Renewal,Closed Won,true,true,15000,2026-05-04 00:00:00,"
        f"2026-04-20 10:00:00,Pro,12,,,,false,{SYNCED}",
        f"006A3,001A,Partner Deal,Closed Won,true,true,999,2026-04-02 00:00:00,"
        f"2026-04-01 10:00:00,Enterprise,99,,,,false,{SYNCED}",
        f"006A4,001A,Existing Customer - Upgrade,Closed Won,true,true,99000,2026-05-02 00:00:00,"
        f"2026-04-01 10:00:00,Enterprise,99,,,,true,{SYNCED}",
        f"006A5,001A,Renewal,Negotiation,false,false,16000,2027-05-04 00:00:00,"
        f"2026-05-04 10:00:00,Pro,12,,,,false,{SYNCED}",
        # no amount (the account's ARR), an unknown plan, no seats
        f"006B1,001B,New Customer,Closed Won,true,true,,2026-03-01 00:00:00,"
        f"2026-02-20 10:00:00,Platinum,,2026-03-01,2026-05-05,false,false,{SYNCED}",
        # the renewal lost two days before the term's end: cancelled on its close date
        f"006B2,001B,Renewal,Closed Lost,false,true,5000,2026-05-03 00:00:00,"
        f"2026-04-01 10:00:00,,,,,,false,{SYNCED}",
        f"006C1,001C,New Customer,Closed Won,true,true,3000,2026-04-10 00:00:00,"
        f"2026-04-01 10:00:00,Starter,3,2026-04-10,2027-04-10,true,false,{SYNCED}",
        f"006E1,001E,Renewal,Closed Won,true,true,80000,2025-05-02 00:00:00,"
        f"2025-04-01 10:00:00,Enterprise,100,2025-05-02,2026-05-02,false,false,{SYNCED}",
        f"006E2,001E,Renewal,Closed Lost,false,true,80000,2026-05-02 00:00:00,"
        f"2026-04-01 10:00:00,,,,,,false,{SYNCED}",
    )


def _by_day(landing: Path, entity: Entity) -> dict[str, dict[str, dict]]:
    """day -> key -> row (strings as written)."""
    out = {}
    for day in _days(landing):
        with (landing / "crm" / day / entity.file_name).open(newline="") as handle:
            out[day] = {row[entity.key[0]]: row for row in csv.DictReader(handle)}
    return out


DAYS = [f"2026-05-0{d}" for d in range(1, 6)]


def test_history_mode_export_maps_to_hand_worked_snapshots(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing")
    assert result.history_mode
    assert (result.first_day, result.last_day) == (dt.date(2026, 5, 1), dt.date(2026, 5, 5))
    assert result.synced_through == dt.datetime(2026, 5, 5, 6, 0)
    assert _days(tmp_path / "landing") == DAYS
    assert [d.isoformat() for d in result.changed_days] == DAYS

    accounts = _by_day(tmp_path / "landing", CRM_ACCOUNTS)
    assert {d: sorted(a) for d, a in accounts.items()} == {
        "2026-05-01": ["001A", "001B", "001C", "001E"],
        **{d: ["001A", "001B", "001E"] for d in DAYS[1:]},
    }
    # the tier change keeps its date
    assert [accounts[d]["001A"]["tier"] for d in DAYS] == ["standard"] * 2 + ["vip"] * 3
    assert {k: accounts["2026-05-01"]["001A"][k] for k in ("industry", "segment", "region")} == {
        "industry": "software",
        "segment": "mid_market",
        "region": "emea",
    }
    # fallbacks: no industry/region, tier standard, segment from 5000 employees
    b = accounts["2026-05-01"]["001B"]
    assert (b["industry"], b["region"], b["tier"], b["segment"]) == (
        "",
        "",
        "standard",
        "enterprise",
    )
    assert (b["owner"], b["created_date"]) == ("005Y", "2026-03-01")
    assert [accounts[d]["001B"]["status"] for d in DAYS] == ["active"] * 2 + ["churned"] * 3
    assert [accounts[d]["001E"]["status"] for d in DAYS] == ["active"] + ["churned"] * 4

    subscriptions = _by_day(tmp_path / "landing", CRM_SUBSCRIPTIONS)
    # one subscription per account (no subscription_id_c): keyed by the account id
    assert {d: sorted(s) for d, s in subscriptions.items()} == {
        d: sorted(a) for d, a in accounts.items()
    }
    a = [subscriptions[d]["001A"] for d in DAYS]
    fields = ("plan", "seats", "arr", "start_date", "renewal_date", "status", "auto_renew")
    # the upgrade (06A4) is deleted, the partner deal (006A3) is no known type
    assert [tuple(s[f] for f in fields) for s in a] == [
        ("growth", "10", "12000.0", "2026-04-01", "2026-05-04", "active", "true")
    ] * 3 + [("pro", "12", "15000.0", "2026-05-04", "2027-05-04", "active", "")] * 2
    b_subs = [subscriptions[d]["001B"] for d in DAYS]
    assert {(s["plan"], s["seats"], s["arr"]) for s in b_subs} == {("starter", "0", "5000.0")}
    assert [(s["status"], s["cancelled_at"]) for s in b_subs] == [("active", "")] * 2 + [
        ("cancelled", "2026-05-03")
    ] * 3
    e_subs = [subscriptions[d]["001E"] for d in DAYS]
    assert [(s["status"], s["cancelled_at"], s["renewal_date"]) for s in e_subs] == [
        ("active", "", "2026-05-02")
    ] + [("expired", "", "2026-05-02")] * 4

    contacts = _by_day(tmp_path / "landing", CRM_CONTACTS)
    assert {d: sorted(c) for d, c in contacts.items()} == {
        **{d: ["003A1", "003E1"] for d in DAYS[:2]},
        **{d: ["003A1", "003A4", "003E1"] for d in DAYS[2:]},
    }
    ana = contacts["2026-05-01"]["003A1"]
    assert (ana["email"], ana["phone"], ana["account_id"], ana["is_primary"]) == (
        "ana@acme.example",
        "+1 555 0100",
        "001A",
        "true",
    )

    assert result.fallbacks == {
        "segment -> the number_of_employees band": {"(none)": 1},
        "tier -> standard": {"gold": 1},
        "region -> empty": {"mars": 1},
        "industry -> empty": {"biotech": 1},
        "plan -> default plan 'starter'": {"platinum": 1},
        "seats -> 0": {"(none)": 1},
        "arr -> the account's ARR, else 0": {"(none)": 1},
    }
    # the same sync again rewrites nothing
    before = {p: p.read_bytes() for p in (tmp_path / "landing").rglob("*.csv")}
    assert convert_to_landing(tmp_path / "export", tmp_path / "landing").changed_days == []
    assert {p: p.read_bytes() for p in (tmp_path / "landing").rglob("*.csv")} == before
    assert result.skipped == {
        "deleted accounts left out": 1,
        "deleted contacts left out": 2,
        "contacts without email left out": 1,
        "opportunities of an unknown type ignored": 1,
    }


def test_landed_contacts_load_with_native_pii_hashing(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing")
    con = duckdb.connect()
    for entity in CRM:
        loaded = load_range(
            con, entity, tmp_path / "landing", result.first_day, result.last_day, b"k"
        )
        assert loaded.rows_quarantined == 0, entity.name
    text = " ".join(str(r) for r in con.execute("SELECT * FROM raw.crm_contacts").fetchall())
    for secret in ("ana@acme.example", "Lopez", "555 0100"):
        assert secret not in text


def test_an_incremental_drop_adds_to_the_synced_state(tmp_path: Path) -> None:
    """A later export holding only the changed rows: the earlier sync's rows still count."""
    _hand_export(tmp_path / "export")
    convert_to_landing(tmp_path / "export", tmp_path / "landing")
    later = "2026-05-06 10:00:00"
    drop = tmp_path / "drop"
    history = ",_fivetran_start,_fivetran_end,_fivetran_active"
    umbrella = "001E,Umbrella,2026-01-15 09:00:00,Healthcare,Customer,005Y,,Enterprise,{},APAC,,,"
    connector_csv(
        drop,
        "account",
        ACCOUNT_HEADER + history,
        # 001E moves from VIP to Standard at 09:00 on 2026-05-06
        umbrella.format("VIP") + f"false,{later},2026-05-01 00:00:00,2026-05-06 08:59:59.999,false",
        umbrella.format("Standard") + f"false,{later},2026-05-06 09:00:00,{END},true",
    )
    connector_csv(
        drop,
        "contact",
        "id,account_id,email,_fivetran_synced,_fivetran_deleted",
        f"003A1,001A,ana@acme.example,{later},true",
    )
    connector_csv(
        drop,
        "opportunity",
        "id,account_id,type,stage_name,is_won,is_closed,amount,close_date,plan_c,seats_c,"
        "_fivetran_synced",
        f"006A6,001A,Existing Customer - Upgrade,Closed Won,true,true,40000,2026-05-06,"
        f"Enterprise,30,{later}",
    )
    result = convert_to_landing(drop, tmp_path / "landing")
    days = [*DAYS, "2026-05-06"]
    assert _days(tmp_path / "landing") == days
    # every day changed: the deleted contact leaves them all
    assert [d.isoformat() for d in result.changed_days] == days
    accounts = _by_day(tmp_path / "landing", CRM_ACCOUNTS)
    assert sorted(accounts["2026-05-06"]) == ["001A", "001B", "001E"]
    assert [accounts[d]["001E"]["tier"] for d in days] == ["vip"] * 5 + ["standard"]
    contacts = _by_day(tmp_path / "landing", CRM_CONTACTS)
    assert sorted(contacts["2026-05-01"]) == ["003E1"]
    subscriptions = _by_day(tmp_path / "landing", CRM_SUBSCRIPTIONS)
    a = subscriptions["2026-05-06"]["001A"]
    # the upgrade keeps the renewed term
    assert (a["plan"], a["seats"], a["arr"], a["start_date"], a["renewal_date"]) == (
        "enterprise",
        "30",
        "40000.0",
        "2026-05-04",
        "2027-05-04",
    )
    assert subscriptions["2026-05-05"]["001A"]["plan"] == "pro"


def test_without_history_mode_changes_are_dated_at_the_sync(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export", history=False)
    report = check_export(tmp_path / "export")
    assert report.ok, report.errors
    assert (
        "account changes are dated at the sync, not when they happened"
        in dict(report.unavailable)["account history"]
    )
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing")
    assert not result.history_mode
    # from the earliest account creation to the sync day
    assert (result.first_day, result.last_day) == (dt.date(2026, 1, 15), dt.date(2026, 5, 5))
    accounts = _by_day(tmp_path / "landing", CRM_ACCOUNTS)
    assert len(accounts) == (dt.date(2026, 5, 5) - dt.date(2026, 1, 15)).days + 1
    # 001A is VIP on every day it exists; 001C (deleted only in history) is the latest row
    assert {accounts[d]["001A"]["tier"] for d in accounts if "001A" in accounts[d]} == {"vip"}
    assert sorted(accounts["2026-04-01"]) == ["001A", "001B", "001E"]
    assert sorted(accounts["2026-05-05"]) == ["001A", "001B", "001C", "001E"]
    assert any("dated at the sync" in w for w in result.warnings())


def test_account_id_field_and_configured_days(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    path = tmp_path / "export" / "account.csv"
    lines = path.read_text().splitlines()
    ids = {"001C": ""}  # no external id
    # 001A's external id changed with its tier: every day carries the latest one
    lines = [lines[0] + ",external_id_c"] + [
        line + "," + ("ZD-OLD" if "Standard,EMEA" in line else ids.get(line[:4], f"ZD-{line[:4]}"))
        for line in lines[1:]
    ]
    path.write_text("\n".join(lines) + "\n")
    config = SalesforceFivetranConfig(
        account_id_field="external_id_c", first_day="2026-05-02", last_day="2026-05-03"
    )
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing", config)
    assert _days(tmp_path / "landing") == ["2026-05-02", "2026-05-03"]
    accounts = _by_day(tmp_path / "landing", CRM_ACCOUNTS)
    assert sorted(accounts["2026-05-02"]) == ["ZD-001A", "ZD-001B", "ZD-001E"]
    contacts = _by_day(tmp_path / "landing", CRM_CONTACTS)
    subscriptions = _by_day(tmp_path / "landing", CRM_SUBSCRIPTIONS)
    assert contacts["2026-05-02"]["003A1"]["account_id"] == "ZD-001A"
    assert subscriptions["2026-05-02"]["ZD-001B"]["account_id"] == "ZD-001B"
    # 001C has no external id: it keeps its Salesforce id, counted
    assert result.fallbacks["account_id -> the Salesforce id"] == {"(none)": 1}


# ---------------------------------------------------------------------------------------
# sources check and the CLI


def test_check_names_missing_column_and_bad_type(tmp_path: Path) -> None:
    _hand_export(tmp_path)
    contact = (tmp_path / "contact.csv").read_text().replace(",account_id,", ",account,", 1)
    (tmp_path / "contact.csv").write_text(contact)
    opportunity = (tmp_path / "opportunity.csv").read_text()
    (tmp_path / "opportunity.csv").write_text(opportunity.replace(",12000,", ",abc,"))

    result = CliRunner().invoke(
        app,
        ["sources", "check", str(tmp_path), "--kind", "salesforce_fivetran"],
        terminal_width=200,
    )

    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "table contact: column account_id missing" in out
    assert "table opportunity: column amount has 1 value(s) that are not DOUBLE (e.g. 'abc')" in out
    assert "cannot be loaded as salesforce_fivetran" in out
    with pytest.raises(ValueError, match="table contact: column account_id missing"):
        convert_to_landing(tmp_path, tmp_path / "landing")


def test_check_names_a_map_target_outside_the_contract(tmp_path: Path) -> None:
    _hand_export(tmp_path)
    config = SalesforceFivetranConfig(plan_map={"team": "gold"}, default_segment="midsize")
    assert check_export(tmp_path, config).errors == [
        "config plan_map: ['gold'] not among ['starter', 'growth', 'pro', 'enterprise']",
        "config default_segment: 'midsize' not among ['smb', 'mid_market', 'enterprise']",
    ]


def test_check_and_load_commands_pass_the_hand_export(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    check = CliRunner().invoke(
        app,
        ["sources", "check", str(tmp_path / "export"), "--kind", "salesforce_fivetran"],
        terminal_width=200,
    )
    assert check.exit_code == 0, check.output
    out = " ".join(check.output.split())
    assert "table opportunity: 10 rows" in out
    assert "1 account(s) have no closed-won opportunity" in out
    assert "unavailable account.arr_c" not in out  # present in this export
    load = CliRunner().invoke(
        app,
        [
            "sources",
            "load",
            str(tmp_path / "export"),
            "--kind",
            "salesforce_fivetran",
            "--landing",
            str(tmp_path / "landing"),
        ],
        terminal_width=200,
    )
    assert load.exit_code == 0, load.output
    out = " ".join(load.output.split())
    assert "3 accounts, 3 contacts and 3 subscriptions on the last day" in out
    assert "synced through 2026-05-05 06:00:00" in out
    assert "tier -> standard: 1 mapped to the fallback ({'gold': 1})" in out
    for secret in ("acme.example", "Lopez", "555"):
        assert secret not in load.output


def test_generate_command_writes_the_salesforce_shape(tmp_path: Path) -> None:
    args = ["generate", "--out", str(tmp_path), "--scale", "tiny", "--days", "3"]
    result = CliRunner().invoke(app, [*args, "--format", "salesforce_fivetran"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == ["helpdesk", "telemetry"]
    report = check_export(tmp_path / "connectors" / "salesforce_fivetran")
    assert report.ok, report.errors
    assert report.rows["account"] >= 120


def test_example_mapping_parses_and_reaches_the_check(tmp_path: Path) -> None:
    """The documented sources.example.yml entry parses, and `--config` reaches the mapping."""
    example = yaml.safe_load((Path(__file__).parents[1] / "sources.example.yml").read_text())
    entry = next(s for s in example["sources"] if s["kind"] == "salesforce_fivetran")
    config = SalesforceFivetranConfig.from_mapping(entry["mapping"])
    assert config.account_id_field == "external_id_c"
    assert config.plan_map == {"team": "growth", "business": "pro"}
    assert config.renewal_types == ("Renewal", "Existing Customer - Renewal", "Existing Business")
    file = tmp_path / "salesforce.yml"
    file.write_text(yaml.safe_dump({"salesforce_fivetran": entry["mapping"]}))
    _hand_export(tmp_path / "export")
    args = ["sources", "check", str(tmp_path / "export"), "--kind", "salesforce_fivetran"]
    result = CliRunner().invoke(app, [*args, "--config", str(file)], terminal_width=200)
    # the hand export has no external_id_c column: the configured field is named
    assert result.exit_code == 1
    assert "table account: column external_id_c missing" in " ".join(result.output.split())


def test_a_duckdb_database_source_gives_the_same_snapshots(tmp_path: Path) -> None:
    """Fivetran's DuckDB destination: typed columns (timestamps, booleans) instead of text."""
    _hand_export(tmp_path / "export")
    database = tmp_path / "fivetran.duckdb"
    con = duckdb.connect(str(database))
    con.execute("CREATE SCHEMA salesforce")
    for table in ("account", "contact", "opportunity"):
        con.execute(
            f"CREATE TABLE salesforce.{table} AS "
            f"SELECT * FROM read_csv('{tmp_path / 'export' / table}.csv', header=true)"
        )
    con.close()
    convert_to_landing(tmp_path / "export", tmp_path / "from_files")
    convert_to_landing(database, tmp_path / "from_database")
    for entity in CRM:
        for day in DAYS:
            assert _snapshot(tmp_path / "from_database", entity, day) == _snapshot(
                tmp_path / "from_files", entity, day
            )
