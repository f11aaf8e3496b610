"""Quality gates as Dagster asset checks: every suite's gates, critical ones blocking.

Each raw asset gets its suite's gates over the run's partition window (contract,
quarantine, late rows, volume, freshness, and integrity for ticket events); the marts that
dashboards, models and exports read get theirs over the window the warehouse build just
covered. A failed critical gate stops everything downstream in the run (`blocking=True`):
dbt, training, scoring and the serving publish; warnings are shown and recorded only.
Every outcome is appended to `quality.check_results` and the data docs are rewritten under
`data/quality/`.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from config.settings import get_settings
from extracts.contracts import ENTITIES, Entity
from extracts.ledger import last_build
from orchestration.defs.warehouse import warehouse_models
from orchestration.partitions import daily_partitions, window_days
from orchestration.resources import WAREHOUSE_POOL, warehouse_dir
from quality.docs import write_index, write_validation_pages
from quality.gates import GATES, by_gate, gates_for, run_suite
from quality.results import SuiteResult, Window, write_results
from quality.suites import CRITICAL, MART_SUITES, get_suite, raw_suite_name


def _specs(
    suite_name: str, asset: dg.AssetKey, partitions_def: dg.PartitionsDefinition | None = None
) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            gate,
            asset=asset,
            blocking=GATES[gate][0] == CRITICAL,
            description=GATES[gate][1],
            partitions_def=partitions_def,
        )
        for gate in gates_for(get_suite(suite_name))
    ]


def quality_docs_dir(warehouse: DuckDBResource) -> Path:
    """Data docs live beside the warehouse they describe (`data/quality/` in the demo)."""
    return warehouse_dir(warehouse) / "quality"


def _validate(
    context: dg.AssetCheckExecutionContext,
    warehouse: DuckDBResource,
    suite_name: str,
    window: Window | None,
) -> SuiteResult:
    """Run, record and document one suite; the outcomes land whatever the verdict."""
    with warehouse.get_connection() as con:
        result = run_suite(con, suite_name, window, engine=get_settings().quality_engine)
        write_results(con, [result], context.run.run_id, window)
    write_validation_pages(result, quality_docs_dir(warehouse))
    failed = [o.expectation for o in result.failures]
    context.log.info(
        f"{suite_name} {window or 'whole table'}: {len(result.outcomes)} checks on "
        f"{result.rows:,} rows in {result.seconds:.1f} s, failed: {failed or 'none'}"
    )
    return result


def _write_docs_index(warehouse: DuckDBResource) -> None:
    """Once per check step, after its suites: the index lists the latest run of every suite."""
    with warehouse.get_connection() as con:
        write_index(con, quality_docs_dir(warehouse))


def _check_results(
    result: SuiteResult, asset: dg.AssetKey, docs: Path
) -> Iterator[dg.AssetCheckResult]:
    for gate in by_gate(result):
        failures = gate.failures
        yield dg.AssetCheckResult(
            asset_key=asset,
            check_name=gate.name,
            passed=gate.passed,
            severity=(
                dg.AssetCheckSeverity.ERROR
                if gate.severity == CRITICAL
                else dg.AssetCheckSeverity.WARN
            ),
            description=(
                f"{len(failures)} of {len(gate.outcomes)} failed: "
                + "; ".join(o.expectation for o in failures[:5])
                if failures
                else f"{len(gate.outcomes)} checks passed"
            ),
            metadata={
                "checks": len(gate.outcomes),
                "failed": [o.expectation for o in failures],
                "observed": dg.MetadataValue.json(
                    {o.expectation: o.observed_value for o in (failures or gate.outcomes)[:20]}
                ),
                "unexpected_rows": sum(o.unexpected_count or 0 for o in failures),
                "rows_validated": result.rows,
                "quality_docs": dg.MetadataValue.path(str(docs / "index.html")),
            },
        )


def _raw_checks(entity: Entity) -> dg.AssetChecksDefinition:
    asset = dg.AssetKey(["raw", entity.asset_name])
    suite_name = raw_suite_name(entity)

    @dg.multi_asset_check(
        name=f"{entity.asset_name}_quality",
        specs=_specs(suite_name, asset, daily_partitions),
        pool=WAREHOUSE_POOL,
        description=f"Quality gates of {suite_name} over the run's partition window.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
    ) -> Iterator[dg.AssetCheckResult]:
        first_day, last_day = window_days(context)
        window = Window(first_day, last_day + dt.timedelta(days=1))
        result = _validate(context, warehouse, suite_name, window)
        _write_docs_index(warehouse)
        yield from _check_results(result, asset, quality_docs_dir(warehouse))

    return _check


raw_quality_checks = [_raw_checks(entity) for entity in ENTITIES]
MART_ASSETS = {
    suite: get_asset_key_for_model([warehouse_models], suite.split(".")[1]) for suite in MART_SUITES
}


@dg.multi_asset_check(
    specs=[spec for suite, asset in MART_ASSETS.items() for spec in _specs(suite, asset)],
    pool=WAREHOUSE_POOL,
    description="Quality gates of the marts and features over the window the last build covered.",
)
def mart_quality(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> Iterator[dg.AssetCheckResult]:
    with warehouse.get_connection() as con:
        built = last_build(con)
    window = Window(built[0], built[1] + dt.timedelta(days=1)) if built else None
    results = {suite: _validate(context, warehouse, suite, window) for suite in MART_SUITES}
    _write_docs_index(warehouse)
    for suite, result in results.items():
        yield from _check_results(result, MART_ASSETS[suite], quality_docs_dir(warehouse))
