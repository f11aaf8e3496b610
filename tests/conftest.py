"""Shared fixtures: a tiny generated dataset, built once per test session."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from extracts.generator import SCALES, GenerationSummary, generate

TINY_FAULTY = replace(SCALES["tiny"], seed=7, fault_rate=0.02)


@pytest.fixture(scope="session")
def tiny_faulty(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """A tiny dataset with every fault kind injected (see truth/faults.parquet)."""
    return generate(TINY_FAULTY, tmp_path_factory.mktemp("tiny_faulty"))


@pytest.fixture(scope="session")
def tiny_landing(tiny_faulty: GenerationSummary) -> Path:
    return tiny_faulty.out_dir / "landing"
