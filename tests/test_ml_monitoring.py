"""ml.monitoring: retrain-or-not verdicts from hand-built drift results and label sets."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ml.drift import DriftResult
from ml.evaluation import live_rows_from
from ml.monitoring import NO_CHAMPION, SIGNALS, LivePerformance, Monitoring, live_performance
from ml.tasks import TASKS


def _drift(drifted: list[str], columns: list[str], threshold: float = 0.3) -> DriftResult:
    share = len(drifted) / len(columns)
    return DriftResult(share, drifted, columns, share >= threshold, threshold, Path("r.html"))


QUIET = _drift(["a"], ["a", "b", "c", "d"])  # 25% < 30%
LOUD = _drift(["a", "b"], ["a", "b", "c", "d"])  # 50%
STILL = LivePerformance(test_pr_auc=0.5, floor=0.4, live={"pr_auc": 0.45, "rows": 300.0})


def test_a_fitting_champion_is_not_retrained() -> None:
    result = Monitoring("churn", "v0003", QUIET, _drift([], ["prediction"]), STILL)
    assert result.reasons == [] and not result.retrain
    assert {name: passed for name, (passed, _) in result.checks().items()} == dict.fromkeys(
        SIGNALS, True
    )


def test_each_failed_signal_is_a_reason() -> None:
    worse = LivePerformance(test_pr_auc=0.5, floor=0.4, live={"pr_auc": 0.3, "rows": 250.0})
    result = Monitoring("churn", "v0003", LOUD, _drift(["prediction"], ["prediction"]), worse)
    assert result.retrain
    assert result.reasons == [
        "feature drift: 50% of columns drifted (threshold 30%)",
        "prediction drift: 100% of columns drifted (threshold 30%)",
        "live PR AUC 0.300 below the floor 0.400 (test 0.500)",
    ]
    checks = result.checks()
    assert [checks[name][0] for name in SIGNALS] == [False, False, False]
    assert checks["feature_drift"][1] == {
        "drift_share": 0.5,
        "threshold": 0.3,
        "drifted_columns": ["a", "b"],
        "report": "r.html",
    }
    assert checks["live_performance"][1] == {
        "test_pr_auc": 0.5,
        "floor": 0.4,
        "live_pr_auc": 0.3,
        "live_rows": 250.0,
    }


def test_no_verdict_until_labels_mature() -> None:
    waiting = LivePerformance(test_pr_auc=0.5, floor=0.4, live=None)
    assert waiting.passed
    assert waiting.summary() == {
        "test_pr_auc": 0.5,
        "floor": 0.4,
        "note": "too few labels matured since the test window yet",
    }
    assert set(NO_CHAMPION) == set(SIGNALS)
    assert all(passed for passed, _ in NO_CHAMPION.values())


def test_drift_rows_match_the_results() -> None:
    result = Monitoring("escalation", "v0002", LOUD, QUIET, STILL)
    at = pd.Timestamp("2026-11-30 12:00")
    rows = result.drift_rows(at)
    assert rows[["kind", "drift_share", "drifted_columns", "columns", "detected"]].to_dict(
        "records"
    ) == [
        {"kind": "feature", "drift_share": 0.5, "drifted_columns": 2, "columns": 4, "detected": True},
        {"kind": "prediction", "drift_share": 0.25, "drifted_columns": 1, "columns": 4, "detected": False},
    ]  # fmt: skip
    assert (rows["task"] == "escalation").all() and (rows["checked_at"] == at).all()


def _labelled(n_old: int, n_new: int, positives: int, perfect: bool) -> tuple[object, pd.DataFrame]:
    """A stand-in churn champion (test PR AUC 0.5, test window ending 2026-06-30) and rows:
    `n_old` inside the test window, `n_new` after it with `positives` churners scored either
    highest (`perfect`) or lowest."""
    dates = [pd.Timestamp("2026-06-30")] * n_old + [pd.Timestamp("2026-07-15")] * n_new
    churned = [False] * n_old + [True] * positives + [False] * (n_new - positives)
    frame = pd.DataFrame({"as_of_date": dates, "churned": churned, "label_mature": True})
    score = frame["churned"].astype(float) if perfect else 1 - frame["churned"].astype(float)
    frame["score"] = 0.05 + 0.9 * score + np.arange(len(frame)) * 1e-6  # in (0, 1), no ties
    model = SimpleNamespace(
        spec=TASKS["churn"],
        windows={"test": {"end": "2026-06-30"}},
        metrics={"model": {"pr_auc": 0.5}},
        predict=lambda rows: rows["score"].to_numpy(),
    )
    return model, frame


def test_live_performance_counts_only_rows_after_the_test_window() -> None:
    model, frame = _labelled(n_old=500, n_new=300, positives=30, perfect=True)
    live = live_performance(model, frame, performance_drop=0.2)
    assert live.floor == pytest.approx(0.4)
    assert live.live["rows"] == 300 and live.live["positives"] == 30
    assert live.live["pr_auc"] == pytest.approx(1.0) and live.passed


def test_monitoring_reads_from_the_test_windows_last_day_and_scores_the_same() -> None:
    """`live_rows_from`: what monitoring reads instead of the whole history. The rows it
    skips are ones live performance never scores (the end day itself is read: a ticket
    created during it is later than the window's end)."""
    model, frame = _labelled(n_old=500, n_new=300, positives=30, perfect=True)
    frame.loc[:249, "as_of_date"] = pd.Timestamp("2026-05-01")  # half the old rows earlier
    start = live_rows_from(model)
    assert start == dt.date(2026, 6, 30)
    read = frame[frame["as_of_date"] >= pd.Timestamp(start)]
    assert len(read) == 550
    assert live_performance(model, read, 0.2) == live_performance(model, frame, 0.2)
    assert live_rows_from(SimpleNamespace(spec=TASKS["churn"], windows={})) is None


def test_live_performance_below_the_floor_fails() -> None:
    model, frame = _labelled(n_old=0, n_new=300, positives=30, perfect=False)
    live = live_performance(model, frame, performance_drop=0.2)
    # churners ranked last: the k-th one sits at rank 270 + k, precision k / (270 + k)
    expected = sum(k / (270 + k) for k in range(1, 31)) / 30
    assert live.live["pr_auc"] == pytest.approx(expected)
    assert not live.passed


def test_too_few_matured_rows_give_no_verdict() -> None:
    model, frame = _labelled(n_old=1000, n_new=150, positives=30, perfect=False)
    live = live_performance(model, frame, performance_drop=0.2)
    assert live.live is None and live.passed


def test_the_retraining_sensor_requests_one_run_then_cools_down() -> None:
    from orchestration.defs.ml import retrain_request

    day = dt.timedelta(hours=24)
    t0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    failing = {"ml/account_scores feature_drift": 10, "ml/account_scores prediction_drift": 12}
    request, _, cursor = retrain_request(failing, None, t0, day)
    assert request.run_key == "drift:12"  # one run for both failing checks
    assert request.tags["trigger"] == ", ".join(sorted(failing))
    # the same failures an hour later: already answered
    again, why, same = retrain_request(failing, cursor, t0 + dt.timedelta(hours=1), day)
    assert again is None and same == cursor and "no failed drift check since" in why
    # the check fails again after the retrain (drift it cannot remove): wait out the cooldown
    still = {**failing, "ml/account_scores feature_drift": 15}
    waiting, why, kept = retrain_request(still, cursor, t0 + dt.timedelta(hours=6), day)
    assert waiting is None and kept == cursor
    assert why == "drift checks fail; cooling down until 2026-12-01 08:00"
    later, _, moved = retrain_request(still, cursor, t0 + day, day)
    assert later.run_key == "drift:15" and moved != cursor
    nothing, why, _ = retrain_request({}, moved, t0 + 3 * day, day)
    assert nothing is None


# A new interpreter per case: whether Evidently is imported is a fact about a whole process.
_SET_UP_DRIFT_LIBRARY = """
import sys
import dagster as dg
from orchestration.resources import DriftLibrary

with dg.build_resources({"drift_library": DriftLibrary(root=sys.argv[1])}) as resources:
    at_start = "evidently.metrics" in sys.modules
    if sys.argv[2] == "train":
        resources.drift_library.prefetch()
    resources.drift_library.ready()
    print(at_start, "evidently.metrics" in sys.modules)
"""


def _evidently_imported(root: Path, step: str) -> str:
    probe = subprocess.run(
        [sys.executable, "-c", _SET_UP_DRIFT_LIBRARY, str(root), step],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    return probe.stdout.strip()


def test_evidently_is_imported_beside_a_run_only_where_a_drift_report_will_be_drawn(
    tmp_path: Path,
) -> None:
    """Both drift checks ask for `drift_library`, and both training assets too. Its setup
    (when a run starts) imports Evidently on a thread when a champion exists; a training
    step starts that import once it made one; before any champion, when the checks draw no
    report, nothing imports it (about 12 s of CPU per run)."""
    from orchestration.definitions import defs

    monitoring_checks = [c for c in defs.asset_checks if c.node_def.name.endswith("_monitoring")]
    assert {c.node_def.name for c in monitoring_checks} == {
        "churn_monitoring",
        "escalation_monitoring",
    }
    assert all("drift_library" in c.required_resource_keys for c in monitoring_checks)
    training = [defs.get_assets_def(["ml", f"{task}_model"]) for task in ("churn", "escalation")]
    assert all("drift_library" in a.required_resource_keys for a in training)

    assert _evidently_imported(tmp_path, "score") == "False False"
    assert _evidently_imported(tmp_path, "train") == "False True"
    _registered_champion(tmp_path, "escalation")
    assert _evidently_imported(tmp_path, "score").split()[1] == "True"


def _registered_champion(root: Path, task: str) -> None:
    """What the registry reads of a champion (its status and card), without a model."""
    folder = root / "models" / task
    (folder / "v0001").mkdir(parents=True)
    (folder / "v0001" / "card.json").write_text("{}")
    (folder / "status.json").write_text(json.dumps({"v0001": "champion"}))


def test_a_refresh_skips_the_training_of_each_model_that_has_a_champion(tmp_path: Path) -> None:
    import dagster as dg

    from orchestration.defs.ml import training_to_skip

    assert training_to_skip(tmp_path) == set()
    _registered_champion(tmp_path, "churn")
    assert training_to_skip(tmp_path) == {dg.AssetKey(["ml", "churn_model"])}
    _registered_champion(tmp_path, "escalation")
    assert training_to_skip(tmp_path) == {
        dg.AssetKey(["ml", "churn_model"]),
        dg.AssetKey(["ml", "escalation_model"]),
    }
