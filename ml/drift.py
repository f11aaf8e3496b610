"""Evidently drift reports: the scoring batch against the training reference.

Evidently takes about 12 s to import, so it is imported inside the functions: code that
only trains or scores never pays for it, and a caller that knows a report is coming can
import it ahead on another thread (`import_evidently`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from extracts.files import atomic_write

DEFAULT_THRESHOLD = 0.3


@dataclass(frozen=True)
class DriftResult:
    """Share of checked columns whose per-column drift test failed; `detected` past threshold."""

    drift_share: float
    drifted_columns: list[str]
    columns: list[str]
    detected: bool
    threshold: float
    html_path: Path | None


def import_evidently() -> None:
    """Import what the reports use (the slow part of the first report)."""
    import evidently.metrics  # noqa: F401


def _drifted(report: dict[str, Any]) -> list[str]:
    """Columns whose Evidently value-drift test failed (the test status, not the raw score)."""
    return sorted(
        test["metric_config"]["params"]["column"]
        for test in report["tests"]
        if test["metric_config"]["params"].get("type") == "evidently:metric_v2:ValueDrift"
        and test["status"] == "FAIL"
    )


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    html_path: Path | str | None,
    *,
    categorical: Sequence[str] = (),
    threshold: float = DEFAULT_THRESHOLD,
) -> DriftResult:
    """Per-column drift of `current` against `reference`, with the HTML report saved.

    Column kinds are declared, not inferred: Evidently would otherwise take low-cardinality
    counts (tickets in 7 days) for categories and test them differently between runs.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import DriftedColumnsCount, ValueDrift

    columns = list(columns)
    categorical = [c for c in columns if c in set(categorical)]
    numeric = [c for c in columns if c not in set(categorical)]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)

    def dataset(frame: pd.DataFrame) -> Any:
        data = frame[columns].copy()
        data[numeric] = data[numeric].astype("float64")
        data[categorical] = data[categorical].astype(object).where(data[categorical].notna())
        return Dataset.from_pandas(data, data_definition=definition)

    # DataDriftPreset's metrics, without the preset: its summary table recomputes every
    # column's test through Evidently's legacy metrics just to draw it (half the report's
    # time); the same tests and per-column widgets remain.
    metrics = [DriftedColumnsCount(columns=columns, drift_share=threshold)]
    report = Report(metrics + [ValueDrift(column=c) for c in columns], include_tests=True)
    snapshot = report.run(dataset(current), dataset(reference))
    drifted = _drifted(snapshot.dict())
    if html_path is not None:
        html_path = atomic_write(html_path, lambda tmp: snapshot.save_html(str(tmp)))
    share = len(drifted) / len(columns)
    return DriftResult(share, drifted, columns, share >= threshold, threshold, html_path)


def prediction_drift(
    reference_scores: pd.Series,
    current_scores: pd.Series,
    html_path: Path | str | None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> DriftResult:
    """Drift of the predicted probability itself (one column: share is 0 or 1)."""
    name = "prediction"
    return drift_report(
        pd.DataFrame({name: reference_scores.to_numpy()}),
        pd.DataFrame({name: current_scores.to_numpy()}),
        [name],
        html_path,
        threshold=threshold,
    )
