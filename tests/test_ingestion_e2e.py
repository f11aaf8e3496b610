"""End to end: generate tiny extracts with every fault kind, materialise every ingestion asset
with Dagster into a real DuckDB file, and reconcile the result against the fault manifest."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from extracts.contracts import ENTITIES_BY_TABLE, LOADED_ENTITIES
from extracts.generator import GenerationSummary
from orchestration.defs.ingestion import ingestion_assets, landing_sensor
from orchestration.resources import LandingResource, warehouse_resource
from orchestration.runs import RANGE_TAGS
from tests.conftest import runs_pipeline


def _materialize(
    landing: Path, warehouse: Path, first: str, last: str
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ingestion_assets,
        resources={
            "warehouse": warehouse_resource(warehouse),
            "landing": LandingResource(landing_dir=str(landing)),
        },
        tags={RANGE_TAGS[0]: first, RANGE_TAGS[1]: last},
    )


@pytest.fixture(scope="module")
@runs_pipeline
def loaded(
    tiny_faulty: GenerationSummary, tmp_path_factory
) -> tuple[Path, dg.ExecuteInProcessResult]:
    warehouse = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    days = sorted(p.name for p in (tiny_faulty.out_dir / "landing" / "helpdesk").iterdir())
    result = _materialize(tiny_faulty.out_dir / "landing", warehouse, days[0], days[-1])
    return warehouse, result


@pytest.fixture(scope="module")
def manifest(tiny_faulty: GenerationSummary) -> pd.DataFrame:
    return pd.read_parquet(tiny_faulty.out_dir / "truth" / "faults.parquet")


def _query(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


def test_every_asset_materialises_once_with_reconciled_counts(loaded):
    _, result = loaded
    assert result.success
    materializations = result.get_asset_materialization_events()
    keys = {event.asset_key.path[-1] for event in materializations}
    assert keys == {entity.asset_name for entity in LOADED_ENTITIES}
    # One step per asset covers the whole range: one materialisation per partition and asset.
    steps = {event.step_key for event in materializations}
    assert len(steps) == len(LOADED_ENTITIES)
    optional = {entity.asset_name for entity in LOADED_ENTITIES if entity.optional}
    assert optional == {"raw_helpdesk_schedules", "raw_helpdesk_schedule_holidays"}
    for event in materializations:
        meta = {k: v.value for k, v in event.materialization.metadata.items()}
        assert meta["rows_read"] == meta["rows_loaded"] + meta["rows_quarantined"]
        # the native helpdesk has no schedules: their optional files are absent, no rows
        if event.asset_key.path[-1] in optional:
            assert (meta["rows_read"], meta["files"]) == (0, 0)
        else:
            assert meta["rows_loaded"] > 0


def test_every_injected_fault_lands_in_quarantine_with_its_reason(loaded, manifest):
    warehouse, _ = loaded
    quarantined = pd.concat(
        [
            _query(
                warehouse,
                f"SELECT '{table}' AS table, _source_file AS file, _source_line AS line, field, "
                f"fault_kind FROM quarantine.{table}",
            )
            for table in ENTITIES_BY_TABLE
        ]
    )
    expected = manifest[manifest["kind"] != "late_arrival"].copy()
    expected["file"] = expected["file"].str.removeprefix("landing/")
    expected["fault_kind"] = expected["kind"].replace({"renamed_column": "missing_column"})
    expected.loc[expected["kind"] == "duplicate", "field"] = None
    columns = ["table", "file", "line", "field", "fault_kind"]

    def rows(frame: pd.DataFrame) -> set[tuple]:
        frame = frame[columns].astype(object).where(frame[columns].notna(), None)
        return set(frame.itertuples(index=False, name=None))

    assert set(expected["kind"]) == {
        "duplicate",
        "null_required",
        "bad_timestamp",
        "unknown_enum",
        "renamed_column",
    }
    assert rows(quarantined) == rows(expected)


def test_nothing_else_is_lost(loaded, manifest, tiny_faulty):
    warehouse, _ = loaded
    quarantined_faults = manifest[manifest["kind"] != "late_arrival"]
    for table, entity in ENTITIES_BY_TABLE.items():
        files = sorted(
            (tiny_faulty.out_dir / "landing" / entity.source).glob(f"*/{entity.file_name}")
        )
        if entity.format == "jsonl":
            lines = sum(sum(1 for _ in f.open()) for f in files)
        elif entity.format == "csv":
            lines = sum(sum(1 for _ in f.open()) - 1 for f in files)
        else:
            lines = sum(len(pd.read_parquet(f)) for f in files)
        loaded_rows = _query(warehouse, f"SELECT count(*) AS n FROM raw.{table}")["n"][0]
        faults = int((quarantined_faults["table"] == table).sum())
        assert loaded_rows == lines - faults, table


def test_late_rows_are_loaded_and_flagged(loaded, manifest):
    warehouse, _ = loaded
    late = manifest[manifest["kind"] == "late_arrival"]
    assert len(late) > 0
    for table, group in late.groupby("table"):
        entity = ENTITIES_BY_TABLE[table]
        key = entity.key[0]
        flagged = _query(
            warehouse, f"SELECT CAST({key} AS VARCHAR) AS k FROM raw.{table} WHERE _is_late"
        )
        assert set(group["key"]) <= set(flagged["k"])


def _pii_values(landing: Path) -> set[str]:
    with duckdb.connect() as con:
        values = con.execute(
            f"""
            SELECT requester_email FROM read_json('{landing}/helpdesk/*/tickets.jsonl', union_by_name=true)
            UNION SELECT requester_name FROM read_json('{landing}/helpdesk/*/tickets.jsonl', union_by_name=true)
            UNION SELECT requester_phone FROM read_json('{landing}/helpdesk/*/tickets.jsonl', union_by_name=true)
            UNION SELECT email FROM read_csv('{landing}/crm/*/contacts.csv', union_by_name=true, all_varchar=true)
            UNION SELECT first_name || ' ' || last_name FROM read_csv('{landing}/crm/*/contacts.csv', union_by_name=true, all_varchar=true)
            UNION SELECT phone FROM read_csv('{landing}/crm/*/contacts.csv', union_by_name=true, all_varchar=true)
            UNION SELECT billing_email FROM read_csv('{landing}/crm/*/accounts.csv', union_by_name=true, all_varchar=true)
            """
        ).fetchall()
    return {v for (v,) in values if v and len(v) > 4}


def test_no_warehouse_text_contains_pii_in_clear(loaded, tiny_landing):
    warehouse, _ = loaded
    pii = _pii_values(tiny_landing)
    assert len(pii) > 100
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("CREATE TEMP TABLE pii AS SELECT unnest(?) AS value", [sorted(pii)])
        columns = con.execute(
            """SELECT table_schema, table_name, column_name FROM information_schema.columns
               WHERE data_type IN ('VARCHAR', 'JSON') AND table_schema IN ('raw', 'quarantine')"""
        ).fetchall()
        assert len(columns) > 20
        for schema, table, column in columns:
            hits = con.execute(
                f"""SELECT count(*) FROM {schema}.{table} t JOIN pii
                    ON contains(CAST(t."{column}" AS VARCHAR), pii.value)"""
            ).fetchone()[0]
            assert hits == 0, f"{schema}.{table}.{column} holds PII in clear"


def test_rematerialising_a_partition_gives_an_identical_table(loaded, tiny_faulty):
    warehouse, _ = loaded
    day = sorted(p.name for p in (tiny_faulty.out_dir / "landing" / "helpdesk").iterdir())[3]

    def snapshot() -> dict[str, pd.DataFrame]:
        frames = {}
        for schema in ("raw", "quarantine"):
            for table in ENTITIES_BY_TABLE:
                frame = _query(warehouse, f"SELECT * EXCLUDE (_loaded_at) FROM {schema}.{table}")
                frames[f"{schema}.{table}"] = frame.sort_values(list(frame.columns)).reset_index(
                    drop=True
                )
        return frames

    before = snapshot()
    result = _materialize(tiny_faulty.out_dir / "landing", warehouse, day, day)
    assert result.success
    after = snapshot()
    for name, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[name], check_like=False, obj=name)


def test_landing_sensor_requests_one_range_run_per_source(tiny_landing):
    context = dg.build_sensor_context(
        resources={"landing": LandingResource(landing_dir=str(tiny_landing))}
    )
    result = landing_sensor(context)
    requests = {r.run_key.split(":")[0]: r for r in result.run_requests}
    assert set(requests) == {"crm", "helpdesk", "telemetry"}
    days = sorted(p.name for p in (tiny_landing / "helpdesk").iterdir())
    assert requests["helpdesk"].tags[RANGE_TAGS[0]] == days[0]
    assert requests["helpdesk"].tags[RANGE_TAGS[1]] == days[-1]
    again = landing_sensor(
        dg.build_sensor_context(
            cursor=result.cursor,
            resources={"landing": LandingResource(landing_dir=str(tiny_landing))},
        )
    )
    assert again.run_requests == []
    assert json.loads(result.cursor)["newest"] == {
        "crm": days[-1],
        "helpdesk": days[-1],
        "telemetry": days[-1],
    }


def test_landing_sensor_requests_a_redelivered_day_again_only_when_its_content_changed(
    tiny_landing, tmp_path
):
    landing = tmp_path / "landing"
    shutil.copytree(tiny_landing, landing)
    resources = {"landing": LandingResource(landing_dir=str(landing))}

    def tick(cursor):
        return landing_sensor(dg.build_sensor_context(cursor=cursor, resources=resources))

    first = tick(None)
    days = sorted(p.name for p in (landing / "helpdesk").iterdir())
    tickets = landing / "helpdesk" / days[3] / "tickets.jsonl"
    # Re-delivered unchanged (a new modification time, the same bytes): nothing to do.
    tickets.write_bytes(tickets.read_bytes())
    os.utime(tickets, ns=(1, 1))
    touched = tick(first.cursor)
    assert touched.run_requests == []
    # Re-delivered without its first ticket: that day, and only that source, again.
    lines = tickets.read_text().splitlines(keepends=True)
    tickets.write_text("".join(lines[1:]))
    corrected = tick(touched.cursor)
    (request,) = corrected.run_requests
    assert request.run_key.startswith(f"helpdesk:{days[3]}..{days[3]}:")
    assert (request.tags[RANGE_TAGS[0]], request.tags[RANGE_TAGS[1]]) == (days[3], days[3])
    assert tick(corrected.cursor).run_requests == []
    # The same day corrected once more gets a run key of its own (Dagster never reruns a key).
    tickets.write_text("".join(lines[2:]))
    (again,) = tick(corrected.cursor).run_requests
    assert again.run_key != request.run_key
