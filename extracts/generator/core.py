"""The day loop: simulate one day, write its landing files and truth rows, move on.

Memory stays bounded by the population (O(accounts)) plus open tickets' future events;
truth files are appended day by day with Parquet writers.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from extracts.contracts import (
    CRM_ACCOUNTS,
    CRM_CONTACTS,
    CRM_SUBSCRIPTIONS,
    ENTITIES,
    HELPDESK_TICKET_EVENTS,
    HELPDESK_TICKETS,
    TELEMETRY_EVENTS_ENTITY,
    landing_path,
)
from extracts.generator.clock import DAY, epoch_seconds
from extracts.generator.config import GenerationSummary, GeneratorConfig
from extracts.generator.crm import Crm
from extracts.generator.faults import MANIFEST_SCHEMA, FaultInjector
from extracts.generator.helpdesk import Helpdesk
from extracts.generator.outreach import OutreachTeam
from extracts.generator.population import (
    CHURN_REASONS,
    HORIZON,
    LatentChain,
    Population,
    build_population,
    churn_probability,
)
from extracts.generator.telemetry import Telemetry
from extracts.generator.world import World
from extracts.generator.writers import LandingWriter

ACCOUNT_DAILY_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("account_id", pa.string()),
        ("at_risk", pa.bool_()),
        ("churn_probability_90d", pa.float64()),
        ("churned_within_90d", pa.bool_()),
    ]
)
ACTIONS_FILE = "actions.sqlite"
"""The simulated CSM team's records, where the settings' default actions store is when the
generator writes to the data folder (`make demo`)."""
TICKET_TRUTH_SCHEMA = pa.schema(
    [
        ("ticket_id", pa.int64()),
        ("escalation_probability", pa.float64()),
        ("escalated_tier3", pa.bool_()),
    ]
)


def generate(
    config: GeneratorConfig,
    out_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationSummary:
    """Write `out_dir/landing/...` for every day of the period, and `out_dir/truth/`.

    Replaces whatever a previous run left there; the same config gives byte-identical
    files. `progress(done, total)` is called after each day with the days written so far.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    for sub in ("landing", "truth"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    (out_dir / "truth").mkdir(parents=True)

    pop = build_population(config)
    churn_day, reason = _churn_outcomes(pop, config)
    start_epoch = epoch_seconds(config.start)
    chain = LatentChain(pop, config)
    team = OutreachTeam(pop, config)
    world = World(config, pop.n)
    desk = Helpdesk(pop, config.seed, start_epoch, config.days, world)
    crm = Crm(pop, config.seed, start_epoch // DAY)
    telemetry = Telemetry(pop, config.seed, start_epoch, world)
    faults = FaultInjector(config)
    summary = GenerationSummary(out_dir=out_dir, days=config.days)
    summary.rows = dict.fromkeys((e.table for e in ENTITIES), 0)

    truth = out_dir / "truth"
    with (
        LandingWriter() as landing,
        pq.ParquetWriter(truth / "account_daily.parquet", ACCOUNT_DAILY_SCHEMA) as daily,
        pq.ParquetWriter(truth / "tickets.parquet", TICKET_TRUTH_SCHEMA) as ticket_truth,
        pq.ParquetWriter(truth / "faults.parquet", MANIFEST_SCHEMA) as manifest,
    ):
        for d in range(config.days):
            date = config.start + dt.timedelta(days=d)
            weekend = date.weekday() >= 5
            team.step(chain, d, record=True)
            daily.write_table(_account_day(pop, chain, churn_day, d, date, config.days))
            chain.settle(d)
            crm.step(d, chain)
            tickets = desk.new_tickets(d, weekend, chain)
            tables = {
                HELPDESK_TICKETS: desk.tickets_table(tickets),
                HELPDESK_TICKET_EVENTS: desk.events_table(d),
                CRM_ACCOUNTS: crm.accounts_table(chain),
                CRM_CONTACTS: crm.contacts_table(),
                CRM_SUBSCRIPTIONS: crm.subscriptions_table(chain),
                TELEMETRY_EVENTS_ENTITY: telemetry.day_table(d, weekend, chain),
            }
            chain.advance(d)
            for entity, table in tables.items():
                file = landing_path("landing", entity, date.isoformat())
                clean = faults.hold_back(entity, d, table)
                written = faults.inject(entity, d, date, file, clean)
                landing.write(entity, written, out_dir / file)
                summary.rows[entity.table] += written.num_rows
            if len(tickets):
                ticket_truth.write_table(desk.truth_table(tickets))
            found = faults.drain_manifest()
            if found.num_rows:
                manifest.write_table(found)
            if progress is not None:
                progress(d + 1, config.days)

    pq.write_table(world.table(), truth / "world_events.parquet")
    if config.outreach_effect > 0:
        pq.write_table(team.truth(churn_day), truth / "outreach.parquet")
    team.write_records(out_dir / ACTIONS_FILE)
    pq.write_table(
        _accounts_truth(pop, churn_day, reason, config.start), truth / "accounts.parquet"
    )
    summary.faults = dict(faults.counts)
    summary.seconds = time.perf_counter() - started
    return summary


def _churn_outcomes(pop: Population, config: GeneratorConfig) -> tuple[np.ndarray, np.ndarray]:
    """First pass over the latent chain (and the outreach that changes it): when (and why)
    each account churns."""
    chain = LatentChain(pop, config)
    team = OutreachTeam(pop, config)
    for d in range(config.days):
        team.step(chain, d)
        chain.settle(d)
        chain.advance(d)
    return chain.churn_day, chain.reason


def _account_day(
    pop: Population, chain: LatentChain, churn_day: np.ndarray, d: int, date: dt.date, days: int
) -> pa.Table:
    """Truth rows for accounts alive at the start of day `d` (call before `settle`)."""
    rows = np.flatnonzero(chain.alive)
    at_risk = chain.at_risk[rows]
    treated = np.maximum(chain.treated_until[rows] - d, 0)
    probability = churn_probability(
        pop, rows, at_risk, chain.renewal[rows], d, treated_days=treated, effect=chain.effect
    )
    churned = churn_day[rows]
    label = (churned >= d) & (churned < d + HORIZON)
    return pa.table(
        [
            pa.repeat(pa.scalar(date, pa.date32()), len(rows)),
            pop.account_id.take(pa.array(rows)),
            pa.array(at_risk),
            pa.array(probability, pa.float64()),
            pa.array(label, mask=np.full(len(rows), d + HORIZON > days)),
        ],
        schema=ACCOUNT_DAILY_SCHEMA,
    )


def _accounts_truth(
    pop: Population, churn_day: np.ndarray, reason: np.ndarray, start: dt.date
) -> pa.Table:
    start_day = (start - dt.date(1970, 1, 1)).days
    return pa.table(
        {
            "account_id": pop.account_id,
            "churn_date": pa.array(churn_day + start_day, pa.int32(), mask=churn_day < 0).cast(
                pa.date32()
            ),
            "reason": pa.array([CHURN_REASONS[r] for r in reason], pa.string()),
        }
    )
