"""dbt's unit tests (model logic on hand-built fixtures), run by the real dbt CLI.

Pipeline builds exclude them (they test code, not data), so this is where they run. dbt needs
each tested model's parents to exist for their column types, nothing more: the raw tables are
created empty from the contracts, as ingestion creates them, and one `dbt build --empty` builds
the models with zero rows while the unit tests run on their fixtures. No pipeline run needed,
so this is in the fast tier (about ten seconds).
"""

from __future__ import annotations

import json

import duckdb

from extracts.actions import load_into_warehouse
from extracts.contracts import LOADED_ENTITIES
from extracts.ingest import ensure_tables
from tests.conftest import run_dbt


def test_every_dbt_unit_test_passes(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for entity in LOADED_ENTITIES:
            ensure_tables(con, entity)
        load_into_warehouse(con, tmp_path / "actions.sqlite")  # an empty store: empty tables
    done = run_dbt("build", "--empty", "--exclude", "resource_type:test", work=tmp_path,
                   timeout=600, SUPPORTOPS_WAREHOUSE=str(warehouse))  # fmt: skip
    target = tmp_path / "target"
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
