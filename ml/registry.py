"""File-based model registry: `<root>/<task>/<version>/` with the model, its card and test rows.

Champion/challenger status lives in one `<root>/<task>/status.json`. Every file goes
through `extracts.files.atomic_write`, so a reader never sees half a model or half a status file.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from extracts.files import atomic_write
from ml.evaluation import metrics
from ml.model import TrainedModel

CHAMPION, CHALLENGER, RETIRED = "champion", "challenger", "retired"


@dataclass(frozen=True)
class ModelVersion:
    task: str
    version: str
    status: str
    card: dict[str, Any]
    path: Path

    def load(self) -> TrainedModel:
        return joblib.load(self.path / "model.joblib")

    def test_rows(self) -> pd.DataFrame:
        """The test window this version was evaluated on."""
        return pd.read_parquet(self.path / "test.parquet")

    def validation_rows(self) -> pd.DataFrame:
        """The champion's calibrated out-of-fold probabilities of its training rows (empty
        for versions trained before they were kept)."""
        path = self.path / "validation.parquet"
        return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def _write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, default=str)))


def _statuses(root: Path, task: str) -> dict[str, str]:
    path = Path(root) / task / "status.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _next_version(root: Path, task: str) -> str:
    """v0001, v0002, ...: zero-padded so names sort in training order."""
    existing = [p.name for p in (Path(root) / task).glob("v[0-9]*") if p.is_dir()]
    return f"v{max((int(name[1:]) for name in existing), default=0) + 1:04d}"


def register(trained: TrainedModel, root: Path | str) -> ModelVersion:
    """Store a new version as a challenger (see `promote_if_better`)."""
    root = Path(root)
    version = _next_version(root, trained.task)
    stored = trained.with_version(version)
    folder = root / trained.task / version
    # The test rows go to Parquet beside the model rather than inside the pickle.
    atomic_write(folder / "test.parquet", lambda tmp: stored.test_frame.to_parquet(tmp))
    atomic_write(folder / "validation.parquet", lambda tmp: stored.validation_frame.to_parquet(tmp))
    model_only = dataclasses.replace(
        stored, test_frame=pd.DataFrame(), validation_frame=pd.DataFrame()
    )
    atomic_write(folder / "model.joblib", lambda tmp: joblib.dump(model_only, tmp))
    _write_json(folder / "card.json", stored.card())
    statuses = _statuses(root, trained.task)
    statuses[version] = CHALLENGER
    _write_json(root / trained.task / "status.json", statuses)
    return ModelVersion(trained.task, version, CHALLENGER, stored.card(), folder)


def list_versions(root: Path | str, task: str | None = None) -> list[ModelVersion]:
    """Every stored version, by task then version."""
    root = Path(root)
    if not root.exists():
        return []
    tasks = [task] if task else sorted(p.name for p in root.iterdir() if p.is_dir())
    found = []
    for name in tasks:
        statuses = _statuses(root, name)
        for version in sorted(statuses):
            folder = root / name / version
            card = json.loads((folder / "card.json").read_text())
            found.append(ModelVersion(name, version, statuses[version], card, folder))
    return found


def versions_table(root: Path | str) -> pd.DataFrame:
    """Every stored version with its status, windows and card (JSON): `ml.model_versions`."""
    rows = [
        {
            "task": v.task,
            "version": v.version,
            "status": v.status,
            "trained_at": pd.Timestamp(v.card["trained_at"]).tz_localize(None),
            "train_start": v.card["data_window"]["train"]["start"],
            "train_end": v.card["data_window"]["train"]["end"],
            "test_start": v.card["data_window"]["test"]["start"],
            "test_end": v.card["data_window"]["test"]["end"],
            "card": json.dumps(v.card, default=str),
        }
        for v in list_versions(root)
    ]
    frame = pd.DataFrame(rows, columns=["task", "version", "status", "trained_at", "train_start",
                                        "train_end", "test_start", "test_end", "card"])  # fmt: skip
    for column in ("train_start", "train_end", "test_start", "test_end"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def champion(root: Path | str, task: str) -> ModelVersion | None:
    return next((v for v in list_versions(root, task) if v.status == CHAMPION), None)


def promote_if_better(
    root: Path | str,
    task: str,
    version: str,
    metric: str = "pr_auc",
    tolerance: float = 0.0,
    test_frame: pd.DataFrame | None = None,
) -> bool:
    """Make `version` champion if it scores at least as well as the champion on its test rows.

    Both are scored on the challenger's (the newest) test window, by default the rows stored
    with it; comparing card numbers from different windows would compare the windows.
    `metric` is higher-is-better except `brier`. The first version of a task always wins.
    """
    root = Path(root)
    statuses = _statuses(root, task)
    if statuses.get(version) not in (CHALLENGER, CHAMPION):
        raise ValueError(f"{task} {version} is not a registered challenger")
    current = champion(root, task)
    if current is not None and current.version == version:
        return True
    challenger = ModelVersion(task, version, statuses[version], {}, root / task / version)
    if current is not None:
        rows = challenger.test_rows() if test_frame is None else test_frame
        model = challenger.load()
        y = rows[model.spec.label].to_numpy(bool)
        new = metrics(y, model.predict(rows))[metric]
        old = metrics(y, current.load().predict(rows))[metric]
        better = new <= old + tolerance if metric == "brier" else new >= old - tolerance
        if not better:
            return False
        statuses[current.version] = RETIRED
    statuses[version] = CHAMPION
    _write_json(root / task / "status.json", statuses)
    return True
