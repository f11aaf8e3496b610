"""ml.store: atomic file writes and transactional `ml` tables; ml.pipeline before a champion."""

from __future__ import annotations

import pickle
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from extracts.files import atomic_write
from ml import pipeline, registry
from ml.model import TrainedModel
from ml.store import append_rows, read_table, replace_table, write_csv


def test_atomic_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "card.json"
    assert atomic_write(target, lambda tmp: tmp.write_text("first")) == target
    atomic_write(target, lambda tmp: tmp.write_text("second"))
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["card.json"]
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what open(path, "w") gives under this umask
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "outreach_list.csv"
    target.write_text("rank,account_id\n1,AC1\n")

    def half_then_crash(tmp: Path) -> None:
        tmp.write_text("rank,acc")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_crash)
    assert target.read_text() == "rank,account_id\n1,AC1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["outreach_list.csv"]


def test_write_csv_has_no_index_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"rank": [1, 2], "account_id": ["AC2", "AC1"]}, index=[7, 3])
    path = write_csv(frame, tmp_path / "exports" / "list.csv")
    assert path.read_text().splitlines() == ["rank,account_id", "1,AC2", "2,AC1"]


def test_append_rows_replaces_only_its_key() -> None:
    con = duckdb.connect()
    v1 = pd.DataFrame({"task": ["churn"] * 2, "version": ["v1"] * 2, "scorer": ["model", "rule"]})
    v2 = pd.DataFrame({"task": ["churn"], "version": ["v2"], "scorer": ["model"]})
    append_rows(con, "evaluations", v1, {"task": "churn", "version": "v1"})
    append_rows(con, "evaluations", v2, {"task": "churn", "version": "v2"})
    again = v1.iloc[:1]  # re-running v1 with one scorer replaces v1's two rows
    append_rows(con, "evaluations", again, {"task": "churn", "version": "v1"})
    rows = con.execute("SELECT version, scorer FROM ml.evaluations ORDER BY 1, 2").fetchall()
    assert rows == [("v1", "model"), ("v2", "model")]


def test_an_append_with_a_new_column_keeps_the_older_rows() -> None:
    con = duckdb.connect()
    old = pd.DataFrame({"task": ["churn"], "version": ["v1"], "brier": [0.05]})
    append_rows(con, "evaluations", old, {"task": "churn", "version": "v1"})
    new = old.assign(version="v2", base_rate_brier=0.055)
    append_rows(con, "evaluations", new, {"task": "churn", "version": "v2"})
    rows = con.execute("SELECT version, brier, base_rate_brier FROM ml.evaluations ORDER BY 1")
    assert rows.fetchall() == [("v1", 0.05, None), ("v2", 0.05, 0.055)]


def test_a_failed_append_rolls_back_the_delete() -> None:
    con = duckdb.connect()
    first = pd.DataFrame({"task": ["churn"], "checked_at": [1], "drift_share": [0.1]})
    append_rows(con, "drift", first, {"task": "churn", "checked_at": 1})
    # a value that is no number: the INSERT fails after the DELETE of the same key
    bad = pd.DataFrame({"task": ["churn"], "checked_at": [1], "drift_share": ["high"]})
    with pytest.raises(duckdb.Error):
        append_rows(con, "drift", bad, {"task": "churn", "checked_at": 1})
    assert con.execute("SELECT * FROM ml.drift").fetchall() == [("churn", 1, 0.1)]
    # the connection is usable again (no transaction left open, `_frame` unregistered)
    replace_table(con, "drift", first.assign(drift_share=0.2))
    assert read_table(con, "drift")["drift_share"].tolist() == [0.2]


def test_models_pickled_under_the_old_module_path_still_load() -> None:
    model = object.__new__(TrainedModel)
    model.__dict__.update(task="churn", version="v0007")
    old = pickle.dumps(model, protocol=0).replace(b"ml.model", b"ml.training")
    assert b"ml.training" in old
    loaded = pickle.loads(old)
    assert type(loaded) is TrainedModel and (loaded.task, loaded.version) == ("churn", "v0007")


def test_steps_before_any_champion_write_nothing(tmp_path: Path) -> None:
    def connect() -> duckdb.DuckDBPyConnection:
        raise AssertionError("no champion: the warehouse is not touched")

    expected = {"row_count": 0, "model_version": "no churn champion yet"}
    assert pipeline.score_accounts(connect, tmp_path) == expected
    assert pipeline.build_outreach(connect, tmp_path) == expected
    assert pipeline.score_tickets(connect, tmp_path)["model_version"] == (
        "no escalation champion yet"
    )
    assert pipeline.monitor_champion("churn", connect, tmp_path, 0.3, 0.2) is None
    assert not (tmp_path / "exports").exists()
    versions = registry.versions_table(tmp_path / "models")
    assert versions.empty and list(versions.columns)[:3] == ["task", "version", "status"]


def test_the_wiring_renders_summaries_as_dagster_metadata() -> None:
    import dagster as dg

    from orchestration.defs.ml import _metadata

    shown = _metadata({"row_count": 3, "csv": "/x/list.csv", "top_10": "| a |", "pr_auc": 0.5})
    assert shown == {
        "dagster/row_count": 3,
        "csv": dg.MetadataValue.path("/x/list.csv"),
        "top_10": dg.MetadataValue.md("| a |"),
        "pr_auc": 0.5,
    }
