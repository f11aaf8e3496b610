"""`config.settings`: read from the environment when asked (not frozen at import), replaceable
for a block with `use_settings`, and importable without the orchestration."""

from __future__ import annotations

import ast
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import get_settings, use_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_supportops_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process pipeline runs earlier in the session set SUPPORTOPS_WAREHOUSE: start clean."""
    for name in [n for n in os.environ if n.startswith("SUPPORTOPS_")]:
        monkeypatch.delenv(name)


def test_defaults_resolve_against_the_project_root() -> None:
    s = get_settings()
    assert s.data_dir == ROOT / "data"
    assert s.landing_dir == ROOT / "data" / "landing"
    assert s.warehouse == ROOT / "data" / "warehouse.duckdb"
    assert s.serving == ROOT / "data" / "serving.duckdb"
    assert s.sources_file == ROOT / "sources.yml"
    # Outside demo mode no key is written in the code: none until SUPPORTOPS_PII_KEY is set.
    assert (s.demo, s.pii_key) == (False, b"")
    assert s.partitions_start == dt.date(2025, 11, 3)
    assert s.earliest_event_date is None  # ingestion's own default applies
    assert (s.quality_engine, s.drift_threshold, s.performance_drop) == ("gx", 0.3, 0.2)
    assert s.duckdb_memory_limit == "25%"


def test_a_change_to_the_environment_after_import_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = get_settings()
    monkeypatch.setenv("SUPPORTOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORTOPS_QUALITY_ENGINE", "sql")
    monkeypatch.setenv("SUPPORTOPS_SOURCES", "elsewhere/sources.yml")
    monkeypatch.setenv("SUPPORTOPS_EARLIEST_EVENT_DATE", "2020-01-01")
    after = get_settings()
    assert after.earliest_event_date == dt.date(2020, 1, 1)
    assert before.serving == ROOT / "data" / "serving.duckdb"
    assert after.serving == tmp_path / "serving.duckdb"
    assert after.landing_dir == tmp_path / "landing"
    assert after.quality_engine == "sql"
    assert after.sources_file == ROOT / "elsewhere" / "sources.yml"


def test_a_wrong_quality_engine_names_the_variable_when_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPPORTOPS_QUALITY_ENGINE", "spark")
    with pytest.raises(
        ValueError, match=r"SUPPORTOPS_QUALITY_ENGINE must be gx or sql, not 'spark'"
    ):
        get_settings()


def test_use_settings_wins_over_the_environment_nests_and_restores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with use_settings(data_dir=tmp_path, pii_key=b"k1") as outer:
        monkeypatch.setenv("SUPPORTOPS_PII_KEY", "from-env")
        assert get_settings() is outer
        assert (get_settings().pii_key, get_settings().serving) == (
            b"k1",
            tmp_path / "serving.duckdb",
        )
        # The inner block starts from the outer one's settings, not the environment's.
        with use_settings(quality_engine="sql"):
            assert (get_settings().pii_key, get_settings().quality_engine) == (b"k1", "sql")
        assert get_settings().quality_engine == "gx"
        with pytest.raises(RuntimeError), use_settings(pii_key=b"k2"):
            raise RuntimeError
        assert get_settings().pii_key == b"k1"
    assert get_settings().pii_key == b"from-env"
    assert get_settings().serving == ROOT / "data" / "serving.duckdb"


def test_use_settings_takes_whole_settings(tmp_path: Path) -> None:
    mine = get_settings()
    with use_settings(mine, warehouse=tmp_path / "w.duckdb") as chosen:
        assert get_settings().warehouse == tmp_path / "w.duckdb"
        assert get_settings().landing_dir == mine.landing_dir
    assert chosen.warehouse != get_settings().warehouse


def test_settings_dashboards_and_bench_load_without_orchestration() -> None:
    """Importing them in a fresh interpreter loads neither `orchestration` nor Dagster."""
    code = (
        "import sys, config.settings, dashboards.queries, dashboards.ui, bench.harness, "
        "bench.report, bench.dashboard_latency; print(sorted({m.split('.')[0] for m in "
        "sys.modules} & {'orchestration', 'dagster'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def _orchestration_imports(folder: Path) -> dict[str, set[str]]:
    """Every module under `orchestration` that each file of `folder` imports, lazily or not."""
    found: dict[str, set[str]] = {}
    for file in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            hits = {n for n in names if n.split(".")[0] == "orchestration"}
            if hits:
                found.setdefault(file.relative_to(ROOT).as_posix(), set()).update(hits)
    return found


def test_dashboards_never_import_orchestration_and_bench_only_what_it_times() -> None:
    assert _orchestration_imports(ROOT / "dashboards") == {}
    bench = _orchestration_imports(ROOT / "bench")
    assert set(bench) == {"bench/harness.py"}
    assert all(
        m.startswith("orchestration.defs.") or m == "orchestration.runs"
        for m in bench["bench/harness.py"]
    )


def test_the_dbt_target_is_dev_or_spark_and_spark_paths_follow_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = get_settings()
    assert (s.dbt_target, s.raw_parquet, s.spark_dir) == (
        "dev",
        ROOT / "data" / "raw_parquet",
        ROOT / "data" / "spark",
    )
    monkeypatch.setenv("SUPPORTOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORTOPS_DBT_TARGET", "spark")
    s = get_settings()
    assert (s.dbt_target, s.raw_parquet, s.spark_dir) == (
        "spark",
        tmp_path / "raw_parquet",
        tmp_path / "spark",
    )
    monkeypatch.setenv("SUPPORTOPS_DBT_TARGET", "trino")
    with pytest.raises(
        ValueError, match=r"SUPPORTOPS_DBT_TARGET must be one of dev, spark, not 'trino'"
    ):
        get_settings()


def test_a_postgres_url_chooses_the_service_instance_and_a_wrong_one_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from config.settings import DAGSTER_PG_URL_ENV, SERVICE_INSTANCE_DIR

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert get_settings().dagster_home == tmp_path
    monkeypatch.delenv("DAGSTER_HOME")
    assert get_settings().dagster_home == ROOT  # the SQLite instance of the root dagster.yaml
    url = "postgresql+psycopg2://u:p@db:5432/dagster"  # pragma: allowlist secret
    monkeypatch.setenv(DAGSTER_PG_URL_ENV, url)
    assert get_settings().dagster_home == SERVICE_INSTANCE_DIR == ROOT / "deploy"
    # SQLAlchemy 2.1 would take a bare postgresql:// to psycopg 3, which is not installed.
    wrong_urls = (
        "postgresql://u:secret@db/dagster",  # pragma: allowlist secret
        "mysql://u:secret@db/dagster",  # pragma: allowlist secret
    )
    for wrong in wrong_urls:
        monkeypatch.setenv(DAGSTER_PG_URL_ENV, wrong)
        with pytest.raises(
            ValueError, match=rf"{DAGSTER_PG_URL_ENV} must be a postgresql\+psycopg2"
        ) as caught:
            get_settings()
        assert "secret" not in str(caught.value)  # it names the scheme, never the password
