"""Product telemetry: Segment-like track events per day, driven by account engagement.

Each product user is active on a day with a probability scaled by the account's
engagement, so logins, active users and feature breadth decline while an account is at
risk (the weeks before most churns), and errors rise with its strain.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from extracts.contracts import PLATFORMS, TELEMETRY_EVENTS
from extracts.generator.clock import DAY, seconds_in_day
from extracts.generator.columns import labels_or_null
from extracts.generator.config import stream
from extracts.generator.population import LatentChain, Population, categorical, pseudonymous_ids
from extracts.generator.world import World

FEATURES = (
    "dashboards",
    "reports",
    "search",
    "tickets",
    "automations",
    "integrations",
    "analytics",
    "exports",
    "user_admin",
    "billing",
    "api_keys",
    "workflows",
    "alerts",
    "sso",
)
ERROR_CODES = ("E401", "E403", "E404", "E429", "E500", "E502", "E504")
_ERROR_SHARES = np.array([0.15, 0.1, 0.15, 0.2, 0.25, 0.08, 0.07])
# Non-login events: page_view, feature_used, report_exported, invite_sent, integration_synced.
_OTHER_EVENTS = np.array([TELEMETRY_EVENTS.index(e) for e in TELEMETRY_EVENTS[1:6]])
_OTHER_SHARES = np.array([0.45, 0.35, 0.08, 0.03, 0.09])
_LOGIN, _INVITE, _SYNC, _ERROR = (
    TELEMETRY_EVENTS.index(e) for e in ("login", "invite_sent", "integration_synced", "error")
)
_ACTIVE_WEEKDAY, _ACTIVE_WEEKEND, _ACTIVE_HOLIDAY = 0.12, 0.035, 0.08
# During an outage, users of the accounts it hits see 1 + (the outage's ticket multiplier)
# times their usual errors that day, mostly server-side (5xx) inside the outage window:
# plain to see on the day, small against an account's errors over a week, so the errors a
# churning account's strain brings stay the signal.
_OUTAGE_CODES = np.array([ERROR_CODES.index(c) for c in ("E500", "E502", "E504")])
_SESSION_SECONDS = 45 * 60
_API = PLATFORMS.index("api")

SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("account_id", pa.string()),
        ("user_id", pa.string()),
        ("event", pa.string()),
        ("feature", pa.string()),
        ("platform", pa.string()),
        ("error_code", pa.string()),
    ]
)


class Telemetry:
    def __init__(self, pop: Population, seed: int, start_epoch: int, world: World) -> None:
        self.pop = pop
        self.world = world
        self.seed = seed
        self.start_epoch = start_epoch
        self.next_message = 0

    def day_table(self, day: int, weekend: bool, chain: LatentChain) -> pa.Table:
        """events.parquet content for `day`, in timestamp order."""
        pop, rng = self.pop, stream(self.seed, "telemetry", day)
        account_of = pop.user_account
        base = _ACTIVE_WEEKEND if weekend else _ACTIVE_WEEKDAY
        if day in self.world.holiday and not weekend:
            base = _ACTIVE_HOLIDAY
        engagement = chain.engagement
        p_active = np.minimum(0.95, base * engagement[account_of] * pop.user_weight)
        p_active *= chain.alive[account_of]
        active = np.flatnonzero(rng.random(len(account_of)) < p_active)
        account = account_of[active]
        n_other = rng.poisson(pop.usage_events[account] * (0.4 + 0.6 * engagement[account]))
        error_rate = pop.error_rate[account] * (1.0 + 3.0 * chain.strain[account])
        outages = self.world.incidents(day)
        for outage in outages:
            hit = self.world.exposure[account] < outage.share
            error_rate = error_rate * np.where(hit, 1.0 + outage.multiplier, 1.0)
        n_error = rng.poisson(error_rate)
        per_user = 1 + n_other + n_error
        n = int(per_user.sum())

        user = np.repeat(active, per_user)
        account = account_of[user]
        position = np.arange(n) - np.repeat(np.cumsum(per_user) - per_user, per_user)
        other = categorical(rng, np.broadcast_to(_OTHER_SHARES, (n, len(_OTHER_SHARES))))
        event = np.where(
            position == 0,
            _LOGIN,
            np.where(position <= np.repeat(n_other, per_user), _OTHER_EVENTS[other], _ERROR),
        )

        day_start = self.start_epoch + day * DAY
        session = np.repeat(day_start + seconds_in_day(rng, len(active), weekend), per_user)
        offset = np.where(position == 0, 0, rng.integers(1, _SESSION_SECONDS, n))
        seconds = np.minimum(session + offset, day_start + DAY - 1)
        errors = event == _ERROR
        error_code = np.where(
            errors, categorical(rng, np.broadcast_to(_ERROR_SHARES, (n, len(ERROR_CODES)))), -1
        )
        for outage in outages:
            hit = errors & (self.world.exposure[account] < outage.share) & (rng.random(n) < 0.85)
            seconds = np.where(hit, rng.integers(outage.start, outage.end, n), seconds)
            error_code = np.where(hit, rng.choice(_OUTAGE_CODES, n), error_code)
        micros = seconds * 1_000_000 + rng.integers(0, 1_000_000, n)

        breadth = np.maximum(2, np.round(pop.breadth[account] * (0.5 + 0.5 * engagement[account])))
        feature = (breadth * rng.random(n) ** 1.6).astype(np.int64)
        feature = np.select(
            [event == _LOGIN, event == _INVITE, event == _SYNC],
            [-1, FEATURES.index("user_admin"), FEATURES.index("integrations")],
            feature,
        )
        platform = np.where(event == _SYNC, _API, pop.user_platform[user])

        order = np.argsort(micros, kind="stable")
        message = pseudonymous_ids("msg_", self.next_message + np.arange(n), self.seed)
        self.next_message += n
        return pa.table(
            [
                message,
                pa.array(micros[order], pa.timestamp("us", tz="UTC")),
                pop.account_id.take(pa.array(account[order])),
                pop.user_id.take(pa.array(user[order])),
                pa.array(TELEMETRY_EVENTS).take(pa.array(event[order])),
                labels_or_null(FEATURES, feature[order]),
                pa.array(PLATFORMS).take(pa.array(platform[order])),
                labels_or_null(ERROR_CODES, error_code[order]),
            ],
            schema=SCHEMA,
        )
