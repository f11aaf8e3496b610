"""Run the pipeline in this process against any landing folder, warehouse and serving file.

Tests and the benchmark use it to take their own data through exactly the assets and checks
`make demo` runs, with the resources pointed at their files.
"""

from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from orchestration.resources import (
    ActionsResource,
    DriftLibrary,
    LandingResource,
    ServingResource,
    warehouse_dir,
    warehouse_resource,
)

RANGE_TAGS = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
FULL_REFRESH = {"ops": {"warehouse_models": {"config": {"full_refresh": True}}}}


def run_refresh(
    landing: Path,
    warehouse: Path,
    serving: Path,
    first: str,
    last: str,
    *,
    selection: dg.AssetSelection | None = None,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
    resources: Mapping[str, object] | None = None,
    full_refresh: bool = False,
) -> dg.ExecuteInProcessResult:
    """The `refresh` job in one run (or `selection` of it): ingest landing days
    [first, last], gate them, build the warehouse, train and score, publish.
    `resources` replaces any other resource (a test's own dbt executable, say);
    `full_refresh` rebuilds every dbt model, as `supportops materialize --full-refresh`.
    The actions store read is `actions.sqlite` beside the warehouse."""
    from orchestration.definitions import defs

    # Absolute paths: dbt runs in dbt_project/, and a relative path would not survive that.
    database = warehouse_resource(warehouse.resolve())
    resources = {
        **defs.resources,
        "warehouse": database,
        "landing": LandingResource(landing_dir=str(landing.resolve())),
        "serving": ServingResource(path=str(serving.resolve())),
        # Beside the warehouse, where the generator writes its simulated team's records.
        "actions": ActionsResource(path=str(warehouse_dir(database) / "actions.sqlite")),
        # Champions (whose drift reports want Evidently) are looked for beside the warehouse.
        "drift_library": DriftLibrary(root=str(warehouse_dir(database))),
        **(resources or {}),
    }
    nodes = [*defs.assets, *defs.asset_checks]
    return dg.materialize(
        [n for n in nodes if isinstance(n, dg.AssetsDefinition)],
        selection=selection,
        resources=resources,
        instance=instance,
        tags={RANGE_TAGS[0]: first, RANGE_TAGS[1]: last},
        raise_on_error=raise_on_error,
        run_config=FULL_REFRESH if full_refresh else None,
    )
