"""dbt's unit tests (model logic on hand-built fixtures), run by the real dbt CLI.

Pipeline builds exclude them (they test code, not data), so this is where they run. dbt needs
each tested model's parents to exist for their column types, nothing more: the raw tables are
created empty from the contracts, as ingestion creates them, and one `dbt build --empty` builds
the models with zero rows while the unit tests run on their fixtures. No pipeline run needed,
so this is in the fast tier (about ten seconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from extracts.actions import load_into_warehouse
from extracts.contracts import LOADED_ENTITIES
from extracts.ingest import ensure_tables
from tests.conftest import isolated_env

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"


def test_every_dbt_unit_test_passes(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for entity in LOADED_ENTITIES:
            ensure_tables(con, entity)
        load_into_warehouse(con, tmp_path / "actions.sqlite")  # an empty store: empty tables
    target = tmp_path / "target"
    command = [str(Path(sys.executable).with_name("dbt")), "build", "--empty",
               "--exclude", "resource_type:test",
               "--profiles-dir", ".", "--target-path", str(target),
               "--log-path", str(tmp_path / "logs")]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=DBT_PROJECT,
        env=isolated_env(SUPPORTOPS_WAREHOUSE=str(warehouse)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    unit = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit) == len(manifest["unit_tests"]) > 20
    assert {r["status"] for r in unit} == {"pass"}
    # The models were built too, all of them, so no unit test was skipped for a missing parent.
    models = [r for r in results if r["unique_id"].startswith("model.")]
    assert {r["status"] for r in models} == {"success"}
    assert len(models) == sum(1 for n in manifest["nodes"] if n.startswith("model."))
