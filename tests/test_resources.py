"""`orchestration.resources`: what the resources do beyond holding configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.resources import DbtCli

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"

# A stand-in dbt: records each command line it is started with, prints no events, succeeds.
_RECORDING_DBT = """#!{python}
import json, sys
with open({calls!r}, "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def test_a_command_starts_dbt_once_and_opens_no_adapter_here(tmp_path: Path) -> None:
    """dagster-dbt's resource also ran `dbt --version` and opened a dbt adapter in this
    process before each command; `DbtCli` runs only the command it is given."""
    calls = tmp_path / "calls.jsonl"
    dbt = tmp_path / "dbt"
    dbt.write_text(_RECORDING_DBT.format(python=sys.executable, calls=str(calls)))
    dbt.chmod(0o755)
    resource = DbtCli(project_dir=str(DBT_PROJECT), dbt_executable=str(dbt), target="dev")

    invocation = resource.cli(["ls"], target_path=tmp_path / "target", raise_on_error=True)
    invocation.wait()

    started = calls.read_text().splitlines()
    assert len(started) == 1 and started[0].startswith('["ls"'), started
    assert invocation.adapter is None
    assert invocation.is_successful()


# A new interpreter per case: whether a library is imported is a fact about a whole process.
_SET_UP_VALIDATION_LIBRARY = """
import sys
import dagster as dg
from orchestration.resources import ValidationLibrary

with dg.build_resources({"validation_library": ValidationLibrary()}) as resources:
    resources.validation_library.ready()
    print("great_expectations" in sys.modules)
"""


@pytest.mark.parametrize(("engine", "imported"), [("gx", "True"), ("sql", "False")])
def test_great_expectations_is_loaded_as_a_run_starts_only_for_the_gx_engine(
    engine: str, imported: str
) -> None:
    """The quality gates ask for `validation_library`, whose setup loads Great Expectations
    (about 4 s) on a thread beside the ingest when GE validates; the SQL engine needs none."""
    from orchestration.definitions import defs

    gates = [c for c in defs.asset_checks if c.node_def.name.endswith("_quality")]
    assert len(gates) == 7
    assert all("validation_library" in c.required_resource_keys for c in gates)
    probe = subprocess.run(
        [sys.executable, "-c", _SET_UP_VALIDATION_LIBRARY],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1],
        env={**os.environ, "SUPPORTOPS_QUALITY_ENGINE": engine},
    )  # fmt: skip
    assert probe.stdout.strip() == imported
