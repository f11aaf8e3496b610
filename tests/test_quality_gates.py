"""Quality gates in Dagster: each broken extract fails the right blocking check, nothing
downstream of it is materialised in that run, and the published serving file is untouched."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from extracts.contracts import LOADED_ENTITIES
from extracts.generator import generate
from quality.gates import GATES
from tests.conftest import (
    TINY_CLEAN,
    check_evaluations,
    file_digest,
    landed_days,
    materialised,
    run_pipeline,
)


def test_clean_data_passes_every_check_and_results_are_published(tiny_pipeline) -> None:
    evaluations = check_evaluations(tiny_pipeline.result)
    gates = [e for e in evaluations if e.check_name in GATES]
    assert len(gates) == 43  # 6 raw suites and 3 mart suites, 4-7 gates each
    assert [e for e in evaluations if not e.passed] == []
    with duckdb.connect(str(tiny_pipeline.serving), read_only=True) as con:
        suites, failed, runs = con.execute(
            "SELECT count(DISTINCT suite), count(*) FILTER (WHERE NOT success), "
            "count(DISTINCT run_id) FROM quality.check_results"
        ).fetchone()
    # the 9 suites, every dbt test of the build, and one load outcome per raw table
    assert (suites, failed, runs) == (9 + 1 + len(LOADED_ENTITIES), 0, 1)
    docs = tiny_pipeline.warehouse.parent / "quality"
    assert "marts.fct_tickets" in (docs / "index.html").read_text()
    assert len(list((docs / "validations").glob("*.html"))) == 9


def test_only_critical_gates_block() -> None:
    from orchestration.definitions import defs

    specs = [s for checks in defs.asset_checks for s in checks.check_specs]
    blocking = {s.name: s.blocking for s in specs if s.name in GATES}
    assert blocking == {name: severity == "critical" for name, (severity, _) in GATES.items()}


def _cut_off_at(landing: Path, day: str, hour: int) -> None:
    """The day's tickets export stopped at `hour`: only tickets created before it remain."""
    path = landing / "helpdesk" / day / "tickets.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    kept = [r for r in rows if int(r["created_at"][11:13]) < hour]
    assert 0 < len(kept) < len(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in kept))


# fault kind -> (the gate that must fail, the quarantine fault kind it reports, fault rate)
FAULTS = {
    "duplicate": ("quarantine", "duplicate", 0.05),
    "null_required": ("quarantine", "null_required", 0.05),
    "bad_timestamp": ("quarantine", "bad_timestamp", 0.05),
    "unknown_enum": ("quarantine", "unknown_enum", 0.05),
    "renamed_column": ("quarantine", "missing_column", 0.05),
    "late_arrival": ("late_rows", None, 0.3),
    "stale_partition": ("freshness", None, 0.0),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_broken_extract_fails_its_gate_and_blocks_downstream(
    fault: str, published_copy: tuple[Path, Path], tmp_path: Path
) -> None:
    gate, quarantine_kind, rate = FAULTS[fault]
    kinds = () if fault == "stale_partition" else (fault,)
    generated = generate(
        replace(TINY_CLEAN, fault_rate=rate, fault_kinds=kinds), tmp_path / "extracts"
    )
    landing = generated.out_dir / "landing"
    days = landed_days(landing)
    if fault == "stale_partition":
        _cut_off_at(landing, days[-1], hour=8)
    warehouse, serving = published_copy
    before = file_digest(serving)

    result = run_pipeline(landing, warehouse, serving, days[0], days[-1], raise_on_error=False)

    assert not result.success
    failed = [e for e in check_evaluations(result) if not e.passed]
    assert failed and {e.severity.value for e in failed} == {"ERROR"}
    right = [e for e in failed if e.check_name == gate]
    assert right, [(e.asset_key.to_user_string(), e.check_name) for e in failed]
    if quarantine_kind:
        for evaluation in right:
            observed = evaluation.metadata["observed"].data["quarantine_share(fault_kind)"]
            assert {o["kind"] for o in observed["over_limit"]} == {quarantine_kind}
    # Nothing downstream of the loads ran (raw tables, and the actions store's copy, a
    # source load of its own), and the published file is byte-identical.
    assert {key.split("/")[0] for key in materialised(result)} == {"raw", "actions"}
    assert file_digest(serving) == before
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recorded = con.execute(
            "SELECT DISTINCT check_name FROM quality.check_results "
            "WHERE run_id = ? AND NOT success AND severity = 'critical'",
            [result.run_id],
        ).fetchall()
    assert (gate,) in recorded
