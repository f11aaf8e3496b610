"""Segment as its warehouse sync lands it: the adapter, the Segment-shaped generator and the
`sources` commands.

The round trip writes the clean tiny world's native telemetry as Segment tables (properties
in per-event tables, page views as page and screen calls, platform only as Segment context,
duplicate deliveries, anonymous logins) and maps them back: the landing events must equal the
native ones exactly (tests/test_connector_sources.py runs the pipeline on all connector
shapes at once and compares the account features). Hand-built exports with
hand-worked answers cover what the generated world never does (unknown names, group changes,
users without an account, emails as user ids).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from extracts.contracts import TELEMETRY_EVENTS_ENTITY
from extracts.generator.segment import write as write_segment
from extracts.ingest import load_range
from extracts.sources.segment import SegmentConfig, check_export, convert_to_landing
from orchestration.cli import app
from tests.conftest import Pipeline, connector_csv

KEY = b"test-pii-key"


def _events(landing: Path) -> duckdb.DuckDBPyRelation:
    """Every landed telemetry row with the day folder it is in."""
    return duckdb.sql(
        "SELECT split_part(filename, '/', -2) AS day, * EXCLUDE (filename) "
        f"FROM read_parquet('{landing}/telemetry/*/events.parquet', filename=true)"
    )


def _days(landing: Path) -> list[str]:
    """The day folders of the telemetry landing (not `_synced/` or the manifest)."""
    return sorted(p.name for p in (landing / "telemetry").iterdir() if p.name[:2] == "20")


# ---------------------------------------------------------------------------------------
# Round trip: the generated world, natively and through Segment's tables


@pytest.fixture(scope="module")
def segment_world(tiny_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("tiny_segment")
    tables = write_segment(tiny_pipeline.landing, root / "segment")
    result = convert_to_landing(root / "segment", root / "landing")
    return {"root": root, "tables": tables, "conversion": result}


def test_round_trip_gives_the_native_events_per_day(
    tiny_pipeline: Pipeline, segment_world: dict
) -> None:
    native_root, segment_root = tiny_pipeline.landing, segment_world["root"] / "landing"
    native_days = _days(native_root)
    assert _days(segment_root) == native_days and len(native_days) >= 10
    native, mapped = _events(native_root), _events(segment_root)
    assert native.columns == mapped.columns
    rows = native.aggregate("count(*)").fetchall()[0][0]
    assert rows > 5_000
    assert mapped.aggregate("count(*)").fetchall()[0][0] == rows
    assert native.except_(mapped).aggregate("count(*)").fetchall()[0][0] == 0
    assert mapped.except_(native).aggregate("count(*)").fetchall()[0][0] == 0
    assert segment_world["conversion"].events == rows


def test_round_trip_exercised_duplicates_and_anonymous_logins(segment_world: dict) -> None:
    """The generator's repeated deliveries and anonymous tracks were really there and handled."""
    folder = segment_world["root"] / "segment"
    calls = [str(folder / f"{name}.parquet") for name in ("tracks", "pages", "screens")]
    repeated, anonymous = duckdb.sql(
        f"SELECT count(*) - count(DISTINCT id), count(*) FILTER (WHERE user_id IS NULL) "
        f"FROM read_parquet({calls}, union_by_name=true)"
    ).fetchall()[0]
    result = segment_world["conversion"]
    assert repeated > 5 and anonymous > 20
    assert result.duplicates == repeated
    assert result.other_counts == {}
    assert all(events == 0 for events, _ in result.dropped.values())
    assert (
        result.synced_through
        == duckdb.sql(
            f"SELECT max(received_at)::TIMESTAMP FROM read_parquet({calls}, union_by_name=true)"
        ).fetchall()[0][0]
    )
    tables = segment_world["tables"]
    assert {"tracks", "groups", "identifies", "feature_used", "error"} <= set(tables)
    assert tables["pages"] > 100 and tables["screens"] > 100 and "page_view" not in tables


def test_identifies_trait_gives_the_same_accounts(segment_world: dict, tmp_path: Path) -> None:
    root = segment_world["root"]
    convert_to_landing(root / "segment", tmp_path, SegmentConfig(account_source="identifies"))
    native, mapped = _events(root / "landing"), _events(tmp_path)
    assert mapped.aggregate("count(*)").fetchall() == native.aggregate("count(*)").fetchall()
    assert native.except_(mapped).aggregate("count(*)").fetchall()[0][0] == 0


def test_segment_tables_are_deterministic(tiny_pipeline: Pipeline, tmp_path: Path) -> None:
    write_segment(tiny_pipeline.landing, tmp_path / "a")
    write_segment(tiny_pipeline.landing, tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    # tracks, groups, identifies, pages, screens and a table per tracked event (no page_view)
    assert "tracks.parquet" in names and len(names) == 5 + 6
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


# ---------------------------------------------------------------------------------------
# A hand-built export with hand-worked answers


EMAIL = " Ana@Example.com"


def _hand_export(folder: Path) -> None:
    connector_csv(
        folder,
        "tracks",
        "id,user_id,anonymous_id,event,event_text,timestamp,received_at,feature,platform,"
        "context_device_type,error_code",
        # m1 twice: the copy received first is kept (feature reports, not stale)
        "m1,u1,a1,feature_used,Feature Used,2026-05-04 09:00:00,2026-05-04 09:00:05,reports,web,,",
        "m1,u1,a1,feature_used,Feature Used,2026-05-04 09:00:00,2026-05-04 11:00:00,stale,web,,",
        "m2,u1,a1,report_exported,Report Exported,2026-05-04 12:00:00,2026-05-04 12:00:01,,,ios,",
        # a name outside the plan: other, counted; a platform nobody knows: other, counted
        "m3,u1,a1,dashboard_shared,Dashboard Shared,2026-05-04 13:00:00,2026-05-04 13:00:01,,"
        "smart-tv,,",
        "m4,u1,a1,logged_in,Logged In,2026-05-05 08:00:00,2026-05-05 08:00:02,,,,",
        # u2 moves from ACC-A to ACC-B at 2026-05-05 12:00
        "m5,u2,a2,error,Error,2026-05-05 11:00:00,2026-05-05 11:00:01,,android,,E500",
        "m6,u2,a2,feature_used,Feature Used,2026-05-05 13:00:00,2026-05-05 13:00:01,search,,,",
        # u3 never joins a group: no account, counted
        "m7,u3,a3,login,Login,2026-05-05 09:00:00,2026-05-05 09:00:01,,,,",
        # an email as user id
        f"m8,{EMAIL},a4,login,Login,2026-05-06 10:00:00,2026-05-06 10:00:01,,web,,",
        # anonymous: a5 was identified as u1; a6 never was
        "m9,,a5,page_view,Page Viewed,2026-05-06 11:00:00,2026-05-06 11:00:01,dashboards,web,,",
        "m10,,a6,page_view,Page Viewed,2026-05-06 11:30:00,2026-05-06 11:30:01,,web,,",
        # u4's group call comes a day after its first event
        "m11,u4,a7,login,Login,2026-05-05 07:00:00,2026-05-05 07:00:01,,web,,",
    )
    connector_csv(
        folder,
        "groups",
        "id,user_id,group_id,name,timestamp,received_at",
        "g1,u1,ACC-1,Acme,2026-05-01 00:00:00,2026-05-01 00:00:01",
        "g2,u2,ACC-A,Alpha,2026-05-01 00:00:00,2026-05-01 00:00:01",
        "g3,u2,ACC-B,Beta,2026-05-05 12:00:00,2026-05-05 12:00:01",
        f"g4,{EMAIL},ACC-1,Acme,2026-05-02 00:00:00,2026-05-02 00:00:01",
        "g5,u4,ACC-4,Delta,2026-05-06 00:00:00,2026-05-06 00:00:01",
    )
    # a page call: a page_view, its properties columns as on tracks
    connector_csv(
        folder,
        "pages",
        "id,user_id,anonymous_id,name,timestamp,received_at,feature,context_library_name",
        "p1,u2,a2,Dashboards,2026-05-05 14:00:00,2026-05-05 14:00:01,dashboards,analytics.js",
    )
    connector_csv(
        folder,
        "identifies",
        "id,user_id,anonymous_id,email,first_name,timestamp,received_at",
        "i1,u1,a5,ana.secret@example.org,Anabel,2026-05-06 11:05:00,2026-05-06 11:05:01",
    )


def _landed(landing: Path) -> dict[str, tuple]:
    rows = _events(landing).fetchall()
    return {r[1]: (r[0], r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows}


def test_hand_built_export_maps_to_hand_worked_events(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing")
    # message id -> (day, account, user, event, feature, platform, error_code)
    assert _landed(tmp_path / "landing") == {
        "m1": ("2026-05-04", "ACC-1", "u1", "feature_used", "reports", "web", None),
        "m2": ("2026-05-04", "ACC-1", "u1", "report_exported", None, "ios", None),
        "m3": ("2026-05-04", "ACC-1", "u1", "other", None, "other", None),
        "m4": ("2026-05-05", "ACC-1", "u1", "other", None, None, None),
        "m5": ("2026-05-05", "ACC-A", "u2", "error", None, "android", "E500"),
        "m6": ("2026-05-05", "ACC-B", "u2", "feature_used", "search", None, None),
        "m8": ("2026-05-06", "ACC-1", EMAIL.strip(), "login", None, "web", None),
        "m9": ("2026-05-06", "ACC-1", "u1", "page_view", "dashboards", "web", None),
        "m11": ("2026-05-05", "ACC-4", "u4", "login", None, "web", None),
        "p1": ("2026-05-05", "ACC-B", "u2", "page_view", "dashboards", "web", None),
    }
    assert (result.first_day, result.last_day) == (dt.date(2026, 5, 4), dt.date(2026, 5, 6))
    assert result.events == 10
    assert result.duplicates == 1
    assert result.synced_through == dt.datetime(2026, 5, 6, 11, 30, 1)
    assert result.other_counts == {
        "event": {"Dashboard Shared": 1, "Logged In": 1},
        "platform": {"smart-tv": 1},
    }
    assert {k: v for k, v in result.dropped.items() if v[0]} == {
        "anonymous (an anonymous_id never identified)": (1, 0),
        "with no account (no group / account trait as of the event)": (1, 1),
    }
    warnings = " ".join(result.warnings())
    assert "1 events of 1 users with no account" in warnings
    assert "event: 2 events mapped to other" in warnings
    # traits never reach the landing files
    text = " ".join(str(r) for r in _events(tmp_path / "landing").fetchall())
    assert "secret" not in text and "Anabel" not in text


def test_incremental_drops_keep_history_and_rewrite_only_changed_days(tmp_path: Path) -> None:
    """Exports holding only the events received since the last one add up to the whole
    history (the landing's archive keeps every delivery); a late re-delivery of an old
    message changes nothing."""
    _hand_export(tmp_path / "full")
    convert_to_landing(tmp_path / "full", tmp_path / "one_shot")
    header, *rows = (tmp_path / "full" / "tracks.csv").read_text().splitlines()
    received = header.split(",").index("received_at")
    for drop, keep in (
        ("drop1", lambda r: r < "2026-05-05"),
        ("drop2", lambda r: r >= "2026-05-05"),
    ):
        shutil.copytree(tmp_path / "full", tmp_path / drop)
        kept = [row for row in rows if keep(row.split(",")[received])]
        (tmp_path / drop / "tracks.csv").write_text("\n".join([header, *kept]) + "\n")
    with (tmp_path / "drop2" / "tracks.csv").open("a") as tracks:
        tracks.write(
            "m1,u1,a1,feature_used,Feature Used,2026-05-04 09:00:00,2026-05-06 12:00:00,late,web,,\n"
        )

    first = convert_to_landing(tmp_path / "drop1", tmp_path / "landing")
    assert first.changed_days == [dt.date(2026, 5, 4), dt.date(2026, 5, 5)]
    second = convert_to_landing(tmp_path / "drop2", tmp_path / "landing")
    assert second.changed_days == [dt.date(2026, 5, 5), dt.date(2026, 5, 6)]
    assert second.synced_through == dt.datetime(2026, 5, 6, 12)
    assert _landed(tmp_path / "landing") == _landed(tmp_path / "one_shot")
    assert convert_to_landing(tmp_path / "drop2", tmp_path / "landing").changed_days == []


def test_duckdb_database_export_maps_like_the_folder(tmp_path: Path) -> None:
    """Segment's warehouse keeps a source's tables in a schema named after it."""
    _hand_export(tmp_path / "export")
    database = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    con.execute("CREATE SCHEMA web_app")
    for table in ("tracks", "groups", "identifies", "pages"):
        con.execute(
            f"CREATE TABLE web_app.{table} AS "
            f"SELECT * FROM read_csv('{tmp_path / 'export' / table}.csv', all_varchar=true)"
        )
    con.close()
    convert_to_landing(tmp_path / "export", tmp_path / "from_folder")
    result = convert_to_landing(database, tmp_path / "from_database")
    assert result.events == 10
    assert _landed(tmp_path / "from_database") == _landed(tmp_path / "from_folder")


def test_config_maps_names_and_keeps_strict_group_times(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    config = SegmentConfig(
        event_map={"Logged In": "login", "dashboard_shared": "feature_used"},
        platform_map={"smart-tv": "web", "analytics.js": "web"},
        first_account_covers_earlier_events=False,
    )
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing", config)
    landed = _landed(tmp_path / "landing")
    assert landed["m4"][3] == "login"
    assert (landed["m3"][3], landed["m3"][5]) == ("feature_used", "web")
    # only the given platform map applies: context values are no longer known words...
    assert landed["m1"][5] == "web"  # ...but a supportops platform name maps to itself
    assert "m11" not in landed  # before u4's first group call: no account
    assert result.dropped["with no account (no group / account trait as of the event)"] == (2, 2)
    assert result.other_counts == {}


def test_config_rejects_unknown_targets(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="event_map"):
        SegmentConfig(event_map={"Signed Up": "signup"})
    with pytest.raises(ValueError, match="account_source"):
        SegmentConfig(account_source="users")
    example = yaml.safe_load((Path(__file__).parents[1] / "sources.example.yml").read_text())
    segment = next(s for s in example["sources"] if s["kind"] == "segment")
    parsed = SegmentConfig.from_mapping(segment["mapping"])
    assert parsed.event_map["Report Downloaded"] == "report_exported"
    assert parsed.page_event == "page_view" and parsed.account_source == "groups"


def test_email_user_id_never_reaches_the_warehouse_in_clear(tmp_path: Path) -> None:
    """Ingestion stores an email-shaped user id as the email HMAC, in raw and quarantine."""
    _hand_export(tmp_path / "export")
    result = convert_to_landing(tmp_path / "export", tmp_path / "landing")
    # a second email user whose row breaks the contract (no account) must be quarantined
    day = tmp_path / "landing" / "telemetry" / "2026-05-06" / "events.parquet"
    rows = duckdb.sql(
        f"SELECT * FROM read_parquet('{day}') UNION ALL "
        "SELECT 'q1', TIMESTAMPTZ '2026-05-06 12:00:00+00', NULL, 'bo@example.net', 'login', "
        "NULL, 'web', NULL"
    ).to_arrow_table()
    pq.write_table(rows, day)

    con = duckdb.connect()
    loaded = load_range(
        con, TELEMETRY_EVENTS_ENTITY, tmp_path / "landing", result.first_day, result.last_day, KEY
    )
    assert (loaded.rows_loaded, loaded.rows_quarantined) == (10, 1)

    def mac(value: str) -> str:
        return hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()

    users = dict(con.execute("SELECT message_id, user_id FROM raw.telemetry_events").fetchall())
    assert users["m8"] == mac("ana@example.com")
    assert users["m1"] == "u1"  # ids that are no emails stay as they are
    record = json.loads(con.execute("SELECT record FROM quarantine.telemetry_events").fetchone()[0])
    assert record["user_id"] == mac("bo@example.net")
    everything = " ".join(
        str(r)
        for t in ("raw", "quarantine")
        for r in con.execute(f"SELECT * FROM {t}.telemetry_events").fetchall()
    )
    assert "example.com" not in everything.lower() and "example.net" not in everything


# ---------------------------------------------------------------------------------------
# sources check / load / generate


def test_check_passes_the_hand_export_and_reports_the_watermark(tmp_path: Path) -> None:
    _hand_export(tmp_path)
    report = check_export(tmp_path)
    assert report.ok, report.errors
    assert report.rows == {"tracks": 12, "groups": 5, "identifies": 1, "pages": 1}
    assert any("synced through 2026-05-06 11:30:01" in w for w in report.warnings)
    assert any("1 events of 1 users with no account" in w for w in report.warnings)
    assert report.unavailable == [
        ("(no table screens)", "mobile screen views come only from track calls")
    ]


def test_check_names_missing_table_column_and_bad_timestamp(tmp_path: Path) -> None:
    _hand_export(tmp_path)
    (tmp_path / "groups.csv").unlink()
    tracks = (tmp_path / "tracks.csv").read_text()
    tracks = tracks.replace(",event,", ",event_name,", 1).replace(
        "2026-05-05 13:00:00,", "yesterday,"
    )
    (tmp_path / "tracks.csv").write_text(tracks)

    result = CliRunner().invoke(
        app, ["sources", "check", str(tmp_path), "--kind", "segment"], terminal_width=200
    )

    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "table tracks: column event missing" in out
    assert "table groups: missing" in out
    assert "cannot be loaded as segment" in out

    # with the column back, the bad timestamp is named
    (tmp_path / "tracks.csv").write_text(tracks.replace(",event_name,", ",event,", 1))
    report = check_export(tmp_path, SegmentConfig(account_source="identifies"))
    assert sorted(report.errors) == [
        "table identifies: column account_id missing (has: id, user_id, anonymous_id, email, "
        "first_name, timestamp, received_at)",
        "table tracks: column timestamp has 1 value(s) that are not TIMESTAMP (e.g. 'yesterday')",
    ]
    with pytest.raises(ValueError, match="column timestamp has 1 value"):
        convert_to_landing(
            tmp_path, tmp_path / "landing", SegmentConfig(account_source="identifies")
        )


def test_check_reports_a_missing_message_id_and_thin_properties(tmp_path: Path) -> None:
    connector_csv(
        tmp_path,
        "tracks",
        "user_id,event,timestamp,received_at",
        "u1,feature_used,2026-05-04 09:00:00,2026-05-04 09:00:01",
    )
    connector_csv(
        tmp_path, "groups", "id,user_id,group_id,timestamp", "g1,u1,A,2026-05-01 00:00:00"
    )
    report = check_export(tmp_path)
    assert report.errors == [
        "table tracks: column id missing (nor message_id; has: user_id, event, timestamp, "
        "received_at)"
    ]
    (tmp_path / "tracks.csv").write_text(
        "message_id,user_id,event,timestamp,received_at\n"
        "m1,u1,feature_used,2026-05-04 09:00:00,2026-05-04 09:00:01\n"
    )
    report = check_export(tmp_path)
    assert report.ok, report.errors
    assert [metric for metric, _ in report.unavailable] == [
        "(no table identifies)",
        "(no table pages)",
        "(no table screens)",
        "feature breadth",
        "platform",
    ]


def test_load_and_generate_commands(tmp_path: Path) -> None:
    _hand_export(tmp_path / "export")
    args = ["sources", "load", str(tmp_path / "export"), "--kind", "segment"]
    result = CliRunner().invoke(
        app, [*args, "--landing", str(tmp_path / "landing")], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "10 events, days 2026-05-04..2026-05-06; 1 duplicate deliveries dropped" in out
    assert "synced through 2026-05-06 11:30:01" in out
    assert "platform: 1 events mapped to other ({'smart-tv': 1})" in out

    generate = ["generate", "--out", str(tmp_path / "gen"), "--scale", "tiny", "--days", "3"]
    result = CliRunner().invoke(app, [*generate, "--format", "segment"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "gen" / "landing").iterdir()) == ["crm", "helpdesk"]
    assert check_export(tmp_path / "gen" / "connectors" / "segment").ok
