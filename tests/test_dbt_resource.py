"""`orchestration.resources.DbtCli`: dagster-dbt's resource, running only the dbt command it
is given (dagster-dbt also ran `dbt --version` and opened a dbt adapter in-process first)."""

from __future__ import annotations

import sys
from pathlib import Path

from orchestration.resources import DbtCli

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"

# A stand-in dbt: records each command line it is started with, prints no events, succeeds.
_RECORDING_DBT = """#!{python}
import json, sys
with open({calls!r}, "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def test_a_command_starts_dbt_once_and_opens_no_adapter_here(tmp_path: Path) -> None:
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
