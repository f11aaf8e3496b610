"""The serving copy equals the warehouse after every publish, and an incremental publish
rewrites only the chunks (days) that changed: hand-built warehouses with known changes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from serving import publish
from serving.publish import publish_serving

SCHEMAS = ("marts", "features")


def _frame(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    frame = con.execute(f"SELECT * FROM {table}").df()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def assert_serving_equals_warehouse(warehouse: duckdb.DuckDBPyConnection, serving: Path) -> None:
    """Same tables in the published schemas, same rows (as sorted pandas frames)."""
    listing = (
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE schema_name IN ('marts', 'features') ORDER BY 1"
    )
    tables = [name for (name,) in warehouse.execute(listing).fetchall()]
    with duckdb.connect(str(serving), read_only=True) as copy:
        assert [name for (name,) in copy.execute(listing).fetchall()] == tables
        for table in tables:
            pd.testing.assert_frame_equal(_frame(copy, table), _frame(warehouse, table))


@pytest.fixture
def warehouse(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA features")
        # 30 days x 100 accounts, and two rows without a day.
        con.execute(
            """CREATE TABLE features.daily AS
               SELECT DATE '2026-05-01' + d::INTEGER AS as_of_date, a AS account_id, d * a AS score
               FROM range(30) AS days(d), range(100) AS accounts(a)
               UNION ALL SELECT NULL, 1000 + a, -1 FROM range(2) AS extra(a)"""
        )
        con.execute("CREATE TABLE marts.plain AS SELECT range AS id, 'x' AS label FROM range(50)")
        con.execute("CREATE TABLE marts.gone AS SELECT 1 AS id")
        con.execute("CREATE TABLE marts.empty (id INTEGER, day DATE)")
        yield con


def test_an_incremental_publish_rewrites_only_the_changed_days(warehouse, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    first = publish_serving(warehouse, serving, SCHEMAS)
    assert first.rewritten_whole
    assert first.written == {
        "features.daily": 3002, "marts.plain": 50, "marts.gone": 1, "marts.empty": 0
    }  # fmt: skip

    unchanged = publish_serving(warehouse, serving, SCHEMAS)
    assert not unchanged.rewritten_whole and unchanged.written == {}
    assert_serving_equals_warehouse(warehouse, serving)

    # Day 3 rescored, day 5's account 7 deleted, a new day 31, the undated rows changed;
    # a table dropped, one added, one given a new column.
    warehouse.execute("UPDATE features.daily SET score = score + 1 WHERE as_of_date = '2026-05-04'")
    warehouse.execute(
        "DELETE FROM features.daily WHERE as_of_date = '2026-05-06' AND account_id = 7"
    )
    warehouse.execute(
        "INSERT INTO features.daily SELECT DATE '2026-05-31', range, 0 FROM range(100)"
    )
    warehouse.execute("UPDATE features.daily SET score = 5 WHERE as_of_date IS NULL")
    warehouse.execute("DROP TABLE marts.gone; DROP TABLE marts.empty")
    warehouse.execute("CREATE TABLE marts.added AS SELECT 2 AS id")
    warehouse.execute("ALTER TABLE marts.plain ADD COLUMN flag BOOLEAN DEFAULT true")

    second = publish_serving(warehouse, serving, SCHEMAS)
    assert not second.rewritten_whole
    # Days 3, 5 and 31 (100 + 99 + 100 rows) and the 2 undated rows; plain whole (new shape).
    assert second.written == {"features.daily": 301, "marts.plain": 50, "marts.added": 1}
    assert second.tables["features.daily"] == 3101
    assert_serving_equals_warehouse(warehouse, serving)


def test_a_change_to_most_of_a_table_writes_it_whole(warehouse, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving, SCHEMAS)
    warehouse.execute("UPDATE features.daily SET score = 0 WHERE as_of_date >= '2026-05-10'")
    warehouse.execute("UPDATE marts.plain SET label = 'y' WHERE id = 3")

    result = publish_serving(warehouse, serving, SCHEMAS)
    # Not a new file, but both tables whole: 21 of 30 days, and a table without a day.
    assert not result.rewritten_whole
    assert result.written == {"features.daily": 3002, "marts.plain": 50}
    assert_serving_equals_warehouse(warehouse, serving)


def test_a_new_file_when_asked_grown_or_from_an_older_publish(
    warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = tmp_path / "serving.duckdb"
    # A file an older publish wrote: no fingerprints, and a table the warehouse no longer has.
    with duckdb.connect(str(serving)) as old:
        old.execute("CREATE SCHEMA marts; CREATE TABLE marts.stale AS SELECT 1 AS id")
    assert publish_serving(warehouse, serving, SCHEMAS).rewritten_whole
    assert_serving_equals_warehouse(warehouse, serving)

    warehouse.execute("UPDATE features.daily SET score = 0 WHERE as_of_date = '2026-05-02'")
    assert publish_serving(warehouse, serving, SCHEMAS, full=True).rewritten_whole
    monkeypatch.setattr(publish, "GROWTH_BEFORE_REWRITE", 0.5)
    warehouse.execute("UPDATE features.daily SET score = 1 WHERE as_of_date = '2026-05-02'")
    grown = publish_serving(warehouse, serving, SCHEMAS)
    assert grown.rewritten_whole
    assert grown.written["features.daily"] == 3002
    assert_serving_equals_warehouse(warehouse, serving)
