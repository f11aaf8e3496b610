"""Resources shared by the asset definitions."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.compat import DBT_PYTHON_VERSION
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from config.settings import DBT_ENV, Settings, get_settings
from ml.drift import import_evidently
from ml.pipeline import any_champion

# Every asset that writes the warehouse runs in this pool; dagster.yaml limits it to one slot
# because DuckDB allows a single writer process.
WAREHOUSE_POOL = "duckdb_warehouse"

DBT_WITH_PARENT = Path(__file__).with_name("dbt_with_parent")


class DbtCli(DbtCliResource):
    """dagster-dbt's dbt resource without two things it does before every dbt command that
    this project never uses (about 6 s of each build, more on a busy machine): it opened a
    dbt adapter in this process (importing dbt-core and loading its macros) for column
    metadata this project does not ask for (row counts: `defs/warehouse.py`, `_with_row_counts`),
    and it ran `dbt --version` in a subprocess to tell dbt Core from Fusion. The dbt here is
    dbt Core, the version uv.lock installed (as dagster-dbt itself found it)."""

    @cached_property
    def _cli_version(self):
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


class LandingResource(dg.ConfigurableResource):
    """Where extract files land. The PII key stays in settings so the UI never shows it."""

    landing_dir: str


class ServingResource(dg.ConfigurableResource):
    """The read-only database dashboards and the CLI open; replaced whole on each publish."""

    path: str


class ActionsResource(dg.ConfigurableResource):
    """The actions store (SQLite): review decisions and outreach records people write."""

    path: str


class DriftLibrary(dg.ConfigurableResource):
    """Evidently, for the drift checks. Importing it takes about 12 s, so it runs on a thread
    beside the run's ingest and dbt build (which wait on DuckDB and dbt) instead of inside a
    check: from the run's start when a champion exists under `root` (the folder beside the
    warehouse), else from the moment a training step makes one (`prefetch`). Before any
    champion the checks draw no report, and the run never imports it. `ready` waits."""

    root: str

    _importing: threading.Thread | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if any_champion(Path(self.root)):
            self.prefetch()

    def prefetch(self) -> None:
        if self._importing is None:
            self._importing = threading.Thread(
                target=import_evidently, name="import evidently", daemon=True
            )
            self._importing.start()

    def ready(self) -> None:
        if self._importing is not None:
            self._importing.join()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # A run that stopped early must not exit in the middle of an import.
        self.ready()


def warehouse_dir(warehouse: DuckDBResource) -> Path:
    """What the pipeline writes beside the warehouse (data docs, models, exports, reports)
    lives in its folder, so a test's warehouse in a temporary folder keeps them there too."""
    return Path(warehouse.database).resolve().parent


def warehouse_resource(database: Path | str, memory_limit: str | None = None) -> DuckDBResource:
    """The warehouse connection, with the memory limit dbt's profile also applies (by default
    the one in the settings when the resource is built)."""
    limit = memory_limit or get_settings().duckdb_memory_limit
    return DuckDBResource(database=str(database), connection_config={"memory_limit": limit})


def build_resources(
    config: Settings, dbt_project: DbtProject
) -> dict[str, dg.ConfigurableResource]:
    config.warehouse.parent.mkdir(parents=True, exist_ok=True)
    # The dbt installed beside this interpreter, whether or not the venv is on PATH, started
    # through a wrapper that makes it die with this process.
    os.environ[DBT_ENV] = str(Path(sys.executable).parent / "dbt")
    warehouse = warehouse_resource(config.warehouse, config.duckdb_memory_limit)
    return {
        # Always the DuckDB target: every asset after the build reads the DuckDB warehouse.
        # SUPPORTOPS_DBT_TARGET=spark is for dbt run by hand on exported raw data (README).
        # profiles_dir: dbt starts in the warehouse's folder (defs/warehouse.py), not the project.
        "dbt": DbtCli(
            project_dir=dbt_project,
            profiles_dir=str(dbt_project.project_dir),
            dbt_executable=str(DBT_WITH_PARENT),
            target="dev",
        ),
        "warehouse": warehouse,
        "landing": LandingResource(landing_dir=str(config.landing_dir)),
        "serving": ServingResource(path=str(config.serving)),
        "actions": ActionsResource(path=str(config.actions_store)),
        "drift_library": DriftLibrary(root=str(warehouse_dir(warehouse))),
    }
