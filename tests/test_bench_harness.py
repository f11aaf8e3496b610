"""Smoke run of the benchmark harness at the tiny scale: every stage measured, the floor
equal to the pipeline's mart, a one-day refresh and the dashboard queries timed, and the
report written. No timing is asserted: speed is what the benchmark reports, not a test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.harness import SCALES, STAGES, run_benchmark
from extracts.generator import GeneratorConfig, generate

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    root = tmp_path_factory.mktemp("bench")
    json_path, md_path = run_benchmark(
        [SCALES["tiny"]], root / "work", root / "results", dashboard_repeats=2
    )
    assert not (root / "work" / "tiny").exists(), "scratch data is removed after the scale"
    return json.loads(json_path.read_text()), md_path.read_text()


def _landing_rows_of_full_build(tmp_path: Path) -> int:
    """Rows the generator writes for the scale's days (the bench generates one day more
    and holds it back for the one-day refresh)."""
    scale = SCALES["tiny"]
    config = GeneratorConfig(
        accounts=scale.accounts, start=scale.start, days=scale.days, seed=scale.seed
    )
    return sum(generate(config, tmp_path).rows.values())


def test_every_stage_is_measured(tiny_bench, tmp_path):
    results, _ = tiny_bench
    (scale,) = results["scales"]
    stages = {s["stage"]: s for s in scale["stages"]}
    assert list(stages) == list(STAGES)
    for name in ("generate", "ingest", "dbt build", "quality checks", "publish"):
        assert stages[name]["seconds"] > 0, name
        assert stages[name]["peak_rss_mb"] > 50, name
    # Ingest loaded what the generator writes for the built days: the held-back day is not in.
    assert stages["ingest"]["rows"] == _landing_rows_of_full_build(tmp_path)
    assert stages["generate"]["rows"] > stages["ingest"]["rows"]
    assert scale["peak_rss_mb"] >= max(s["peak_rss_mb"] for s in scale["stages"])
    total = sum(s["seconds"] for s in scale["stages"])
    assert scale["pipeline_seconds"] == pytest.approx(total + scale["startup_seconds"], abs=0.1)


def test_floor_equals_the_pipeline_mart(tiny_bench):
    (scale,) = tiny_bench[0]["scales"]
    floor = scale["floor"]
    assert floor["equal_to_pipeline"], floor["differences"]
    assert floor["rows"] > 0 and floor["seconds"] > 0
    assert floor["dbt_kpi_lineage_seconds"] > 0


def test_one_day_refresh_covers_the_held_back_day(tiny_bench):
    (scale,) = tiny_bench[0]["scales"]
    refresh = scale["one_day_refresh"]
    last_built = SCALES["tiny"].start.toordinal() + SCALES["tiny"].days
    assert refresh["day"] == type(SCALES["tiny"].start).fromordinal(last_built).isoformat()
    # The one-day refresh retrains nothing (training is the weekly job's) and builds dbt.
    assert "train" not in refresh["stages"]
    assert refresh["dbt_seconds"] > 0


def test_dashboard_queries_cover_the_pages(tiny_bench):
    (scale,) = tiny_bench[0]["scales"]
    dashboards = scale["dashboards"]
    pages = {q["query"].split(":")[0] for q in dashboards["queries"]}
    assert {"executive", "operations", "quality"} <= pages
    assert all(q["p95_ms"] >= q["p50_ms"] > 0 for q in dashboards["queries"])
    # Also through Streamlit's cache (later visits), and opening a new copy, paid apart.
    assert 0 <= dashboards["cached_p50_ms"] <= dashboards["cached_p95_ms"]
    assert dashboards["open_copy_ms"] > 0


def test_report_holds_the_tables(tiny_bench):
    results, markdown = tiny_bench
    assert markdown.startswith(f"# supportops benchmark, {results['date']}")
    for stage in STAGES:
        assert f"| {stage} |" in markdown
    assert "equal to the pipeline's mart: yes" in markdown
    assert "cached p95" in markdown and "opening a newly published copy" in markdown
