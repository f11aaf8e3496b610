"""The two test tiers: how a test becomes `e2e` (left out of `make test-fast`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_pipeline, runs_pipeline


@pytest.fixture
@runs_pipeline
def pretend_pipeline() -> str:
    """Stands for a fixture that runs the pipeline; it runs nothing."""
    return "built"


@pytest.fixture
def derived(pretend_pipeline: str) -> str:
    return pretend_pipeline + " and derived"


def test_a_test_using_a_pipeline_fixture_indirectly_is_e2e(derived, request) -> None:
    """Runs in `make test` only: the collection rule marked it through `derived`."""
    assert derived == "built and derived"
    assert request.node.get_closest_marker("e2e") is not None


def test_run_pipeline_refuses_a_test_not_marked_e2e(request, tmp_path: Path) -> None:
    assert request.node.get_closest_marker("e2e") is None
    with pytest.raises(RuntimeError) as refused:
        run_pipeline(tmp_path, tmp_path / "w.duckdb", tmp_path / "s.duckdb", "x", "x")
    assert f"{request.node.nodeid} runs the pipeline but is not marked e2e" in str(refused.value)
    assert not (tmp_path / "w.duckdb").exists()
