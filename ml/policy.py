"""The triage policy as data: a versioned YAML file maps a new ticket's escalation
probability, sentiment, tier, category, priority and SLA state to an action and a queue.

Thresholds are chosen for stated targets (precision of the senior queue, recall of the
flags) on the escalation champion's validation predictions (out of fold, kept by training),
never on test rows; the chosen policy is written beside the model in the registry, so the
model and the thresholds chosen for it are promoted together. Decisions, the backtest and
the trade-off curve are vectorised over a frame; no loop runs over tickets.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml

from extracts.files import atomic_write
from ml.datasets import escalation_dataset
from ml.evaluation import threshold_for_precision
from ml.model import TrainedModel
from ml.registry import ModelVersion
from ml.scoring import sla_risk
from ml.triage import ACTIONS, FLAGS

SENIOR_QUEUE = "senior"
BY_CATEGORY = "by_category"
POLICY_FILE = "policy.yml"
CONDITIONS = (
    "probability_at_least",
    "probability_below",
    "sentiment",
    "tier",
    "category",
    "priority",
    "sla_state",
)
_LISTS = ("tier", "category", "priority", "sla_state")
SENTIMENTS = ("negative", "not_negative")
METRICS = ("precision", "recall")
DECISION_COLUMNS = ("escalation_probability", "is_negative_sentiment", "tier", "category",
                    "priority", "sla_state")  # fmt: skip


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Threshold:
    name: str
    metric: str
    target: float
    value: float
    """The probability in force: chosen on validation rows, else the file's default."""
    chosen: dict[str, Any] | None = None
    """What the choice reached on the validation rows; None while the default is in force."""


@dataclass(frozen=True)
class Rule:
    name: str
    action: str
    queue: str
    when: dict[str, Any]


@dataclass(frozen=True)
class Policy:
    name: str
    version: int
    task: str
    thresholds: dict[str, Threshold]
    rules: tuple[Rule, ...]
    default_action: str
    default_queue: str
    model_version: str | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`triage-v1` for the file's own defaults, `triage-v1+v0003` once chosen for a model."""
        base = f"{self.name}-v{self.version}"
        return f"{base}+{self.model_version}" if self.model_version else base

    def to_dict(self) -> dict[str, Any]:
        thresholds = {}
        for t in self.thresholds.values():
            entry: dict[str, Any] = {
                "target": {"metric": t.metric, "at_least": t.target},
                "default": self.extra.get("defaults", {}).get(t.name, t.value),
            }
            if t.chosen is not None:
                entry["value"] = t.value
                entry["chosen_on_validation"] = t.chosen
            thresholds[t.name] = entry
        data = {"name": self.name, "version": self.version, "task": self.task,
                "thresholds": thresholds,
                "rules": [{"name": r.name, "action": r.action, "queue": r.queue, "when": r.when}
                          for r in self.rules],
                "default": {"action": self.default_action, "queue": self.default_queue}}  # fmt: skip
        if self.model_version:
            data["model_version"] = self.model_version
        return data


def _fail(source: str, where: str, problem: str) -> PolicyError:
    return PolicyError(f"{source}: {where}: {problem}")


def _number(source: str, where: str, value: object, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _fail(source, where, f"must be a number in [{low:g}, {high:g}], not {value!r}")
    return float(value)


def _parse_threshold(source: str, name: str, entry: object) -> tuple[Threshold, float]:
    where = f"thresholds.{name}"
    if not isinstance(entry, dict) or not isinstance(entry.get("target"), dict):
        raise _fail(source, where, "needs target: {metric: precision|recall, at_least: <0-1>}")
    metric = entry["target"].get("metric")
    if metric not in METRICS:
        raise _fail(source, f"{where}.target.metric", f"must be one of {METRICS}, not {metric!r}")
    target = _number(source, f"{where}.target.at_least", entry["target"].get("at_least"))
    default = _number(source, f"{where}.default", entry.get("default"))
    chosen = entry.get("chosen_on_validation")
    value = _number(source, f"{where}.value", entry["value"]) if chosen else default
    return Threshold(name, metric, target, value, chosen), default


def _parse_rule(source: str, i: int, entry: object, thresholds: dict[str, Threshold]) -> Rule:
    where = f"rules[{i}]"
    if not isinstance(entry, dict):
        raise _fail(source, where, "must be a mapping with name, action, queue and when")
    action, when = entry.get("action"), entry.get("when")
    if action not in ACTIONS:
        raise _fail(source, f"{where}.action", f"must be one of {ACTIONS}, not {action!r}")
    if not isinstance(when, dict) or not when:
        raise _fail(source, f"{where}.when", "must be a non-empty mapping of conditions")
    for key, value in when.items():
        at = f"{where}.when.{key}"
        if key not in CONDITIONS:
            raise _fail(source, at, f"unknown condition; choose from {CONDITIONS}")
        if key.startswith("probability_"):
            if isinstance(value, str):
                if value not in thresholds:
                    raise _fail(source, at, f"no threshold named {value!r}")
            else:
                _number(source, at, value)
        elif key == "sentiment" and value not in SENTIMENTS:
            raise _fail(source, at, f"must be one of {SENTIMENTS}, not {value!r}")
        elif key in _LISTS and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            raise _fail(source, at, f"must be a list of values, not {value!r}")
    queue = entry.get("queue", BY_CATEGORY)
    if not isinstance(queue, str) or not queue:
        raise _fail(source, f"{where}.queue", f"must be a queue name, not {queue!r}")
    return Rule(str(entry.get("name", f"rule {i + 1}")), action, queue, dict(when))


def parse_policy(data: object, source: str = "policy") -> Policy:
    """A `Policy` from the YAML's mapping; PolicyError names `source` and the bad field."""
    if not isinstance(data, dict):
        raise _fail(source, "top level", "must be a mapping")
    for key in ("name", "version", "thresholds", "rules", "default"):
        if key not in data:
            raise _fail(source, key, "is missing")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail(source, "version", f"must be a whole number from 1, not {version!r}")
    if not isinstance(data["thresholds"], dict):
        raise _fail(source, "thresholds", "must be a mapping of name -> target and default")
    parsed = {name: _parse_threshold(source, name, e) for name, e in data["thresholds"].items()}
    thresholds = {name: t for name, (t, _) in parsed.items()}
    if not isinstance(data["rules"], list):
        raise _fail(source, "rules", "must be a list")
    rules = tuple(_parse_rule(source, i, e, thresholds) for i, e in enumerate(data["rules"]))
    default = data["default"]
    if not isinstance(default, dict) or default.get("action") not in ACTIONS:
        raise _fail(source, "default.action", f"must be one of {ACTIONS}")
    return Policy(
        name=str(data["name"]),
        version=version,
        task=str(data.get("task", "escalation")),
        thresholds=thresholds,
        rules=rules,
        default_action=default["action"],
        default_queue=str(default.get("queue", BY_CATEGORY)),
        model_version=data.get("model_version"),
        source=source,
        extra={"defaults": {name: d for name, (_, d) in parsed.items()}},
    )


def load_policy(path: Path | str) -> Policy:
    """The policy in a YAML file (PolicyError naming the file and field when it is wrong)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise PolicyError(f"{path}: no such policy file") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    return parse_policy(data, str(path))


def write_policy(policy: Policy, path: Path | str) -> Path:
    """`policy` as YAML, never half-written (a reader sees the old file or the new)."""
    text = yaml.safe_dump(policy.to_dict(), sort_keys=False)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def threshold_for_recall(y_true: np.ndarray, p: np.ndarray, target: float) -> dict[str, float]:
    """The highest probability whose flagged rows (p >= it) catch `target` of the positives,
    with the precision and recall there (the fewest flags that reach the recall)."""
    y = np.asarray(y_true, dtype=float)
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
    s, hits = np.asarray(p, dtype=float)[order], np.cumsum(y[order])
    last = np.r_[s[1:] != s[:-1], True]  # p >= s keeps every tie
    recall = hits / y.sum() if y.sum() else np.zeros(len(s))
    reached = last & (recall >= target)
    i = int(np.flatnonzero(reached)[0]) if reached.any() else len(s) - 1
    return {
        "target_recall": float(target),
        "threshold": float(s[i]),
        "precision": float(hits[i] / (i + 1)),
        "recall": float(recall[i]),
        "reached": bool(reached.any()),
    }


def choose_thresholds(
    policy: Policy, validation: pd.DataFrame, model_version: str, label: str = "escalated_tier3"
) -> Policy:
    """`policy` with every threshold chosen for its target on `validation` (the champion's
    out-of-fold `probability` and the label of its training rows), stamped with the model."""
    if validation.empty or "probability" not in validation:
        raise PolicyError(
            f"{policy.source}: model {model_version} kept no validation predictions; retrain it"
        )
    y = validation[label].to_numpy(bool)
    p = validation["probability"].to_numpy(float)
    chosen = {}
    for name, t in policy.thresholds.items():
        if t.metric == "precision":
            found = threshold_for_precision(y, p, t.target)
        else:
            found = threshold_for_recall(y, p, t.target)
        found = {**found, "rows": len(y), "positives": int(y.sum())}
        chosen[name] = dataclasses.replace(t, value=found["threshold"], chosen=found)
    return dataclasses.replace(policy, thresholds=chosen, model_version=model_version)


def threshold_table(policy: Policy) -> pd.DataFrame:
    """One row per threshold: value in force, its target and what it reached on validation."""
    return pd.DataFrame(
        [{"threshold": t.name, "value": t.value, "metric": t.metric, "target": t.target,
          "chosen_on_validation": t.chosen is not None,
          "validation_precision": (t.chosen or {}).get("precision"),
          "validation_recall": (t.chosen or {}).get("recall")}
         for t in policy.thresholds.values()]
    )  # fmt: skip


def _threshold(policy: Policy, value: str | float) -> float:
    return policy.thresholds[value].value if isinstance(value, str) else float(value)


def _rule_mask(policy: Policy, rule: Rule, frame: pd.DataFrame) -> np.ndarray:
    """Rows where every condition of `rule` holds."""
    p = frame["escalation_probability"].to_numpy(float)
    mask = np.ones(len(frame), dtype=bool)
    for key, value in rule.when.items():
        if key == "probability_at_least":
            mask &= p >= _threshold(policy, value)
        elif key == "probability_below":
            mask &= p < _threshold(policy, value)
        elif key == "sentiment":
            negative = frame["is_negative_sentiment"].astype("boolean").fillna(False).to_numpy()
            mask &= negative if value == "negative" else ~negative
        else:
            mask &= frame[key].isin(value).to_numpy()
    return mask


def decide(policy: Policy, frame: pd.DataFrame) -> pd.DataFrame:
    """Action, queue and deciding rule per row of `frame` (its `DECISION_COLUMNS`): the first
    rule that holds, else the default. Queue `by_category` is the row's category."""
    missing = [c for c in DECISION_COLUMNS if c not in frame]
    if missing:
        raise ValueError(f"policy {policy.label}: the rows lack columns {missing}")
    masks = [_rule_mask(policy, rule, frame) for rule in policy.rules]
    category = frame["category"].astype(object).fillna("other").to_numpy()

    def queue_of(queue: str) -> np.ndarray:
        return category if queue == BY_CATEGORY else np.full(len(frame), queue, dtype=object)

    action = np.select(masks, [r.action for r in policy.rules], policy.default_action)
    queue = np.select(masks, [queue_of(r.queue) for r in policy.rules],
                      queue_of(policy.default_queue))  # fmt: skip
    rule = np.select(masks, [r.name for r in policy.rules], "default")
    return pd.DataFrame({"action": action, "queue": queue, "rule": rule}, index=frame.index).astype(
        object
    )


def sla_state_at_creation(target_minutes: pd.Series) -> np.ndarray:
    """The SLA band a new ticket starts in: minutes to its first-response due time."""
    return sla_risk(pd.to_numeric(target_minutes).astype("float64"))


def flag_table(decisions: pd.DataFrame, label: pd.Series) -> pd.DataFrame:
    """Tickets, share, escalations, precision and recall per action, plus `any flag`."""
    y = label.to_numpy(bool)
    positives = max(int(y.sum()), 1)
    action = decisions["action"].to_numpy(object)
    rows = []
    for name, mask in [*((a, action == a) for a in ACTIONS), ("any flag", np.isin(action, FLAGS))]:
        hits = int(y[mask].sum())
        share = float(mask.mean()) if len(mask) else float("nan")
        rows.append({"action": name, "tickets": int(mask.sum()), "share": share,
                     "escalated": hits,
                     "precision": hits / mask.sum() if mask.any() else float("nan"),
                     "recall": hits / positives})  # fmt: skip
    return pd.DataFrame(rows)


def backtest(policy: Policy, rows: pd.DataFrame) -> dict[str, Any]:
    """Replay `policy` over scored past tickets (`rows`: DECISION_COLUMNS, `created_date`,
    `escalated_tier3`, `is_sla_breached`): tickets per action, each flag's precision and
    recall against escalations, senior-queue tickets per day and SLA breaches of flagged
    against unflagged tickets."""
    decisions = decide(policy, rows)
    flagged = decisions["action"].isin(FLAGS).to_numpy()
    breached = rows["is_sla_breached"].astype("boolean").fillna(False).to_numpy(bool)
    days = pd.to_datetime(rows["created_date"]).dt.date
    senior = decisions["queue"].eq(SENIOR_QUEUE).to_numpy()
    per_day = pd.Series(senior, index=days).groupby(level=0).sum().rename("senior_queue_tickets")
    sla = pd.DataFrame(
        {
            "group": ["flagged", "unflagged"],
            "tickets": [int(flagged.sum()), int((~flagged).sum())],
            "sla_breaches": [int(breached[flagged].sum()), int(breached[~flagged].sum())],
        }
    )
    sla["breach_rate"] = sla["sla_breaches"] / sla["tickets"].where(sla["tickets"] > 0)
    return {
        "policy": policy.label,
        "tickets": len(rows),
        "escalated": int(rows["escalated_tier3"].astype(bool).sum()),
        "actions": flag_table(decisions, rows["escalated_tier3"]),
        "senior_queue_per_day": per_day.rename_axis("day").reset_index(),
        "sla": sla,
        "thresholds": {name: t.value for name, t in policy.thresholds.items()},
    }


def tradeoff_curve(rows: pd.DataFrame, steps: int = 100) -> pd.DataFrame:
    """Precision, recall and flagged tickets per day of `p >= threshold` over a grid of
    thresholds (0 to 1 in `steps`): the curve the senior threshold is picked from."""
    p = np.sort(rows["escalation_probability"].to_numpy(float))
    y = rows["escalated_tier3"].to_numpy(bool)
    positives_sorted = y[np.argsort(rows["escalation_probability"].to_numpy(float), kind="stable")]
    hits_above = np.r_[np.cumsum(positives_sorted[::-1])[::-1], 0]  # positives at index >= i
    grid = np.round(np.linspace(0.0, 1.0, steps + 1), 6)
    first = np.searchsorted(p, grid, side="left")  # rows with p >= t start here
    flagged = len(p) - first
    hits = hits_above[first]
    days = max(pd.to_datetime(rows["created_date"]).dt.normalize().nunique(), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(flagged > 0, hits / flagged, np.nan)
    return pd.DataFrame(
        {
            "threshold": grid,
            "flagged": flagged,
            "escalated_flagged": hits,
            "precision": precision,
            "recall": hits / max(int(y.sum()), 1),
            "flagged_per_day": flagged / days,
        }
    )


DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "policies" / "triage.yml"
BACKTEST_DAYS = 28


def choose_for_version(version: ModelVersion, template: Path | str) -> Policy:
    """Choose `template`'s thresholds on a registered version's validation predictions and
    write the result beside the model (`<version>/policy.yml`), before it can be promoted."""
    policy = choose_thresholds(load_policy(template), version.validation_rows(), version.version)
    write_policy(policy, version.path / POLICY_FILE)
    return policy


def policy_for(version: ModelVersion | None, template: Path | str) -> Policy:
    """The policy chosen for `version` when it has one, else `template` with its defaults."""
    if version is not None and (version.path / POLICY_FILE).exists():
        return load_policy(version.path / POLICY_FILE)
    return load_policy(template)


def decision_inputs(
    model: TrainedModel, rows: pd.DataFrame, probability: np.ndarray | None = None
) -> pd.DataFrame:
    """`rows` (feat_ticket_at_creation columns and `sla_target_minutes`) with the model's
    `escalation_probability` (`probability` when the caller has already scored them) and the
    `sla_state` at creation."""
    if probability is None:
        probability = model.predict(rows) if len(rows) else np.array([], dtype=float)
    return rows.assign(
        escalation_probability=probability,
        sla_state=sla_state_at_creation(rows["sla_target_minutes"]),
    )


def default_window(con: duckdb.DuckDBPyConnection, days: int = BACKTEST_DAYS,
                   maturity_days: int = 14) -> tuple[dt.date, dt.date]:  # fmt: skip
    """The newest `days` whose tickets' labels can all be mature: ending `maturity_days`
    before the newest ticket day (an open ticket may still escalate until then)."""
    newest = con.execute(
        "select max(created_date) from features.feat_ticket_at_creation"
    ).fetchone()[0]
    if newest is None:
        raise PolicyError("no tickets in features.feat_ticket_at_creation to replay")
    end = newest - dt.timedelta(days=maturity_days)
    return end - dt.timedelta(days=days - 1), end


def replay_rows(
    con: duckdb.DuckDBPyConnection, model: TrainedModel, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Tickets created in [start, end] with mature labels, scored by `model` as at creation."""
    rows = escalation_dataset(con, start=start, end=end)
    return decision_inputs(model, rows[rows["label_mature"]].reset_index(drop=True))


def replay(
    con: duckdb.DuckDBPyConnection,
    version: ModelVersion,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> tuple[pd.DataFrame, dt.date, dt.date]:
    """`replay_rows` of a registered version over [start, end] (each defaulting to
    `default_window`'s), with the window used."""
    if start is None or end is None:
        default_start, default_end = default_window(con)
        start, end = start or default_start, end or default_end
    if start > end:
        raise PolicyError(f"backtest window starts {start}, after its end {end}")
    return replay_rows(con, version.load(), start, end), start, end
