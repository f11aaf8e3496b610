"""Raw ingestion assets: one daily-partitioned asset per landing entity, and the landing sensor.

A backfill of any length is one run and one step per asset (`BackfillPolicy.single_run()`):
the partition window becomes a single SQL scan over the range's files.
"""

import json
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from config.settings import get_settings
from extracts.contracts import ENTITIES, LOADED_ENTITIES, Entity, landing_path
from extracts.ingest import ExtractFileError, load_range
from orchestration.partitions import daily_partitions, window_days
from orchestration.resources import WAREHOUSE_POOL, LandingResource


def _ingestion_asset(entity: Entity) -> dg.AssetsDefinition:
    @dg.asset(
        name=entity.asset_name,
        key_prefix=["raw"],
        group_name="raw",
        kinds={"duckdb", entity.format},
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        owners=["team:data-engineering"],
        description=(
            f"`{entity.source}` landing file `{entity.file_name}` loaded into "
            f"`raw.{entity.table}` under its contract; bad rows go to "
            f"`quarantine.{entity.table}` with file, line, field and reason."
        ),
        tags={"source": entity.source},
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: DuckDBResource, landing: LandingResource
    ) -> dg.MaterializeResult:
        first_day, last_day = window_days(context)
        try:
            with warehouse.get_connection() as con:
                settings = get_settings()
                result = load_range(
                    con,
                    entity,
                    landing.landing_dir,
                    first_day,
                    last_day,
                    settings.pii_key,
                    earliest=settings.earliest_event_date,
                    languages=settings.text_languages,
                )
        except ExtractFileError as exc:
            raise dg.Failure(
                description=f"Cannot load {entity.table} for {first_day}..{last_day}: {exc}",
                metadata={"file": exc.file, "problem": exc.problem},
            ) from exc
        context.log.info(
            f"{entity.table} {first_day}..{last_day}: read {result.rows_read}, "
            f"loaded {result.rows_loaded}, quarantined {result.rows_quarantined}"
        )
        return dg.MaterializeResult(
            metadata={
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined,
                "rows_late": result.rows_late,
                "quarantined_by_kind": result.quarantined_by_kind,
                "unexpected_columns": result.unexpected_columns,
                "files": len(result.files),
                "first_file": result.files[0] if result.files else "",
                "dagster/row_count": result.rows_loaded,
                "dagster/table_name": f"raw.{entity.table}",
            }
        )

    return _asset


ingestion_assets = [_ingestion_asset(entity) for entity in LOADED_ENTITIES]


def landed_days(landing_dir: str | Path, entity: Entity) -> list[str]:
    """Days whose landing file for `entity` exists, oldest first."""
    source_dir = Path(landing_dir) / entity.source
    if not source_dir.is_dir():
        return []
    return sorted(
        day.name
        for day in source_dir.iterdir()
        if Path(landing_path(str(landing_dir), entity, day.name)).is_file()
    )


@dg.sensor(
    asset_selection=dg.AssetSelection.groups("raw"),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingResource):
    """Requests one backfill-style run per source covering the days landed since last time.

    The cursor keeps the newest requested day per source, so sources landing at different
    paces never hide each other's days.
    """
    last_seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    requests = []
    for source in sorted({e.source for e in ENTITIES}):
        entities = [e for e in LOADED_ENTITIES if e.source == source]
        complete = set.intersection(
            *(set(landed_days(landing.landing_dir, e)) for e in entities if not e.optional)
        )
        new_days = sorted(d for d in complete if d > last_seen.get(source, ""))
        if not new_days:
            continue
        last_seen[source] = new_days[-1]
        requests.append(
            dg.RunRequest(
                run_key=f"{source}:{new_days[0]}..{new_days[-1]}",
                asset_selection=[dg.AssetKey(["raw", e.asset_name]) for e in entities],
                tags={
                    "dagster/asset_partition_range_start": new_days[0],
                    "dagster/asset_partition_range_end": new_days[-1],
                },
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(last_seen, sort_keys=True))
