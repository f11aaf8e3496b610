"""The CLI's Dagster instance writes its SQLite run history without fsync
(orchestration/run_history.py), and nothing else the project writes loses its durability."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import text

from orchestration.cli import _dagster_instance
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
