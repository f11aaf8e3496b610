"""The Dagster definitions against a committed golden file (tests/golden/dagster_definitions.json).

A change to the asset graph (a key, a dep, a group, a check, an automation condition, a job,
a schedule or a sensor) shows up here as a readable diff, in seconds and without running
anything. When the change is meant, rewrite the golden file with `make golden` (or
`SUPPORTOPS_UPDATE_GOLDEN=1 pytest tests/test_definitions_snapshot.py`) and commit it.

Left out on purpose: dbt code versions (they change with every SQL edit), descriptions, and the
partitions' start date (a setting, SUPPORTOPS_PARTITIONS_START, not the graph's shape).
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import dagster as dg

GOLDEN = Path(__file__).parent / "golden" / "dagster_definitions.json"
UPDATE_ENV = "SUPPORTOPS_UPDATE_GOLDEN"
_KIND_TAG = "dagster/kind/"
_OPERATORS = {"and": " & ", "or": " | "}


def condition_tree(condition: dg.AutomationCondition, depth: int = 0) -> list[str]:
    """One line per node, indented by depth: `label: NAME` (the label when Dagster gives one)."""
    label = condition.get_label()
    line = "  " * depth + (f"{label}: {condition.name}" if label else condition.name)
    lines = [line]
    for child in condition.children:
        lines += condition_tree(child, depth + 1)
    return lines


def condition_summary(condition: dg.AutomationCondition) -> str:
    """A one-line form: labelled nodes by their label, the rest by their operator or name."""
    label = condition.get_label()
    if label:
        return label
    children = [condition_summary(c) for c in condition.children]
    if condition.operator_type in _OPERATORS:
        return "(" + _OPERATORS[condition.operator_type].join(children) + ")"
    if condition.operator_type == "not":
        return "~" + children[0]
    return condition.name + (f"({', '.join(children)})" if children else "")


def _partitions(partitions_def: dg.PartitionsDefinition | None) -> dict | None:
    if partitions_def is None:
        return None
    shape: dict = {"type": type(partitions_def).__name__}
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        shape |= {
            "cron": partitions_def.cron_schedule,
            "timezone": partitions_def.timezone,
            "end_offset": partitions_def.end_offset,
        }
    return shape


def _freshness(policy) -> dict | None:
    if policy is None:
        return None
    windows = {"fail_window": policy.fail_window, "warn_window": policy.warn_window}
    return {
        name: f"{window.to_timedelta().total_seconds() / 3600:g}h"
        for name, window in windows.items()
        if window is not None
    }


def _target(definition) -> dict:
    """What a schedule or sensor starts: its job, or the asset selection it evaluates."""
    selection = getattr(definition, "asset_selection", None)
    if selection is not None:
        return {"asset_selection": str(selection)}
    if isinstance(definition, dg.ScheduleDefinition):
        return {"jobs": [definition.job_name]}
    return {"jobs": sorted(target.job_name for target in definition.targets)}


def snapshot(defs: dg.Definitions) -> dict:
    """The shape of `defs` as plain, sorted JSON data: what the golden file holds."""
    graph = defs.resolve_asset_graph()
    conditions: dict[str, list[str]] = {}

    def condition_name(condition: dg.AutomationCondition | None) -> str | None:
        """The summary, made unique when two different trees share it (`summary #2`)."""
        if condition is None:
            return None
        tree, base = condition_tree(condition), condition_summary(condition)
        name, n = base, 1
        while conditions.get(name, tree) != tree:
            n += 1
            name = f"{base} #{n}"
        conditions[name] = tree
        return name

    checks: dict[dg.AssetKey, dict[str, bool]] = {}
    for check_key in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key, k.name)):
        node = graph.get(check_key)
        checks.setdefault(check_key.asset_key, {})[check_key.name] = node.blocking
        if node.automation_condition is not None:
            raise AssertionError(f"{check_key}: check automation conditions are not snapshotted")

    assets = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "pools": sorted(node.pools or ()),
            "partitions": _partitions(node.partitions_def),
            "backfill_policy": str(node.backfill_policy) if node.backfill_policy else None,
            "automation_condition": condition_name(node.automation_condition),
            "freshness": _freshness(node.freshness_policy),
            "owners": sorted(node.owners),
            "tags": {k: v for k, v in sorted(node.tags.items()) if not k.startswith(_KIND_TAG)},
            "checks_blocking": dict(sorted(checks.get(key, {}).items())),
        }

    repository = defs.get_repository_def()
    return {
        "assets": assets,
        "automation_conditions": dict(sorted(conditions.items())),
        "jobs": {
            job.name: sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys)
            for job in sorted(repository.get_all_jobs(), key=lambda j: j.name)
            if not job.name.startswith("__")
        },
        "schedules": {
            s.name: {
                "cron": s.cron_schedule,
                "timezone": s.execution_timezone,
                "default_status": s.default_status.value,
                **_target(s),
            }
            for s in sorted(repository.schedule_defs, key=lambda s: s.name)
        },
        "sensors": {
            s.name: {
                "type": s.sensor_type.value,
                "minimum_interval_seconds": s.minimum_interval_seconds,
                "default_status": s.default_status.value,
                **_target(s),
            }
            for s in sorted(repository.sensor_defs, key=lambda s: s.name)
        },
        "resources": {key: type(r).__name__ for key, r in sorted((defs.resources or {}).items())},
    }


def render(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def changed_paths(expected: object, actual: object, path: str = "") -> list[str]:
    """Where two snapshots differ, as `assets/<key>/group` paths (the diff's hunks lack them)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        paths = []
        for key in sorted(expected.keys() | actual.keys()):
            where = f"{path}/{key}" if path else key
            if key not in actual:
                paths.append(f"{where} (removed)")
            elif key not in expected:
                paths.append(f"{where} (added)")
            else:
                paths += changed_paths(expected[key], actual[key], where)
        return paths
    return [] if expected == actual else [path]


def golden_diff(expected: str, actual: str) -> str:
    """What changed (paths, then a unified diff, golden file first) and how to accept it."""
    try:
        paths = changed_paths(json.loads(expected), json.loads(actual))
    except json.JSONDecodeError:
        paths = ["(the golden file is not valid JSON)"]
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{GOLDEN.name} (committed)",
            tofile="definitions (now)",
        )
    )
    return (
        f"The Dagster definitions differ from {GOLDEN} at:\n  " + "\n  ".join(paths) + "\n"
        f"{diff}\n"
        f"If the change is meant: `make golden` (or {UPDATE_ENV}=1 pytest "
        "tests/test_definitions_snapshot.py), review the diff and commit the golden file."
    )


def test_definitions_match_the_golden_file() -> None:
    from orchestration.definitions import defs

    actual = render(snapshot(defs))
    if os.environ.get(UPDATE_ENV) == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(actual)
    assert GOLDEN.exists(), f"no golden file at {GOLDEN}: run `make golden` and commit it"
    expected = GOLDEN.read_text()
    if expected != actual:
        raise AssertionError(golden_diff(expected, actual))


# A hand-built graph, to check the snapshot against a hand-worked answer.
_daily = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)
_gate = dg.AssetCheckSpec("not_empty", asset="raw_a", blocking=True)


@dg.asset(
    partitions_def=_daily,
    group_name="raw",
    kinds={"duckdb"},
    pool="warehouse",
    check_specs=[_gate],
    tags={"source": "crm"},
)
def raw_a():
    yield dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=True)])


@dg.asset(
    deps=[raw_a],
    group_name="marts",
    automation_condition=dg.AutomationCondition.on_missing()
    & ~dg.AutomationCondition.in_progress(),
    owners=["team:analytics"],
)
def mart_b() -> None: ...


@dg.asset_check(asset=mart_b)
def mart_b_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


_job = dg.define_asset_job("marts_only", selection=dg.AssetSelection.groups("marts"))


@dg.sensor(job=_job, minimum_interval_seconds=120)
def watch():
    return None


_TOY = dg.Definitions(
    assets=[raw_a, mart_b],
    asset_checks=[mart_b_rows],
    jobs=[_job],
    schedules=[
        dg.ScheduleDefinition(
            job=_job, cron_schedule="0 3 * * 1", execution_timezone="Europe/Paris"
        )
    ],
    sensors=[watch],
    resources={"dbt": dg.ResourceDefinition.none_resource()},
)


def test_snapshot_of_a_hand_built_graph() -> None:
    data = snapshot(_TOY)
    assert data["assets"]["raw_a"] == {
        "group": "raw",
        "kinds": ["duckdb"],
        "deps": [],
        "pools": ["warehouse"],
        "partitions": {
            "type": "DailyPartitionsDefinition",
            "cron": "0 0 * * *",
            "timezone": "UTC",
            "end_offset": 1,
        },
        "backfill_policy": None,
        "automation_condition": None,
        "freshness": None,
        "owners": [],
        "tags": {"source": "crm"},
        "checks_blocking": {"not_empty": True},
    }
    mart = data["assets"]["mart_b"]
    assert mart["deps"] == ["raw_a"]
    assert mart["checks_blocking"] == {"mart_b_rows": False}
    assert mart["owners"] == ["team:analytics"]
    assert mart["automation_condition"] == "(on_missing & ~in_progress)"
    tree = data["automation_conditions"]["(on_missing & ~in_progress)"]
    assert tree[0] == "AND"
    assert "  NOT" in tree
    assert "    in_progress: OR" in tree
    assert data["jobs"] == {"marts_only": ["mart_b"]}
    assert data["schedules"] == {
        "marts_only_schedule": {
            "cron": "0 3 * * 1",
            "timezone": "Europe/Paris",
            "default_status": "STOPPED",
            "jobs": ["marts_only"],
        }
    }
    assert data["sensors"] == {
        # Dagster adds it for any graph with an automation condition.
        "default_automation_condition_sensor": {
            "type": "AUTO_MATERIALIZE",
            "minimum_interval_seconds": 30,
            "default_status": "STOPPED",
            "asset_selection": "*",
        },
        "watch": {
            "type": "STANDARD",
            "minimum_interval_seconds": 120,
            "default_status": "STOPPED",
            "jobs": ["marts_only"],
        },
    }


def test_two_different_trees_with_one_summary_are_kept_apart() -> None:
    eager = dg.AutomationCondition.eager()
    trimmed = eager.without(~dg.AutomationCondition.any_deps_missing())
    assert condition_summary(eager) == condition_summary(trimmed) == "eager"

    @dg.asset(automation_condition=eager)
    def a() -> None: ...

    @dg.asset(automation_condition=trimmed)
    def b() -> None: ...

    @dg.asset(automation_condition=eager)
    def c() -> None: ...

    data = snapshot(dg.Definitions(assets=[a, b, c]))
    assert [data["assets"][k]["automation_condition"] for k in "abc"] == [
        "eager",
        "eager #2",
        "eager",
    ]
    full, without = (data["automation_conditions"][n] for n in ("eager", "eager #2"))
    assert "  NOT" in full and len(full) > len(without)


def test_a_changed_graph_gives_a_diff_naming_the_change() -> None:
    expected = render(snapshot(_TOY))

    @dg.asset(name="mart_b", deps=[raw_a], group_name="features", owners=["team:analytics"])
    def moved() -> None: ...

    changed = dg.Definitions(assets=[raw_a, moved])
    message = golden_diff(expected, render(snapshot(changed)))
    assert '-      "group": "marts",' in message
    assert '+      "group": "features",' in message
    assert '-      "automation_condition": "(on_missing & ~in_progress)",' in message
    assert '+      "automation_condition": null,' in message
    assert "  assets/mart_b/group\n" in message
    assert "  assets/mart_b/checks_blocking/mart_b_rows (removed)\n" in message
    assert "  jobs/marts_only (removed)\n" in message
    assert "make golden" in message
