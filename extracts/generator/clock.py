"""Time arithmetic on int64 epoch seconds, vectorised: intake profile and business hours.

Everything is UTC. Standard-tier agents work business hours, Mon-Fri 08:00-18:00 UTC;
VIP queues are staffed 24x7 (the SLA policy in docs/metrics.md).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

DAY = 86_400
HOUR = 3_600
MINUTE = 60

BUSINESS_OPEN = 8 * HOUR
BUSINESS_DAY = 10 * HOUR
_BUSINESS_WEEK = 5 * BUSINESS_DAY
_MONDAY = 4 * DAY  # 1970-01-05 was the first Monday after the epoch
_WEEK = 7 * DAY

# Relative intake by hour of day (UTC): quiet nights, a business-hours plateau. Telemetry
# sessions follow it; tickets follow the channel profiles below.
_WEEKDAY_HOURS = np.array(
    [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 12, 11, 12, 12, 11, 10, 8, 6, 5, 4, 4, 3, 2], float
)
_WEEKEND_HOURS = np.array(
    [2, 2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 5, 5, 5, 4, 4, 4, 3, 3, 2], float
)
# Ticket intake by profile: live channels (phone, chat) of standard accounts arrive while
# the lines are staffed (08-18 UTC weekdays) and hardly at all outside; email, web and the
# bot spread over the day and evening; VIP live lines are staffed 24x7, so their calls and
# chats follow the customers' own day across time zones.
STAFFED, SPREAD, ROUND_THE_CLOCK = 0, 1, 2
_TICKET_HOURS = {
    # Night, the staffed day (08-18 UTC), evening.
    (STAFFED, False): np.r_[
        [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 1.5],
        [11, 13, 13, 13, 12, 13, 13, 12, 11, 9],
        [1.5, 0.6, 0.4, 0.3, 0.3, 0.2],
    ],
    (STAFFED, True): np.r_[
        [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.6],
        [2, 3, 3, 3, 3, 3, 3, 3, 2, 2],
        [0.6, 0.4, 0.3, 0.3, 0.2, 0.2],
    ],
    (SPREAD, False): np.array(
        [3, 2, 2, 2, 2, 3, 5, 7, 9, 10, 10, 10, 9, 10, 10, 9, 9, 8, 8, 8, 7, 6, 5, 4], float
    ),
    (SPREAD, True): np.array(
        [3, 3, 2, 2, 2, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 5, 4, 3], float
    ),
    (ROUND_THE_CLOCK, False): np.array(
        [4, 3, 3, 3, 3, 4, 5, 7, 10, 11, 11, 11, 10, 11, 11, 10, 10, 9, 8, 8, 7, 6, 5, 5], float
    ),
    (ROUND_THE_CLOCK, True): np.array(
        [4, 3, 3, 3, 3, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 5, 5, 4], float
    ),
}
_CUMULATIVE_HOURS = {
    False: np.cumsum(_WEEKDAY_HOURS) / _WEEKDAY_HOURS.sum(),
    True: np.cumsum(_WEEKEND_HOURS) / _WEEKEND_HOURS.sum(),
}
_CUMULATIVE_TICKET_HOURS = np.stack(
    [
        np.stack(
            [np.cumsum(_TICKET_HOURS[p, w]) / _TICKET_HOURS[p, w].sum() for w in (False, True)]
        )
        for p in (STAFFED, SPREAD, ROUND_THE_CLOCK)
    ]
)


def epoch_seconds(day: dt.date) -> int:
    """Seconds since the Unix epoch at 00:00 UTC of `day`."""
    return (day - dt.date(1970, 1, 1)).days * DAY


def seconds_in_day(rng: np.random.Generator, n: int, weekend: bool) -> np.ndarray:
    """Offsets into a day following the hour-of-day intake profile."""
    hour = np.searchsorted(_CUMULATIVE_HOURS[weekend], rng.random(n), side="right")
    return np.minimum(hour, 23) * HOUR + rng.integers(0, HOUR, n)


def ticket_seconds_in_day(
    rng: np.random.Generator, profile: np.ndarray, weekend: bool
) -> np.ndarray:
    """Offsets into a day following each ticket's intake profile (STAFFED, SPREAD, ...)."""
    cumulative = _CUMULATIVE_TICKET_HOURS[profile, int(weekend)]
    hour = (rng.random((len(profile), 1)) > cumulative).sum(axis=1)
    return np.minimum(hour, 23) * HOUR + rng.integers(0, HOUR, len(profile))


def to_business(t: np.ndarray) -> np.ndarray:
    """Business seconds elapsed since the reference Monday (clock stops off hours)."""
    o = t - _MONDAY
    week, rem = np.divmod(o, _WEEK)
    dow, sod = np.divmod(rem, DAY)
    within = np.clip(sod - BUSINESS_OPEN, 0, BUSINESS_DAY)
    return week * _BUSINESS_WEEK + np.where(dow < 5, dow * BUSINESS_DAY + within, _BUSINESS_WEEK)


def from_business(b: np.ndarray) -> np.ndarray:
    """Inverse of `to_business`: the wall-clock second a business offset is reached."""
    week, rem = np.divmod(b, _BUSINESS_WEEK)
    dow, s = np.divmod(rem, BUSINESS_DAY)
    return _MONDAY + week * _WEEK + dow * DAY + BUSINESS_OPEN + s


def add_business(t: np.ndarray, delay: np.ndarray, business: np.ndarray) -> np.ndarray:
    """`t + delay`, counted in business time where `business` is set, at least 1 s later."""
    calendar = t + delay
    worked = from_business(to_business(t) + delay)
    return np.maximum(np.where(business, worked, calendar), t + 1)
