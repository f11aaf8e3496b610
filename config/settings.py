"""Every environment variable supportops reads, in one place, with demo defaults.

Relative paths resolve against the project root, so commands work from any directory.
Nothing is read at import: `get_settings()` reads the environment when called, so a test or
the benchmark that changes it, or installs its own settings with `use_settings`, is obeyed.
Outside `orchestration/` on purpose: the CLI, dashboards and benchmark read settings without
loading Dagster.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_PII_KEY = "supportops-demo-key-not-for-production"  # pragma: allowlist secret
"""Published, so hashes made with it can be reversed by guessing: used only in demo mode."""
DEMO_ENV = "SUPPORTOPS_DEMO"  # 1: generated demo data (make demo, the tests, the benchmark)
PII_KEY_ENV = "SUPPORTOPS_PII_KEY"
MISSING_PII_KEY = (
    f"{PII_KEY_ENV} is not set: the pipeline hashes emails, names and phones with it and will "
    "not start without one. Set a long random secret of your own and keep it (a new key gives "
    "every person a new hash), e.g.\n"
    f"  export {PII_KEY_ENV}=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"\n"
    f"or, for generated demo data only, {DEMO_ENV}=1 (make demo sets it) to use the published "
    "demo key."
)
WAREHOUSE_ENV = "SUPPORTOPS_WAREHOUSE"  # also read by dbt_project/profiles.yml
MEMORY_LIMIT_ENV = "SUPPORTOPS_DUCKDB_MEMORY_LIMIT"  # likewise
QUALITY_ENGINE_ENV = "SUPPORTOPS_QUALITY_ENGINE"
ALERTS_WEBHOOK_ENV = "SUPPORTOPS_ALERTS_WEBHOOK"
DBT_TARGET_ENV = "SUPPORTOPS_DBT_TARGET"  # also read by dbt_project/profiles.yml
SPARK_DRIVER_MEMORY_ENV = "SUPPORTOPS_SPARK_DRIVER_MEMORY"  # also (spark.driver.memory, 1g)
DBT_TARGETS = ("dev", "spark")  # dev: the DuckDB warehouse; spark: the same models on Spark
RAW_PARQUET_ENV = "SUPPORTOPS_RAW_PARQUET"  # likewise (the spark target's raw sources)
SPARK_DIR_ENV = "SUPPORTOPS_SPARK_DIR"  # likewise (the spark target's tables and metastore)
DAGSTER_PG_URL_ENV = "SUPPORTOPS_DAGSTER_PG_URL"  # also read by deploy/dagster.yaml (Dagster)
SERVICE_INSTANCE_DIR = PROJECT_ROOT / "deploy"
"""The Dagster instance with run, event and schedule storage on Postgres (its dagster.yaml)."""
DBT_ENV = "SUPPORTOPS_DBT"  # set, not read, here: the dbt that orchestration/dbt_with_parent runs
# Set for a build, not read, here: the warehouse's folder, where orchestration/dbt_with_parent
# starts dbt, and its file name, which dbt_project/profiles.yml then opens (relative to it).
DBT_WORKDIR_ENV = "SUPPORTOPS_DBT_WORKDIR"
DBT_WAREHOUSE_ENV = "SUPPORTOPS_DBT_WAREHOUSE"


def _path(var: str, default: str) -> Path:
    value = Path(os.environ.get(var, default))
    return value if value.is_absolute() else PROJECT_ROOT / value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    warehouse: Path
    pii_key: bytes
    """The HMAC key for PII; empty when unset outside demo mode (`require_pii_key` refuses)."""
    demo: bool
    """Demo mode (`SUPPORTOPS_DEMO=1`): the published demo PII key when none is set, and the
    dashboards open to everyone when no login is configured."""
    partitions_start: dt.date
    earliest_event_date: dt.date | None
    """Event times before it are quarantined; None: ingestion's default (2000-01-01)."""
    quality_engine: str
    """How suites run: `gx` (Great Expectations on bounded pandas batches) or `sql`
    (the same expectations compiled to one DuckDB query each)."""
    drift_threshold: float
    """Share of drifted features (or a drifted prediction) at which retraining starts."""
    performance_drop: float
    """Relative fall of live PR AUC (on newly matured labels) below the model's test PR AUC
    at which retraining starts."""
    outreach_per_owner: int
    """Accounts one owner can work in a week: the outreach list's cap per owner."""
    outreach_target_precision: float
    """Share of listed accounts that should be real churn risks: the churn probability
    threshold of the outreach list is the lowest that reached it on the model's test rows."""
    outreach_holdout: float
    """Share of the accounts eligible for outreach kept off the list each period (a random
    holdout by account id hash and quarter, `extracts.actions.in_holdout`), so the uplift of
    outreach can be measured against it (`SUPPORTOPS_OUTREACH_HOLDOUT`; 0 turns it off)."""
    actions_store: Path
    """The actions store: a SQLite file of review decisions and outreach records, written by
    the dashboards and the CLI, read by each refresh (`SUPPORTOPS_ACTIONS`; default
    `<data dir>/actions.sqlite`)."""
    sources_file: Path
    """`sources.yml`: the connector exports that feed landing sources (absent: native only)."""
    text_languages: tuple[str, ...]
    """ISO 639-1 codes that language detection chooses among (`SUPPORTOPS_TEXT_LANGUAGES`,
    comma-separated; default the generator's en,es,de,fr)."""
    alerts_webhook: str | None
    """`SUPPORTOPS_ALERTS_WEBHOOK`: where the refresh posts the day's new account alerts as
    Slack-compatible JSON (an incoming-webhook URL); unset: no post, only the CSV."""
    duckdb_memory_limit: str
    """DuckDB's memory_limit for every warehouse connection, Dagster's and dbt's: a run holds
    two DuckDB instances at once (this process and the dbt subprocess), and DuckDB's own
    default of 80% of RAM each would overcommit the machine; beyond it DuckDB spills to disk.
    25% by default: the full dbt build at a million tickets then peaks at 6.8 GB instead of
    10.4 GB (at 40%) and takes as long (319 s against 310 s on 2 cores, docs/operations.md)."""
    triage_policy: Path = PROJECT_ROOT / "policies" / "triage.yml"
    """The triage policy file (`SUPPORTOPS_TRIAGE_POLICY`): rules and threshold targets;
    training chooses its thresholds for each escalation model (docs/decisions-layer.md)."""
    dbt_target: str = "dev"
    """The dbt profile target (`SUPPORTOPS_DBT_TARGET`): `dev` builds in the DuckDB
    warehouse, `spark` builds the same models on a local Spark session from `raw_parquet`."""
    raw_parquet: Path = PROJECT_ROOT / "data" / "raw_parquet"
    """Where `supportops export-raw` writes raw tables as Parquet, per landing day, and the
    spark target reads them (`SUPPORTOPS_RAW_PARQUET`)."""
    spark_dir: Path = PROJECT_ROOT / "data" / "spark"
    """The spark target's table files and metastore (`SUPPORTOPS_SPARK_DIR`)."""
    dagster_home: Path = PROJECT_ROOT
    """Dagster's instance folder (its dagster.yaml): `deploy/` when
    `SUPPORTOPS_DAGSTER_PG_URL` is set (runs and events in that Postgres database, so the
    webserver, daemon and runs of a deployment share them), else `DAGSTER_HOME`, else the
    project root (SQLite under .dagster/). Both instances keep one warehouse writer."""

    @property
    def serving(self) -> Path:
        return self.data_dir / "serving.duckdb"

    def require_pii_key(self) -> bytes:
        """The PII key, or MissingSecretError saying how to set one: every step that hashes
        (or that must find a hash, like erasure) asks here, so none runs on an empty key."""
        if not self.pii_key:
            raise MissingSecretError(MISSING_PII_KEY)
        return self.pii_key


class MissingSecretError(RuntimeError):
    """A secret the pipeline needs is not set; the message says how to set it."""


def _demo() -> bool:
    value = os.environ.get(DEMO_ENV, "").strip().lower()
    if value not in ("", "0", "1", "false", "true"):
        raise ValueError(f"{DEMO_ENV} must be 1 or 0, not {value!r}")
    return value in ("1", "true")


def _pii_key(demo: bool) -> bytes:
    """The key from the environment; the demo key only in demo mode; else empty (refused)."""
    key = os.environ.get(PII_KEY_ENV, "").strip()
    return (key or (DEMO_PII_KEY if demo else "")).encode()


def _from_environment() -> Settings:
    """The settings the environment gives now (a dozen lookups: cheap enough for every call)."""
    data_dir = _path("SUPPORTOPS_DATA_DIR", "data")
    engine = os.environ.get(QUALITY_ENGINE_ENV, "gx")
    if engine not in ("gx", "sql"):
        raise ValueError(f"SUPPORTOPS_QUALITY_ENGINE must be gx or sql, not {engine!r}")
    demo = _demo()
    return Settings(
        data_dir=data_dir,
        landing_dir=_path("SUPPORTOPS_LANDING", str(data_dir / "landing")),
        warehouse=_path(WAREHOUSE_ENV, str(data_dir / "warehouse.duckdb")),
        pii_key=_pii_key(demo),
        demo=demo,
        partitions_start=dt.date.fromisoformat(
            os.environ.get("SUPPORTOPS_PARTITIONS_START", "2025-11-03")
        ),
        earliest_event_date=(
            dt.date.fromisoformat(os.environ["SUPPORTOPS_EARLIEST_EVENT_DATE"])
            if os.environ.get("SUPPORTOPS_EARLIEST_EVENT_DATE")
            else None
        ),
        quality_engine=engine,
        drift_threshold=float(os.environ.get("SUPPORTOPS_DRIFT_THRESHOLD", "0.3")),
        performance_drop=float(os.environ.get("SUPPORTOPS_PERFORMANCE_DROP", "0.2")),
        outreach_per_owner=int(os.environ.get("SUPPORTOPS_OUTREACH_PER_OWNER", "4")),
        outreach_target_precision=float(os.environ.get("SUPPORTOPS_OUTREACH_PRECISION", "0.2")),
        outreach_holdout=float(os.environ.get("SUPPORTOPS_OUTREACH_HOLDOUT", "0.2")),
        actions_store=_path("SUPPORTOPS_ACTIONS", str(data_dir / "actions.sqlite")),
        sources_file=_path("SUPPORTOPS_SOURCES", "sources.yml"),
        text_languages=tuple(
            code.strip().lower()
            for code in os.environ.get("SUPPORTOPS_TEXT_LANGUAGES", "en,es,de,fr").split(",")
            if code.strip()
        ),
        alerts_webhook=os.environ.get(ALERTS_WEBHOOK_ENV, "").strip() or None,
        duckdb_memory_limit=os.environ.get(MEMORY_LIMIT_ENV, "25%"),
        triage_policy=_path("SUPPORTOPS_TRIAGE_POLICY", "policies/triage.yml"),
        dbt_target=_dbt_target(),
        raw_parquet=_path(RAW_PARQUET_ENV, str(data_dir / "raw_parquet")),
        spark_dir=_path(SPARK_DIR_ENV, str(data_dir / "spark")),
        dagster_home=_dagster_home(),
    )


DAGSTER_PG_SCHEME = "postgresql+psycopg2"
"""The driver dagster-postgres installs: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3."""


def _dagster_home() -> Path:
    """deploy/ when a Postgres URL is set (its scheme checked here, so a wrong one fails with
    the variable's name, not deep in Dagster's storage), else DAGSTER_HOME or the root."""
    url = os.environ.get(DAGSTER_PG_URL_ENV, "").strip()
    if not url:
        return _path("DAGSTER_HOME", str(PROJECT_ROOT))
    if not url.startswith(f"{DAGSTER_PG_SCHEME}://"):
        raise ValueError(
            f"{DAGSTER_PG_URL_ENV} must be a {DAGSTER_PG_SCHEME}:// URL "
            f"({DAGSTER_PG_SCHEME}://user:password@host:5432/database), not one starting "  # pragma: allowlist secret
            f"{url.split(':', 1)[0]!r}"
        )
    return SERVICE_INSTANCE_DIR


def _dbt_target() -> str:
    target = os.environ.get(DBT_TARGET_ENV, "dev")
    if target not in DBT_TARGETS:
        raise ValueError(
            f"{DBT_TARGET_ENV} must be one of {', '.join(DBT_TARGETS)}, not {target!r}"
        )
    return target


# Installed by `use_settings`. Process-wide, not a ContextVar: a thread that a library starts
# inside the block begins with an empty context, and must still see these settings.
_installed: Settings | None = None


def get_settings() -> Settings:
    """The settings in force: those installed by `use_settings`, else the environment's now."""
    return _installed if _installed is not None else _from_environment()


@contextmanager
def use_settings(base: Settings | None = None, /, **changes: object) -> Iterator[Settings]:
    """Make `base` (default: the settings in force), with `changes` to its fields, what
    `get_settings()` returns until the block ends; blocks nest, the outer ones come back.

    For tests and the benchmark: no module attribute to monkeypatch, and no environment
    variable to set for a value (a PII key, a path) that need not leak into subprocesses.
    """
    global _installed
    chosen = dataclasses.replace(base or get_settings(), **changes)
    previous, _installed = _installed, chosen
    try:
        yield chosen
    finally:
        _installed = previous
