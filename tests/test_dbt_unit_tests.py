"""dbt's unit tests (model logic on hand-built fixtures), run by the real dbt CLI.

Pipeline builds exclude them (they test code, not data), so this is where they run: on a
copy of the tiny pipeline's warehouse, which gives dbt the input relations' column types.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"


def test_every_dbt_unit_test_passes(tiny_pipeline, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_pipeline.warehouse, warehouse)
    target = tmp_path / "target"
    command = [str(Path(sys.executable).with_name("dbt")), "test", "--select", "test_type:unit",
               "--profiles-dir", ".", "--target-path", str(target),
               "--log-path", str(tmp_path / "logs")]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=DBT_PROJECT,
        env={**os.environ, "SUPPORTOPS_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    assert len(results) == len(manifest["unit_tests"]) > 20
    assert {r["status"] for r in results} == {"pass"}
