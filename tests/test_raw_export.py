"""The raw export that the spark dbt target reads: Parquet per table and landing day."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from extracts.contracts import LOADED_ENTITIES
from extracts.ingest import ensure_tables, raw_columns
from extracts.raw_export import EMPTY_FILE, export_raw, export_raw_from


@pytest.fixture
def warehouse(tmp_path):
    """Raw tables as ingestion creates them; three ticket rows over two landing days."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for entity in LOADED_ENTITIES:
            ensure_tables(con, entity)
        con.execute(
            """INSERT INTO raw.helpdesk_tickets (ticket_id, created_at, _landing_date, _loaded_at)
               VALUES (1, '2026-03-01 08:00', '2026-03-01', '2026-03-02 01:00'),
                      (2, '2026-03-01 09:30', '2026-03-01', '2026-03-02 01:00'),
                      (3, '2026-03-02 10:00', '2026-03-02', '2026-03-03 01:00')"""
        )
    return path


def test_each_table_is_a_folder_per_landing_day(warehouse, tmp_path):
    out = tmp_path / "raw_parquet"
    written = export_raw_from(warehouse, out)
    assert written["helpdesk_tickets"] == 3
    assert {table for table, rows in written.items() if rows == 0} == {
        e.table for e in LOADED_ENTITIES if e.table != "helpdesk_tickets"
    }
    tickets = out / "helpdesk_tickets"
    assert sorted(p.name for p in tickets.iterdir()) == [
        "_landing_date=2026-03-01",
        "_landing_date=2026-03-02",
    ]
    with duckdb.connect() as con:
        day_one = con.execute(
            f"SELECT ticket_id, created_at FROM '{tickets}/_landing_date=2026-03-01/*.parquet' "
            "ORDER BY ticket_id"
        ).fetchall()
        assert day_one == [
            (1, dt.datetime(2026, 3, 1, 8, 0)),
            (2, dt.datetime(2026, 3, 1, 9, 30)),
        ]
        # Read back as a partitioned dataset, the landing day is a column again.
        days = con.execute(
            f"SELECT _landing_date, count(*) FROM read_parquet('{tickets}/*/*.parquet', "
            "hive_partitioning = true) GROUP BY ALL ORDER BY 1"
        ).fetchall()
        assert days == [(dt.date(2026, 3, 1), 2), (dt.date(2026, 3, 2), 1)]


def test_an_empty_table_keeps_its_columns_and_a_new_export_replaces_the_old(warehouse, tmp_path):
    out = tmp_path / "raw_parquet"
    export_raw_from(warehouse, out)
    schedules = out / "helpdesk_schedules"
    assert [p.name for p in schedules.iterdir()] == [EMPTY_FILE]
    with duckdb.connect() as con:
        described = con.execute(f"DESCRIBE SELECT * FROM '{schedules / EMPTY_FILE}'").fetchall()
    entity = next(e for e in LOADED_ENTITIES if e.table == "helpdesk_schedules")
    assert [row[0] for row in described] == [name for name, _ in raw_columns(entity)]
    # The ticket of day two is gone from the warehouse: the next export has no such folder.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM raw.helpdesk_tickets WHERE _landing_date = '2026-03-02'")
        export_raw(con, out)
    assert [p.name for p in (out / "helpdesk_tickets").iterdir()] == ["_landing_date=2026-03-01"]


def test_a_missing_warehouse_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no warehouse at .*nowhere\.duckdb"):
        export_raw_from(tmp_path / "nowhere.duckdb", tmp_path / "out")
