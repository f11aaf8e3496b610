"""CRM snapshots stored as changes only, against a hand-built sequence of daily files whose
versions are worked out by hand: unchanged days stored once, a change stored, a gap and a
disappearance kept, re-runs and chunked loads idempotent, a re-landed day replacing its own."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from extracts.contracts import CRM_ACCOUNTS, landing_path
from extracts.ingest import ExtractFileError, load_range
from extracts.pii_key import clear_for_new_key

KEY = b"test-key"
D = [dt.date(2026, 5, 1) + dt.timedelta(days=i) for i in range(6)]
HEADER = (
    "account_id,account_name,industry,segment,region,tier,owner,created_date,status,billing_email\n"
)


def _account(account: str, tier: str = "standard", email: str = "ap@acme.example") -> str:
    return f"{account},Acme {account},retail,smb,emea,{tier},Kim,2025-01-01,active,{email}\n"


# Day by day, as the CRM sends them (whole snapshots). By hand:
# A1: unchanged D0-D2 (the email on D2 differs only in case and spaces: the same hash),
#     vip D3-D4, standard again D5: three versions.
# A2: D0-D1, gone on D2, back unchanged D3-D5: two versions (a disappearance is a gap).
# A3: new on D4, through D5: one version.
SNAPSHOTS = {
    D[0]: [_account("A1"), _account("A2")],
    D[1]: [_account("A2"), _account("A1")],
    D[2]: [_account("A1", email=" AP@Acme.Example ")],
    D[3]: [_account("A1", tier="vip"), _account("A2")],
    D[4]: [_account("A1", tier="vip"), _account("A2"), _account("A3")],
    D[5]: [_account("A1"), _account("A2"), _account("A3")],
}
VERSIONS = [
    ("A1", D[0], D[2], "standard"),
    ("A1", D[3], D[4], "vip"),
    ("A1", D[5], D[5], "standard"),
    ("A2", D[0], D[1], "standard"),
    ("A2", D[3], D[5], "standard"),
    ("A3", D[4], D[5], "standard"),
]


def _land(root: Path, day: dt.date, rows: list[str]) -> None:
    path = Path(landing_path(str(root), CRM_ACCOUNTS, day.isoformat()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(rows))


def _land_all(root: Path, snapshots: dict[dt.date, list[str]]) -> None:
    for day, rows in snapshots.items():
        _land(root, day, rows)


def _versions(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT account_id, _landing_date, _valid_to, tier FROM raw_versions.crm_accounts "
        "ORDER BY ALL"
    ).fetchall()


def _daily(snapshots: dict[dt.date, list[str]]) -> list[tuple]:
    """What the files say, one row per account and day: (account, day, tier)."""
    return sorted(
        (row.split(",")[0], day, row.split(",")[5])
        for day, rows in snapshots.items()
        for row in rows
    )


def _view(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT account_id, _landing_date, tier FROM raw.crm_accounts ORDER BY ALL"
    ).fetchall()


@pytest.fixture
def con(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


def test_unchanged_days_are_stored_once_and_the_view_gives_every_day_back(tmp_path, con):
    _land_all(tmp_path, SNAPSHOTS)
    result = load_range(con, CRM_ACCOUNTS, tmp_path, D[0], D[5], KEY)
    assert (result.rows_read, result.rows_loaded, result.rows_stored) == (13, 13, 6)
    assert _versions(con) == VERSIONS
    assert _view(con) == _daily(SNAPSHOTS)
    # The case-and-spaces email on D2 stored nothing new, and its hash is the one stored.
    hashes = con.execute("SELECT DISTINCT billing_email_hash FROM raw.crm_accounts").fetchall()
    assert len(hashes) == 1 and "@" not in hashes[0][0]


def test_a_rerun_and_a_load_in_chunks_store_the_same_versions(tmp_path, con):
    _land_all(tmp_path, SNAPSHOTS)
    load_range(con, CRM_ACCOUNTS, tmp_path, D[0], D[5], KEY)
    again = load_range(con, CRM_ACCOUNTS, tmp_path, D[0], D[5], KEY)
    assert again.rows_loaded == 13 and _versions(con) == VERSIONS
    # Loaded a day at a time (the daily refresh), out of order, and one range again.
    with duckdb.connect(str(tmp_path / "chunks.duckdb")) as chunked:
        for first, last in [(D[0], D[0]), (D[3], D[5]), (D[1], D[2]), (D[2], D[4]), (D[5], D[5])]:
            load_range(chunked, CRM_ACCOUNTS, tmp_path, first, last, KEY)
        assert _versions(chunked) == VERSIONS
        assert _view(chunked) == _daily(SNAPSHOTS)


@pytest.mark.parametrize("chunk_days", [1, 4])
def test_a_range_read_in_chunks_stores_what_one_read_stores(tmp_path, con, chunk_days):
    _land_all(tmp_path, SNAPSHOTS)
    result = load_range(con, CRM_ACCOUNTS, tmp_path, D[0], D[5], KEY, chunk_days=chunk_days)
    assert (result.rows_read, result.rows_loaded, result.rows_stored) == (13, 13, 6)
    assert _versions(con) == VERSIONS


def test_an_unreadable_file_in_a_later_chunk_writes_nothing(tmp_path, con):
    _land_all(tmp_path, SNAPSHOTS)
    load_range(con, CRM_ACCOUNTS, tmp_path, D[0], D[5], KEY)
    before = con.execute("SELECT * FROM raw_versions.crm_accounts ORDER BY ALL").fetchall()
    _land(tmp_path, D[1], [_account("A1", tier="vip")])  # a change in the first chunk
    path = Path(landing_path(str(tmp_path), CRM_ACCOUNTS, D[4].isoformat()))
    path.write_bytes(
        path.read_bytes() + b"A9,Acme \xff,retail,smb,emea,vip,Kim,2025-01-01,active,\n"
    )
    with pytest.raises(ExtractFileError, match="line 5: not valid UTF-8"):
        load_range(con, CRM_ACCOUNTS, tmp_path, D[0], D[5], KEY, chunk_days=2)
    after = con.execute("SELECT * FROM raw_versions.crm_accounts ORDER BY ALL").fetchall()
    assert after == before


def test_a_relanded_day_replaces_its_own_snapshot_and_joins_back_when_reverted(tmp_path, con):
    _land_all(tmp_path, SNAPSHOTS)
    load_range(con, CRM_ACCOUNTS, tmp_path, D[0], D[5], KEY)
    # D1 corrected: A1 was vip that day, A2 is gone, A4 appears.
    corrected = {**SNAPSHOTS, D[1]: [_account("A1", tier="vip"), _account("A4")]}
    _land(tmp_path, D[1], corrected[D[1]])
    load_range(con, CRM_ACCOUNTS, tmp_path, D[1], D[1], KEY)
    assert _versions(con) == [
        ("A1", D[0], D[0], "standard"),
        ("A1", D[1], D[1], "vip"),
        ("A1", D[2], D[2], "standard"),
        ("A1", D[3], D[4], "vip"),
        ("A1", D[5], D[5], "standard"),
        ("A2", D[0], D[0], "standard"),
        ("A2", D[3], D[5], "standard"),
        ("A3", D[4], D[5], "standard"),
        ("A4", D[1], D[1], "standard"),
    ]
    assert _view(con) == _daily(corrected)
    # The correction withdrawn: the day as first sent, the versions as first stored.
    _land(tmp_path, D[1], SNAPSHOTS[D[1]])
    load_range(con, CRM_ACCOUNTS, tmp_path, D[1], D[1], KEY)
    assert _versions(con) == VERSIONS


def test_a_quarantined_row_is_no_version_and_the_key_is_absent_that_day(tmp_path, con):
    bad = {**SNAPSHOTS, D[1]: [_account("A2"), _account("A1", tier="gold")]}
    _land_all(tmp_path, bad)
    result = load_range(con, CRM_ACCOUNTS, tmp_path, D[0], D[5], KEY)
    assert (result.rows_loaded, result.rows_quarantined) == (12, 1)
    kinds = con.execute("SELECT _landing_date, fault_kind FROM quarantine.crm_accounts").fetchall()
    assert kinds == [(D[1], "unknown_enum")]
    assert _versions(con)[:2] == [("A1", D[0], D[0], "standard"), ("A1", D[2], D[2], "standard")]


def test_a_warehouse_of_daily_rows_becomes_versions_once(tmp_path, con):
    _land_all(tmp_path, SNAPSHOTS)
    daily = dataclasses.replace(CRM_ACCOUNTS, changes_only=False)
    load_range(con, daily, tmp_path, D[0], D[5], KEY)
    assert con.execute("SELECT count(*) FROM raw.crm_accounts").fetchone() == (13,)
    # The next load (of one day) finds the daily table and keeps its history as versions.
    load_range(con, CRM_ACCOUNTS, tmp_path, D[5], D[5], KEY)
    assert _versions(con) == VERSIONS
    assert _view(con) == _daily(SNAPSHOTS)


def test_a_new_pii_key_empties_the_versions_behind_the_view(tmp_path, con):
    _land_all(tmp_path, SNAPSHOTS)
    load_range(con, CRM_ACCOUNTS, tmp_path, D[0], D[5], KEY)
    clear_for_new_key(con, b"another-key")
    assert _versions(con) == [] and _view(con) == []
