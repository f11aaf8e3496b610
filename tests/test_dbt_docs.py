"""`dbt docs generate` works against a built warehouse (what `make docs` serves).

It runs the real dbt CLI in a subprocess on the tiny pipeline's warehouse, writing into a
temporary target path so the project's own `dbt_project/target` is left alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_dbt

MARTS = ("fct_tickets", "fct_ticket_events", "dim_accounts", "fct_support_kpis_daily")
FEATURES = ("feat_account_daily", "feat_ticket_at_creation", "health_score_daily")


@pytest.fixture(scope="module")
def docs(tiny_pipeline, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("dbt_docs")
    warehouse = str(tiny_pipeline.warehouse.resolve())
    done = run_dbt("docs", "generate", work=target, timeout=600, SUPPORTOPS_WAREHOUSE=warehouse)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return target / "target"


def _nodes(catalog: dict) -> dict[str, dict]:
    return {node["metadata"]["name"]: node for node in catalog["nodes"].values()}


def test_docs_site_is_written(docs):
    for name in ("index.html", "manifest.json", "catalog.json"):
        assert (docs / name).stat().st_size > 0, name


def test_catalog_lists_the_marts_with_their_columns(docs, tiny_pipeline):
    catalog = json.loads((docs / "catalog.json").read_text())
    assert not catalog.get("errors"), catalog["errors"]
    nodes = _nodes(catalog)
    for name in MARTS:
        assert name in nodes, f"{name} missing from catalog.json"
        assert nodes[name]["metadata"]["schema"] == "marts"
        # The catalog was read from the tiny warehouse itself, not from a stale copy.
        assert nodes[name]["metadata"]["database"] == tiny_pipeline.warehouse.stem
    for name in FEATURES:
        assert nodes[name]["metadata"]["schema"] == "features"
    kpi_columns = {c.lower() for c in nodes["fct_support_kpis_daily"]["columns"]}
    assert {"kpi_date", "handling_path", "contained_tickets", "total_cost_usd"} <= kpi_columns


def test_manifest_carries_the_model_descriptions(docs):
    manifest = json.loads((docs / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for name in MARTS + FEATURES:
        assert models[name]["description"].strip(), f"{name} has no description"
    kpis = models["fct_support_kpis_daily"]["columns"]
    assert kpis["handling_path"]["description"].strip()
