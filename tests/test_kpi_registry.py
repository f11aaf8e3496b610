"""The KPI registry against the mart's contract, its population rule, and the CLI.

The registry (`serving.kpi_registry`) is the one place a KPI is declared; these tests hold
it to the mart's yml (the dbt contract Python reads), check that a target is only ever set
beside a figure of the population its source describes, and that every registered KPI
renders in `supportops kpis` (table and `--json`) and `supportops summary`. Values are
checked against pandas in tests/test_kpis_independent.py; here the CLI must print what
`kpi_table` computed, formatted by the registry.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from serving import kpi_registry as registry
from serving.kpis import kpi_table

MART_YML = (
    Path(__file__).resolve().parent.parent
    / "dbt_project"
    / "models"
    / "marts"
    / "fct_support_kpis_daily.yml"
)
HANDLING_PATHS = {"automated", "assisted", "agent", "unresolved"}


def mart_model() -> dict:
    doc = yaml.safe_load(MART_YML.read_text())
    return next(m for m in doc["models"] if m["name"] == "fct_support_kpis_daily")


def test_every_numerator_and_denominator_is_a_numeric_column_of_the_mart_contract():
    model = mart_model()
    assert model["config"]["contract"]["enforced"] is True
    types = {c["name"]: c["data_type"] for c in model["columns"]}
    used = {column for k in registry.KPIS for column in k.columns}
    assert used, "the registry names no mart column"
    missing = sorted(used - set(types))
    assert not missing, f"registry columns missing from the mart's yml: {missing}"
    assert {types[c] for c in used} <= {"integer", "bigint", "double"}
    assert "handling_path" in types  # the population filter's column


def test_difference_kpis_refer_to_registered_ratios():
    for k in registry.KPIS:
        if k.difference is not None:
            for name in k.difference:
                assert registry.kpi(name).difference is None, (k.name, name)


def test_population_paths_are_handling_paths():
    for k in registry.KPIS:
        if k.population.paths is not None:
            assert set(k.population.paths) <= HANDLING_PATHS, k.name


def test_a_target_describes_the_population_of_its_kpi():
    targeted = [k for k in registry.KPIS if k.target is not None]
    assert len(targeted) >= 5
    for k in targeted:
        assert k.target.population == k.population, k.name


def test_a_target_of_another_population_is_refused():
    """The HDI figure describes agent-handled tickets: it cannot sit beside FCR of every path."""
    hdi = registry.kpi("fcr_agent_handled").target
    bot_inclusive = registry.kpi("fcr_all_paths")
    with pytest.raises(ValueError, match="describes"):
        dataclasses.replace(bot_inclusive, target=hdi)
    gartner = registry.kpi("cost_per_live_contact_usd").target
    with pytest.raises(ValueError, match="describes"):
        dataclasses.replace(registry.kpi("cost_per_ticket_usd"), target=gartner)


def test_every_kpi_has_a_page_and_sla_and_fcr_are_reported_apart():
    names = {k.name for k in registry.KPIS}
    assert {
        "sla_first_response_attainment",
        "sla_resolution_attainment",
        "sla_all_met_rate",
        "fcr_agent_handled",
        "fcr_all_paths",
    } <= names
    assert "sla_compliance" not in names  # the pooled rate is gone
    for k in registry.KPIS:
        assert k.page in ("executive", "operations"), k.name
    sla = [registry.kpi(n) for n in names if n.startswith("sla_")]
    assert all(k.target is not None for k in sla)


# --- the CLI ---------------------------------------------------------------------------


@pytest.fixture
def cli(tiny_pipeline, tmp_path, monkeypatch):
    """`supportops` with its settings pointing at a copy of the tiny serving file."""
    import shutil

    from orchestration.cli import app

    shutil.copy(tiny_pipeline.serving, tmp_path / "serving.duckdb")
    # Settings are read when the command runs: the environment variable is enough.
    monkeypatch.setenv("SUPPORTOPS_DATA_DIR", str(tmp_path))

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.fixture
def overall(tiny_pipeline):
    with duckdb.connect(str(tiny_pipeline.serving), read_only=True) as con:
        (row,) = kpi_table(con)
    return row


def test_every_kpi_in_kpis_json(cli, overall):
    (row,) = json.loads(cli("kpis", "--json"))
    assert row["tickets"] == overall.tickets
    for k in registry.KPIS:
        assert k.name in row, k.name
        assert row[k.name] is not None, k.name
        assert math.isclose(row[k.name], overall[k.name]), k.name
        if k.denominator is not None:
            assert row[f"{k.name}_n"] == overall.denominator(k.name) > 0, k.name


def test_every_kpi_in_kpis_table(cli, overall):
    out = cli("kpis")
    lines = out.splitlines()
    for k in registry.KPIS:
        line = next((x for x in lines if f" {k.label} " in x), None)
        assert line is not None, f"{k.label} not in the table:\n{out}"
        assert registry.format_value(k.unit, overall[k.name]) in line, (k.label, line)
        if k.target is not None:
            assert registry.format_target(k) in line, (k.label, line)
            assert k.target.source[:30] in " ".join(out.split()), k.label


def test_every_kpi_by_path_and_in_summary(cli, tiny_pipeline):
    with duckdb.connect(str(tiny_pipeline.serving), read_only=True) as con:
        by_path = kpi_table(con, by="path")
    out = cli("kpis", "--by", "path")
    header = next(x for x in out.splitlines() if " KPI " in x)
    assert all(r.group in header for r in by_path)
    agent = next(r for r in by_path if r.group == "agent")
    line = next(x for x in out.splitlines() if " FCR, agent-handled " in x)
    assert registry.format_value("rate", agent["fcr_agent_handled"]) in line
    summary = cli("summary")
    for k in registry.KPIS:
        assert f" {k.label} " in summary, k.label
