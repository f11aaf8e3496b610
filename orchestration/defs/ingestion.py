"""Raw ingestion assets: one daily-partitioned asset per landing entity, and the landing sensor.

A backfill of any length is one run and one step per asset (`BackfillPolicy.single_run()`):
the partition window becomes a single SQL scan over the range's files.
"""

import datetime as dt
import hashlib
import json
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from config.settings import MissingSecretError, get_settings
from extracts.contracts import ENTITIES, LOADED_ENTITIES, Entity, landing_path
from extracts.files import fingerprint
from extracts.ingest import ExtractFileError, load_range
from extracts.pii_key import KeyMismatchError
from orchestration.partitions import daily_partitions, window_days
from orchestration.resources import WAREHOUSE_POOL, LandingResource
from quality.results import Window, ingestion_outcome, write_results


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
        window = Window(first_day, last_day + dt.timedelta(days=1))
        with warehouse.get_connection() as con:
            settings = get_settings()
            try:
                result = load_range(
                    con,
                    entity,
                    landing.landing_dir,
                    first_day,
                    last_day,
                    settings.require_pii_key(),
                    earliest=settings.earliest_event_date,
                    languages=settings.text_languages,
                )
            except (MissingSecretError, KeyMismatchError) as exc:
                raise dg.Failure(description=f"{entity.table} not loaded: {exc}") from exc
            except ExtractFileError as exc:
                # Kept for `supportops quality`; `from None`: DuckDB's own error (which may
                # quote the row) is no part of what Dagster stores.
                refused = ingestion_outcome(entity.table, file=exc.file, problem=exc.problem)
                write_results(con, [refused], context.run.run_id, window)
                raise dg.Failure(
                    description=f"Cannot load {entity.table} for {first_day}..{last_day}: {exc}",
                    metadata={"file": exc.file, "problem": exc.problem},
                ) from None
            loaded = ingestion_outcome(
                entity.table,
                rows_read=result.rows_read,
                rows_quarantined=result.rows_quarantined,
                by_kind=result.quarantined_by_kind,
            )
            write_results(con, [loaded], context.run.run_id, window)
        context.log.info(
            f"{entity.table} {first_day}..{last_day}: read {result.rows_read}, "
            f"loaded {result.rows_loaded}, quarantined {result.rows_quarantined}"
            + (
                f", re-sent {result.rows_resent} keys another landing day holds (the newest "
                "landing wins; the next build is a full one)"
                if result.rows_resent
                else ""
            )
        )
        return dg.MaterializeResult(
            metadata={
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined,
                "rows_late": result.rows_late,
                "rows_resent": result.rows_resent,
                # changes-only snapshots: the versions behind the range's daily rows
                **({"rows_stored": result.rows_stored} if result.rows_stored is not None else {}),
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


def _day_signature(landing_dir: str, entities: list[Entity], day: str) -> str:
    """Size and modification time of a day's files: cheap to read, changes when a file is
    re-delivered (then the content fingerprint says whether it really changed)."""
    parts = []
    for entity in entities:
        path = Path(landing_path(landing_dir, entity, day))
        if path.is_file():
            stat = path.stat()
            parts.append(f"{entity.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return ",".join(parts)


def _day_fingerprint(landing_dir: str, entities: list[Entity], day: str) -> str:
    files = [Path(landing_path(landing_dir, e, day)) for e in entities]
    joined = ",".join(f"{f.name}:{fingerprint(f)}" for f in files if f.is_file())
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


@dg.sensor(
    asset_selection=dg.AssetSelection.groups("raw"),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingResource):
    """Requests one backfill-style run per source covering the days landed since last time,
    and the days re-delivered with other content (corrections) since they were requested.

    The cursor keeps, per source, the newest requested day (so sources landing at different
    paces never hide each other's days) and each day's files' signature (size, mtime) and
    content fingerprint. A day whose signature moved is fingerprinted again; a new
    fingerprint, or an old day that was not there before, is requested again. Ingestion
    and the warehouse build then treat it as a correction (a full build).
    """
    cursor = json.loads(context.cursor) if context.cursor else {}
    if cursor and "newest" not in cursor:  # the cursor before fingerprints: newest days only
        cursor = {"newest": cursor, "days": {}}
    newest: dict[str, str] = cursor.get("newest", {})
    known: dict[str, dict[str, list[str]]] = cursor.get("days", {})
    requests = []
    for source in sorted({e.source for e in ENTITIES}):
        entities = [e for e in LOADED_ENTITIES if e.source == source]
        complete = set.intersection(
            *(set(landed_days(landing.landing_dir, e)) for e in entities if not e.optional)
        )
        seen = known.get(source)
        days: dict[str, list[str]] = {}
        wanted = []
        for day in sorted(complete):
            signature = _day_signature(landing.landing_dir, entities, day)
            before = (seen or {}).get(day)
            if before and before[0] == signature:
                days[day] = before
                continue
            content = _day_fingerprint(landing.landing_dir, entities, day)
            days[day] = [signature, content]
            is_new = day > newest.get(source, "")
            # An old day is wanted again when its content changed, or when it arrived after
            # newer days had been requested (never when the cursor has no fingerprints yet).
            changed = seen is not None and (before is None or before[1] != content)
            if is_new or changed:
                wanted.append(day)
        known[source] = days
        if not wanted:
            continue
        newest[source] = max(newest.get(source, ""), wanted[-1])
        version = hashlib.sha256(",".join(days[d][1] for d in wanted).encode()).hexdigest()[:12]
        requests.append(
            dg.RunRequest(
                run_key=f"{source}:{wanted[0]}..{wanted[-1]}:{version}",
                asset_selection=[dg.AssetKey(["raw", e.asset_name]) for e in entities],
                tags={
                    "dagster/asset_partition_range_start": wanted[0],
                    "dagster/asset_partition_range_end": wanted[-1],
                },
            )
        )
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps({"newest": newest, "days": known}, sort_keys=True),
    )
