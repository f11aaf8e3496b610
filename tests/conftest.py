"""Shared fixtures: a tiny generated dataset, built once per test session.

Two tiers: `make test-fast` runs `pytest -m "not e2e"`, `make test` runs everything. A test is
`e2e` when it runs the pipeline, dbt, or a server: marked by hand (`@pytest.mark.e2e`) or, for
every test whose fixtures (however indirectly) include one marked `@runs_pipeline`, here at
collection. `run_pipeline` refuses to run for a test that is not `e2e`, so a forgotten mark
fails loudly instead of slowing the fast tier.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from extracts.generator import SCALES, GenerationSummary, generate
from ml.datasets import churn_dataset, escalation_dataset
from orchestration.runs import run_refresh

# In an xdist worker `__main__` is execnet's `-c` bootstrap (no __file__, no __spec__), which
# pyspark.sql.connect takes for a doctest run: lacking Spark Connect's gRPC packages, its import
# then calls sys.exit(0) instead of raising ImportError, and Great Expectations imports it
# (expecting ImportError) whenever pyspark is installed, as `make test` installs it. Marked
# absent here, its import raises the ImportError it raises in any other process.
if os.environ.get("PYTEST_XDIST_WORKER"):
    sys.modules.setdefault("pyspark.sql.connect", None)

E2E = "e2e"
_E2E_FIXTURE = "supportops_runs_pipeline"
# The running test's id while it is not e2e. An environment variable, not a global: test
# modules import this file as `tests.conftest`, a second copy beside pytest's `conftest`.
_NOT_E2E = "SUPPORTOPS_TEST_NOT_E2E"
# The suite runs on generated data: demo mode (the published demo PII key, dashboards open
# without a login). Subprocesses inherit it; a test of the non-demo behaviour unsets it.
os.environ.setdefault("SUPPORTOPS_DEMO", "1")


def runs_pipeline(fixture_function):
    """Put under `@pytest.fixture`: the fixture runs the pipeline, so its users are e2e."""
    setattr(fixture_function, _E2E_FIXTURE, True)
    return fixture_function


def needs_e2e(item: pytest.Item) -> bool:
    """Whether a fixture in the item's closure runs the pipeline."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info else ()
    return any(getattr(d.func, _E2E_FIXTURE, False) for defs in definitions for d in defs)


# Worlds several modules share, costly to build: under xdist the modules that use one run on
# the same worker, so it is built once.
SHARED_WORLDS = ("ml_data",)


def xdist_group(item: pytest.Item, modules_sharing: dict[str, str]) -> str:
    """The item's group under `pytest -n N --dist loadgroup` (`make test`): its module, so a
    module's fixtures are built once, or the shared world its module uses."""
    module = item.nodeid.split("::")[0]
    return modules_sharing.get(module, module)


# A wrapper: the marks go on before xdist's own hook reads the xdist_group marks.
@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]):
    for item in items:
        if item.get_closest_marker(E2E) is None and needs_e2e(item):
            item.add_marker(pytest.mark.e2e)
    modules_sharing = {
        item.nodeid.split("::")[0]: world
        for item in items
        for world in SHARED_WORLDS
        if world in getattr(item, "fixturenames", ())
    }
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(xdist_group(item, modules_sharing)))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Workers take groups in this order (`--no-loadscope-reorder`): the shared worlds,
        # then the groups that run a pipeline, and the quick groups last to fill the gaps.
        with_e2e = {xdist_group(i, modules_sharing) for i in items if i.get_closest_marker(E2E)}

        def cost_rank(item: pytest.Item) -> int:
            group = xdist_group(item, modules_sharing)
            return 0 if group in SHARED_WORLDS else 1 if group in with_e2e else 2

        items.sort(key=cost_rank)
    result = yield
    # xdist 3.8 hands the group to its scheduler as a `@group` suffix it writes to
    # `item._nodeid`, which pytest 9.2 no longer reads (its id is `item._id`): without this the
    # groups are silently ignored (pytest-dev/pytest-xdist#1386). A no-op once xdist sets the id.
    # The suffix goes into the id's names (not its params: a parametrized id would print as
    # `test[p]@group]`, and the scheduler then misses the group).
    for item in items:
        grouped = vars(item).get("_nodeid")
        if grouped and grouped != item.nodeid and hasattr(item._id, "names"):
            path, _, rest = grouped.partition("::")
            item._id = type(item._id)(path=path, names=tuple(rest.split("::")))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Tell `run_pipeline` when the running test (its fixtures' setup included) is not e2e."""
    if item.get_closest_marker(E2E) is None:
        os.environ[_NOT_E2E] = item.nodeid
    try:
        return (yield)
    finally:
        os.environ.pop(_NOT_E2E, None)


TINY_FAULTY = replace(SCALES["tiny"], seed=7, fault_rate=0.02)


@pytest.fixture(scope="session")
def tiny_faulty(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """A tiny dataset with every fault kind injected (see truth/faults.parquet)."""
    return generate(TINY_FAULTY, tmp_path_factory.mktemp("tiny_faulty"))


@pytest.fixture(scope="session")
def tiny_landing(tiny_faulty: GenerationSummary) -> Path:
    return tiny_faulty.out_dir / "landing"


TINY_CLEAN = replace(SCALES["tiny"], seed=11, fault_rate=0.0)


@dataclass(frozen=True)
class Pipeline:
    """A tiny dataset taken through every asset into real DuckDB files."""

    generated: GenerationSummary
    warehouse: Path
    serving: Path
    result: object

    @property
    def landing(self) -> Path:
        return self.generated.out_dir / "landing"

    def copy_to(self, data: Path) -> Path:
        """Landing, warehouse and serving copy into `data` laid out as the CLI's data folder
        (`SUPPORTOPS_DATA_DIR`), for a test that changes them; returns `data`."""
        shutil.copytree(self.landing, data / "landing")
        shutil.copy(self.warehouse, data / "warehouse.duckdb")
        shutil.copy(self.serving, data / "serving.duckdb")
        return data


def connector_csv(folder: Path, table: str, header: str, *rows: str) -> None:
    """One connector table of a hand-built export: `<folder>/<table>.csv`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{table}.csv").write_text("\n".join([header, *rows]) + "\n")


CLI = str(Path(sys.executable).parent / "supportops")
PROJECT = Path(__file__).resolve().parent.parent


def isolated_env(**settings: str) -> dict[str, str]:
    """This process's environment for a child process, without the SUPPORTOPS_* that
    in-process runs leave behind (a run points SUPPORTOPS_WAREHOUSE at its own file, and a
    child would then read that warehouse), in demo mode, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTOPS_")}
    return env | {"SUPPORTOPS_DEMO": "1"} | settings


DBT_PROJECT = PROJECT / "dbt_project"


def run_dbt(
    *args: str, work: Path, timeout: float = 900, **settings: str
) -> subprocess.CompletedProcess:
    """`dbt <args>` in a child process on the project (its environment `isolated_env` plus
    `settings`), artifacts in `work`/target and logs in `work`/logs: never
    dbt_project/target, which the pipeline's own builds use."""
    command = [str(Path(sys.executable).with_name("dbt")), *args, "--profiles-dir", ".",
               "--target-path", str(work / "target"), "--log-path", str(work / "logs")]  # fmt: skip
    return subprocess.run(command, cwd=DBT_PROJECT, env=isolated_env(**settings),
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def cli_env(home: Path, landing: Path | None = None, demo: bool = True) -> dict[str, str]:
    """Environment for `supportops` run as a user runs it, in its own process: Dagster's
    instance (project dagster.yaml; run the CLI with cwd=home, its storage paths are
    relative) and data under `home`; demo mode (the demo PII key) unless `demo` is False;
    landing under the data folder unless `landing` is given."""
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env = isolated_env(DAGSTER_HOME=str(home), SUPPORTOPS_DATA_DIR=str(home / "data"))
    if not demo:
        del env["SUPPORTOPS_DEMO"]
    if landing is not None:
        env["SUPPORTOPS_LANDING"] = str(landing)
    return env


def run_cli(
    home: Path,
    *args: str,
    landing: Path | None = None,
    check: bool = False,
    settings: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`supportops <args>` in its own process with `cli_env(home, landing)` and `settings`
    added to it, output captured."""
    return subprocess.run(
        [CLI, *args], cwd=home, env=cli_env(home, landing) | (settings or {}),
        capture_output=True, text=True, check=check,
    )  # fmt: skip


def email_hmac(key: str | bytes, email: str) -> str:
    """Ingestion's email hash, computed independently: HMAC-SHA256 of the trimmed, lowercased
    address under the PII key, with the standard library."""
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def landed_days(landing: Path) -> list[str]:
    return sorted(p.name for p in (landing / "helpdesk").glob("????-??-??") if p.is_dir())


def run_pipeline(
    landing: Path, warehouse: Path, serving: Path, first: str, last: str, raise_on_error=True
):
    """The `refresh` job in one run: ingest landing days [first, last], gate, build, publish."""
    if test := os.environ.get(_NOT_E2E):
        raise RuntimeError(
            f"{test} runs the pipeline but is not marked e2e: add @pytest.mark.e2e "
            "to the test, or @runs_pipeline under @pytest.fixture of the fixture that runs it"
        )
    return run_refresh(landing, warehouse, serving, first, last, raise_on_error=raise_on_error)


@pytest.fixture(scope="session")
@runs_pipeline
def tiny_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """Clean tiny extracts, ingested, built by dbt and published, once per session."""
    root = tmp_path_factory.mktemp("tiny_pipeline")
    generated = generate(TINY_CLEAN, root)
    days = landed_days(root / "landing")
    result = run_pipeline(
        root / "landing", root / "warehouse.duckdb", root / "serving.duckdb", days[0], days[-1]
    )
    assert result.success
    return Pipeline(generated, root / "warehouse.duckdb", root / "serving.duckdb", result)


@pytest.fixture
def published_copy(tiny_pipeline: Pipeline, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the clean tiny warehouse and its published serving file."""
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    shutil.copy(tiny_pipeline.warehouse, warehouse)
    shutil.copy(tiny_pipeline.serving, serving)
    return warehouse, serving


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_evaluations(result) -> list:
    """The asset check evaluations a run emitted."""
    return [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]


def materialised(result) -> set[str]:
    """The asset keys a run materialised."""
    return {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


# Long enough for 35 days of feature history, then ~90 train days, 14 validation days, the
# 90-day gap, 14 test days, and the 90 days that make the newest test labels mature. About
# 60 accounts churn in the test window: with 800 accounts over 300 days (45 churners) the
# model's PR AUC edge over the health score was within noise. The start is
# a Monday: from a Friday the first weekend has no backlog of ticket events and trips the
# raw volume gate (2x the median of too few comparable days). The world ends in the past
# (2026-11-28): ingestion quarantines event times after the moment of loading; it starts on
# the first day of the daily partitions.
ML_CONFIG = dataclasses.replace(
    SCALES["small"], accounts=1000, days=300, start=dt.date(2026, 2, 2), seed=5, fault_rate=0.0
)


@dataclass(frozen=True)
class MLData:
    """The ML world (ML_CONFIG) through the whole pipeline: test_ml_pipeline.py and the alert
    evidence in test_alerts.py share it."""

    warehouse: Path
    truth: Path
    churn: pd.DataFrame
    escalation: pd.DataFrame
    serving: Path
    result: object

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse), read_only=True)


@pytest.fixture(scope="session")
@runs_pipeline
def ml_data(tmp_path_factory: pytest.TempPathFactory) -> MLData:
    root = tmp_path_factory.mktemp("ml_pipeline")
    generate(ML_CONFIG, root)
    days = landed_days(root / "landing")
    result = run_pipeline(
        root / "landing", root / "warehouse.duckdb", root / "serving.duckdb", days[0], days[-1]
    )
    assert result.success
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return MLData(
            root / "warehouse.duckdb",
            root / "truth",
            churn_dataset(con),
            escalation_dataset(con),
            root / "serving.duckdb",
            result,
        )
