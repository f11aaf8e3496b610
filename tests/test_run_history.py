"""The CLI's Dagster instance writes its SQLite run history without fsync and plans partition
ranges in one event per asset (orchestration/run_history.py); nothing else the project writes
loses its durability."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import text

from orchestration.cli import _dagster_instance
from orchestration.run_history import PLANNED_RANGES
from tests.conftest import PROJECT

# SQLite's `PRAGMA synchronous` values.
OFF, FULL = 0, 2


def test_the_cli_instance_commits_without_fsync_and_the_actions_store_keeps_it(
    tmp_path: Path, monkeypatch
) -> None:
    shutil.copy(PROJECT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.chdir(tmp_path)  # dagster.yaml's storage folders are relative to it
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = _dagster_instance(SimpleNamespace(dagster_home=tmp_path))
    with instance.run_storage.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == OFF
        # the instance's own file under the home, not an in-memory database
        (_, _, file), *_ = conn.execute(text("PRAGMA database_list")).fetchall()
    assert Path(file).is_relative_to(tmp_path / ".dagster" / "storage"), file
    # The actions store opens its file with sqlite3 itself (extracts/actions.py): untouched.
    with sqlite3.connect(tmp_path / "actions.sqlite") as con:
        assert con.execute("PRAGMA synchronous").fetchone() == (FULL,)


def test_a_run_over_a_partition_range_plans_each_asset_once_and_records_every_partition(
    tmp_path: Path, monkeypatch
) -> None:
    """The CLI's instance plans a range in one event per asset (not one per partition), and
    Dagster still records each partition materialised: the UI's partition status stands."""
    import dagster as dg

    shutil.copy(PROJECT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv(PLANNED_RANGES, raising=False)
    instance = _dagster_instance(SimpleNamespace(dagster_home=tmp_path))
    days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-06")

    @dg.asset(partitions_def=days)
    def landed() -> None: ...

    @dg.asset(partitions_def=days, deps=[landed])
    def modelled() -> None: ...

    result = dg.materialize(
        [landed, modelled],
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-01-01",
            "dagster/asset_partition_range_end": "2026-01-05",
        },
    )
    planned = instance.all_logs(
        result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    )
    assert sorted(e.dagster_event.asset_key.path[0] for e in planned) == ["landed", "modelled"]
    for key in ("landed", "modelled"):
        assert instance.get_materialized_partitions(dg.AssetKey(key)) == {
            f"2026-01-0{d}" for d in range(1, 6)
        }
