"""The simulated customer-success team, and the outreach effect planted in the truth.

At the start of each quarter (and on the first generated day) the team lists the accounts at
risk, keeps the period's holdout off the list by the pipeline's own rule
(`extracts.actions.in_holdout`), and contacts the rest that day; contacted accounts' churn
hazards fall by `outreach_effect` until the quarter ends (`LatentChain.contact`). The team
records what it did in the actions store, as CSMs would from the dashboard.

The truth (`truth/outreach.parquet`) has, per listed account and period, the exact
probability of churning before the quarter ends without and with outreach; their mean
difference over the matured periods is the planted uplift that the pipeline's measurement
(churn in the holdout minus churn among the contacted) should recover.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from extracts import actions
from extracts.generator.config import GeneratorConfig, stream
from extracts.generator.population import LatentChain, Population, churn_probability

TEAM = actions.Reviewer(role="simulated_csm")
_OUTCOME_SHARES = {"reached": 0.7, "no_answer": 0.2, "declined": 0.1}
TRUTH_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("period", pa.string()),
        ("listed_on", pa.date32()),
        ("arm", pa.string()),
        ("churn_probability_untreated", pa.float64()),
        ("churn_probability_treated", pa.float64()),
        ("churned", pa.bool_()),
        ("mature", pa.bool_()),
    ]
)


class OutreachTeam:
    """Lists, holds out and contacts at each period start; replays identically on each pass."""

    def __init__(self, pop: Population, config: GeneratorConfig) -> None:
        self.pop = pop
        self.config = config
        self.ids = np.array(pop.account_id.to_pylist(), dtype=object)
        self.units: list[dict] = []

    def step(self, chain: LatentChain, d: int, record: bool = False) -> None:
        """On a period's first day (or the first day generated): list the accounts at risk
        and contact those not held out (call before `chain.settle(d)`)."""
        config = self.config
        date = config.start + dt.timedelta(days=d)
        if config.outreach_effect <= 0 or not (d == 0 or (date.day == 1 and date.month % 3 == 1)):
            return
        period = actions.period_of(date)
        until = d + (actions.period_end(period) - date).days
        rows = np.flatnonzero(chain.alive & chain.at_risk)
        held = np.array(actions.in_holdout(self.ids[rows], period, config.outreach_holdout), bool)
        chain.contact(rows[~held], until)
        if record:
            self.units.append(
                {
                    "period": period,
                    "day": d,
                    "until": until,
                    "rows": rows,
                    "held": held,
                    "p0": self._probability(chain, rows, d, until, 0),
                    "p1": self._probability(chain, rows, d, until, until - d),
                }
            )

    def _probability(
        self, chain: LatentChain, rows: np.ndarray, d: int, until: int, treated: int
    ) -> np.ndarray:
        return churn_probability(
            self.pop, rows, chain.at_risk[rows], chain.renewal[rows], d,
            horizon=until - d, treated_days=treated, effect=self.config.outreach_effect,
        )  # fmt: skip

    def truth(self, churn_day: np.ndarray) -> pa.Table:
        """One row per listed account and period: arm, both probabilities, the outcome."""
        tables = []
        for unit in self.units:
            rows, n = unit["rows"], len(unit["rows"])
            churned = (churn_day[rows] >= unit["day"]) & (churn_day[rows] < unit["until"])
            listed_on = self.config.start + dt.timedelta(days=unit["day"])
            tables.append(
                pa.table(
                    [
                        pa.array(self.ids[rows], pa.string()),
                        pa.array([unit["period"]] * n, pa.string()),
                        pa.array([listed_on] * n, pa.date32()),
                        pa.array(np.where(unit["held"], "holdout", "contacted"), pa.string()),
                        pa.array(unit["p0"]),
                        pa.array(unit["p1"]),
                        pa.array(churned),
                        pa.array(np.full(n, unit["until"] <= self.config.days)),
                    ],
                    schema=TRUTH_SCHEMA,
                )
            )
        return pa.concat_tables(tables) if tables else TRUTH_SCHEMA.empty_table()

    def write_records(self, store: Path) -> None:
        """What the team recorded: holdouts, and each contact with its outcome. Replaces the
        store: a new world's accounts and tickets are not the old one's."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)
        if not self.units:
            return
        outcomes = np.array(list(_OUTCOME_SHARES))
        shares = np.array(list(_OUTCOME_SHARES.values()))
        for unit in self.units:
            listed_on = self.config.start + dt.timedelta(days=unit["day"])
            rng = stream(self.config.seed, "outreach", unit["day"])
            contacted = unit["rows"][~unit["held"]]
            drawn = outcomes[
                np.minimum(
                    np.searchsorted(np.cumsum(shares), rng.random(len(contacted))), len(shares) - 1
                )
            ]
            minutes = rng.integers(9 * 60, 17 * 60, len(contacted))
            rows = [
                (account, unit["period"], listed_on.isoformat(), "contacted",
                 (dt.datetime.combine(listed_on, dt.time()) + dt.timedelta(minutes=int(m)))
                 .isoformat(timespec="seconds"), outcome)
                for account, m, outcome in zip(self.ids[contacted], minutes, drawn, strict=True)
            ]  # fmt: skip
            actions.insert_outreach(store, rows, TEAM)
            actions.record_holdout(store, self.ids[unit["rows"][unit["held"]]], listed_on, TEAM)


def planted_uplift(truth: pa.Table) -> float:
    """The uplift the measurement should find: the mean over matured listed accounts of
    P(churn untreated) - P(churn treated), both arms alike (the arms are random halves)."""
    frame = truth.to_pandas()
    mature = frame[frame["mature"]]
    return float(
        (mature["churn_probability_untreated"] - mature["churn_probability_treated"]).mean()
    )
