"""Generator configuration, presets, run summary and the seeded random streams."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from extracts.contracts import FAULT_KINDS


@dataclass(frozen=True)
class GeneratorConfig:
    """What to simulate: `accounts` customers over `days` days from `start`."""

    accounts: int
    start: dt.date
    days: int
    seed: int = 42
    fault_rate: float = 0.0
    """Per-row probability of a row-level fault (file-level renames come on top)."""
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    outreach_effect: float = 0.0
    """The planted effect of outreach: a simulated CSM team contacts the accounts at risk at
    each quarter's start (minus the holdout), and their cancellation hazard and non-renewal
    probability are multiplied by 1 - effect until the quarter ends. 0: no team, no effect."""
    outreach_holdout: float = 0.2
    """The simulated team's holdout share (the rule of `extracts.actions.in_holdout`)."""

    def __post_init__(self) -> None:
        if self.accounts < 1 or self.days < 1:
            raise ValueError("accounts and days must be positive")
        if not 0.0 <= self.fault_rate <= 0.5:
            raise ValueError("fault_rate must be within [0, 0.5]")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        if not (0.0 <= self.outreach_effect <= 1.0 and 0.0 <= self.outreach_holdout < 1.0):
            raise ValueError("outreach_effect must be within [0, 1], outreach_holdout [0, 1)")
        unknown = set(self.fault_kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")


_START = dt.date(2026, 5, 1)

SCALES: dict[str, GeneratorConfig] = {
    "tiny": GeneratorConfig(accounts=120, start=_START, days=14, seed=7),
    "small": GeneratorConfig(accounts=300, start=_START, days=60),
    # Long enough for the churn model: 35 days of feature history, then about 130 days of
    # training rows, a 90-day purge gap and a 14-day test window, all with labels that have
    # matured for 90 days. Learning churn is limited by the churning accounts training sees
    # (docs/models.md): a year of history with fewer accounts gives training about 1.5x the
    # churning accounts of 1,500 accounts over 270 days for about the same rows to generate.
    # The demo plants an outreach effect (halved churn hazards) for the uplift to recover.
    "demo": GeneratorConfig(
        accounts=1_250, start=dt.date(2025, 11, 3), days=360, outreach_effect=0.5
    ),
    "large": GeneratorConfig(accounts=45_000, start=_START, days=180),
}


@dataclass
class GenerationSummary:
    """What a run wrote: physical records per landing table and faults per kind."""

    out_dir: Path
    days: int
    rows: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


_STREAMS = {
    "population": 1,
    "chain": 2,
    "plans": 3,
    "tickets": 4,
    "lifecycle": 5,
    "telemetry": 6,
    "faults": 7,
    "world": 8,
    "outreach": 9,
}


def stream(seed: int, name: str, *key: int) -> np.random.Generator:
    """An independent PCG64 stream per (seed, purpose, day, ...).

    Keying streams by purpose and day keeps each part of the simulation reproducible on
    its own: fault injection never shifts the clean data, and replaying the latent chain
    gives the same path.
    """
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, _STREAMS[name], *key]))
    )
