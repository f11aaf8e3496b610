"""Things that happen to the whole support floor: holidays, release weeks, product incidents,
and per-account ticket bursts; every one is written to truth/world_events.parquet.

Real ticket volume is not a smooth Poisson stream: a product outage floods one category
from many accounts within hours (and shows in the product's error telemetry), a release
brings a week of how-to and bug questions, a public holiday empties the queue, and single
accounts have bad weeks of their own. Alerts and dashboards are checked against this list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from extracts.contracts import CATEGORIES
from extracts.generator.clock import DAY, HOUR
from extracts.generator.config import GeneratorConfig, stream

# Volume on a weekday public holiday, relative to an ordinary weekday (a weekend is about
# 0.4): the customer base spans regions that do not all observe it, and the daily volume
# gate (0.5x its trailing median) must not stop on a holiday.
HOLIDAY_VOLUME = 0.7
_INCIDENT_CATEGORIES = tuple(
    CATEGORIES.index(c) for c in ("technical", "integration", "bug", "account_access")
)
_INCIDENTS_PER_DAY = 1 / 30
_RELEASE_EVERY_DAYS = 28
# A release week's extra share of questions by category (how-to, bug and feature requests).
RELEASE_SURGE = {"how_to": 1.35, "bug": 1.6, "feature_request": 1.4}
# Per-account bursts: daily onset hazard (healthy, at risk), length and rate multiplier.
_BURST_ONSET = np.array([0.001, 0.015])
_BURST_DAYS = (3, 10)
_BURST_MULTIPLIER = (3.0, 6.0)
# A burst brings at least this many tickets a day, whatever the account's size: a small
# customer's bad week is a handful of tickets, not a fraction of one.
_BURST_FLOOR_PER_DAY = 0.4

WORLD_EVENTS_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("start_at", pa.timestamp("s", tz="UTC")),
        ("end_at", pa.timestamp("s", tz="UTC")),
        ("category", pa.string()),
        ("account_id", pa.string()),
        ("accounts_affected", pa.int64()),
        ("volume_multiplier", pa.float64()),
        ("name", pa.string()),
    ]
)

# The same columns with times as epoch seconds, while rows are collected.
_RAW_SCHEMA = pa.schema(
    [
        f.with_type(pa.int64()) if f.name in ("start_at", "end_at") else f
        for f in WORLD_EVENTS_SCHEMA
    ]
)


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (the anonymous Meeus/Jones/Butcher algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th `weekday` (0 Monday) of a month; n = -1 is the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def holidays(year: int) -> dict[dt.date, str]:
    """Public holidays most of the customer base (North America and Europe) observes."""
    easter = _easter(year)
    return {
        dt.date(year, 1, 1): "New Year's Day",
        easter - dt.timedelta(days=2): "Good Friday",
        easter + dt.timedelta(days=1): "Easter Monday",
        _nth_weekday(year, 5, 0, -1): "Memorial Day",
        dt.date(year, 7, 4): "Independence Day",
        _nth_weekday(year, 9, 0, 1): "Labor Day",
        _nth_weekday(year, 11, 3, 4): "Thanksgiving",
        dt.date(year, 12, 25): "Christmas Day",
        dt.date(year, 12, 26): "Boxing Day",
    }


@dataclass(frozen=True)
class Surge:
    """Extra tickets of one category from the accounts below `share`, within a time window."""

    category: int
    multiplier: float
    share: float
    """Accounts whose `World.exposure` is below it are affected."""
    start: int
    end: int
    """Window in epoch seconds. An incident's tickets are spread uniformly over it; a
    release week's follow the usual hours of each day."""


class World:
    """The calendar of events, drawn up front from the "world" stream."""

    def __init__(self, config: GeneratorConfig, n_accounts: int) -> None:
        rng = stream(config.seed, "world")
        self.start = config.start
        self.days = config.days
        self.start_epoch = (config.start - dt.date(1970, 1, 1)).days * DAY
        self.exposure = rng.random(n_accounts)
        """Each account's place in line for an incident: the first `share` are affected."""
        dates = [config.start + dt.timedelta(days=d) for d in range(config.days)]
        names = {
            date: name for year in {d.year for d in dates} for date, name in holidays(year).items()
        }
        self.holiday = {d: names[date] for d, date in enumerate(dates) if date in names}
        self.surges: dict[int, list[Surge]] = {}
        self.rows: list[dict] = []
        """Calendar events (holidays, releases, incidents): a few dozen."""
        self.bursts: list[pa.Table] = []
        for d, name in self.holiday.items():
            self._record("holiday", d * DAY, (d + 1) * DAY, name=name, multiplier=HOLIDAY_VOLUME)

        first_release = int(rng.integers(0, 14))
        for d in range(first_release, config.days, _RELEASE_EVERY_DAYS):
            d += (1 - dates[d].weekday()) % 7  # releases ship on a Tuesday
            if d >= config.days:
                break
            end = min(d + 7, config.days)
            for category, multiplier in RELEASE_SURGE.items():
                surge = Surge(
                    CATEGORIES.index(category),
                    multiplier,
                    1.0,
                    self.start_epoch + d * DAY,
                    self.start_epoch + end * DAY,
                )
                for day in range(d, end):
                    self._add(day, surge)
            surges = ", ".join(f"{c} x{m}" for c, m in RELEASE_SURGE.items())
            name = f"release {dates[d]:%Y-%m-%d} ({surges})"
            self._record("release_week", d * DAY, end * DAY, name=name)

        weekdays = [d for d, date in enumerate(dates) if date.weekday() < 5]
        count = rng.poisson(config.days * _INCIDENTS_PER_DAY)
        for d in np.sort(rng.choice(weekdays, min(count, len(weekdays)), replace=False)):
            category = int(rng.choice(_INCIDENT_CATEGORIES))
            start = int(d) * DAY + int(rng.integers(7, 16)) * HOUR
            end = start + int(rng.integers(2, 7)) * HOUR
            surge = Surge(
                category,
                float(rng.uniform(2.5, 5.0)),
                float(rng.uniform(0.35, 0.8)),
                self.start_epoch + start,
                self.start_epoch + end,
            )
            self._add(int(d), surge)
            self._record(
                "incident",
                start,
                end,
                category=CATEGORIES[category],
                accounts=int((self.exposure < surge.share).sum()),
                multiplier=surge.multiplier,
                name=f"outage: {CATEGORIES[category]}",
            )

    def _add(self, day: int, surge: Surge) -> None:
        self.surges.setdefault(day, []).append(surge)

    def _record(
        self,
        kind: str,
        start: int,
        end: int,
        *,
        category: str | None = None,
        account_id: str | None = None,
        accounts: int | None = None,
        multiplier: float | None = None,
        name: str | None = None,
    ) -> None:
        self.rows.append(
            {
                "kind": kind,
                "start_at": self.start_epoch + start,
                "end_at": self.start_epoch + end,
                "category": category,
                "account_id": account_id,
                "accounts_affected": accounts,
                "volume_multiplier": multiplier,
                "name": name,
            }
        )

    def incidents(self, day: int) -> list[Surge]:
        """The day's product incidents (surges that hit only part of the accounts)."""
        return [s for s in self.surges.get(day, []) if s.share < 1.0]

    def record_bursts(
        self,
        account_id: pa.Array,
        rows: np.ndarray,
        day: int,
        days: np.ndarray,
        multiplier: np.ndarray,
    ) -> None:
        """Bursts that start today, one truth row each (kept as columns until `table`)."""
        start = self.start_epoch + day * DAY
        self.bursts.append(
            pa.table(
                {
                    "kind": pa.array(["account_burst"] * len(rows), pa.string()),
                    "start_at": pa.array(np.full(len(rows), start), pa.int64()),
                    "end_at": pa.array(start + days * DAY, pa.int64()),
                    "category": pa.nulls(len(rows), pa.string()),
                    "account_id": account_id.take(pa.array(rows)),
                    "accounts_affected": pa.array(np.ones(len(rows), np.int64)),
                    "volume_multiplier": pa.array(multiplier, pa.float64()),
                    "name": pa.nulls(len(rows), pa.string()),
                }
            )
        )

    def table(self) -> pa.Table:
        """Every event of the period, in start order."""
        columns = {f.name: [r[f.name] for r in self.rows] for f in WORLD_EVENTS_SCHEMA}
        calendar = pa.table(columns, schema=_RAW_SCHEMA)
        events = pa.concat_tables([calendar, *self.bursts]).sort_by(
            [("start_at", "ascending"), ("kind", "ascending"), ("account_id", "ascending")]
        )
        for column in ("start_at", "end_at"):
            index = events.schema.get_field_index(column)
            stamps = events[column].cast(pa.timestamp("s", "UTC"))
            events = events.set_column(index, column, stamps)
        return events.cast(WORLD_EVENTS_SCHEMA)


def burst_onsets(
    rng: np.random.Generator, at_risk: np.ndarray, eligible: np.ndarray, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accounts whose own burst starts today (at-risk ones more often), with its length in
    days and its multiplier on the account's own ticket `rate` (tickets a day)."""
    starts = np.flatnonzero(
        eligible & (rng.random(len(at_risk)) < _BURST_ONSET[at_risk.astype(int)])
    )
    length = rng.integers(_BURST_DAYS[0], _BURST_DAYS[1] + 1, len(starts))
    multiplier = rng.uniform(*_BURST_MULTIPLIER, len(starts))
    multiplier = np.round(np.maximum(multiplier, _BURST_FLOOR_PER_DAY / rate[starts]), 2)
    return starts, length, multiplier
