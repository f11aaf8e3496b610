"""Helpdesk simulation: daily ticket intake, planted escalation labels, event buffers.

New tickets get their attributes and their whole lifecycle on the day they are created;
the events are filed into per-day buckets and written on the day they happen, so only
open tickets' future events (and pending re-contacts) are held in memory.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extracts.contracts import (
    ACTOR_TYPES,
    CATEGORIES,
    CHANNELS,
    PRIORITIES,
    TICKET_EVENT_TYPES,
    TICKET_STATUSES,
    TIERS,
)
from extracts.generator.clock import (
    DAY,
    ROUND_THE_CLOCK,
    SPREAD,
    STAFFED,
    ticket_seconds_in_day,
)
from extracts.generator.columns import format_timestamps, labels, labels_or_null
from extracts.generator.config import stream
from extracts.generator.lifecycle import (
    EVENT_FIELDS,
    EventLog,
    Intake,
    Tickets,
    polarity,
    sigmoid,
    simulate_lifecycles,
)
from extracts.generator.population import LatentChain, Population, categorical
from extracts.generator.text import CLOSER_POOL, CORE_POOL, OPENER_POOL, REPLY_POOL, SUBJECT_POOL
from extracts.generator.world import HOLIDAY_VOLUME, Surge, World, burst_onsets

# Channel mix (email, chat, phone, web, bot) by tier (standard, vip) and day (weekday,
# weekend): VIPs phone more; at weekends standard phone and chat lines are mostly closed.
_CHANNEL_SHARES = np.array(
    [
        [[0.31, 0.15, 0.23, 0.12, 0.19], [0.40, 0.08, 0.10, 0.17, 0.25]],
        [[0.26, 0.15, 0.36, 0.10, 0.13], [0.28, 0.15, 0.32, 0.11, 0.14]],
    ]
)
# Hour-of-day intake profile by tier and channel (see clock.py): standard live channels
# arrive in staffed hours, VIP live lines round the clock, email, web and bot spread out.
_INTAKE_PROFILE = np.array(
    [
        [SPREAD, STAFFED, STAFFED, SPREAD, SPREAD],
        [SPREAD, ROUND_THE_CLOCK, ROUND_THE_CLOCK, SPREAD, SPREAD],
    ]
)
# Category mix by channel (billing, technical, account_access, how_to, bug, integration,
# feature_request): the bot attracts simple questions, the phone urgent breakage.
_CATEGORY_SHARES = np.array(
    [
        [0.16, 0.21, 0.12, 0.16, 0.15, 0.11, 0.09],
        [0.13, 0.22, 0.14, 0.20, 0.14, 0.09, 0.08],
        [0.18, 0.26, 0.17, 0.11, 0.14, 0.09, 0.05],
        [0.15, 0.20, 0.12, 0.20, 0.14, 0.09, 0.10],
        [0.16, 0.13, 0.22, 0.30, 0.09, 0.04, 0.06],
    ]
)
_CATEGORY_SEVERITY = np.array([0.0, 0.35, 0.2, -0.5, 0.45, 0.3, -0.7])
# Cut points of the latent severity (standard normal plus the shifts below, which average
# about +0.3): low ~20%, normal ~50%, high ~22%, urgent ~8%.
_PRIORITY_CUTS = np.array([-0.84, 0.52, 1.41]) + 0.3
_BOT_FIRST_SHARE = np.array([0.0, 0.25, 0.0, 0.40, 1.0])
# Share of a day's tickets in each category, over the weekday channel mix of standard
# accounts: the base a category surge (incident, release) multiplies.
_CATEGORY_MIX = _CHANNEL_SHARES[0, 0] @ _CATEGORY_SHARES
# Organic volume by day type; bursts, incidents and release weeks come on top (about 15%
# of the tickets), so the total stays what the demo's time budget was sized for.
_WEEKDAY_VOLUME, _WEEKEND_VOLUME = 0.95, 0.37
_AT_RISK_BURST = 2.5  # extra ticket rate of an account at full strain

# Planted escalation model: logit P(escalated to tier 3 during the ticket's life), from
# what is known at creation.
_ESC_INTERCEPT = -4.0
_ESC_PRIORITY = np.array([-0.8, 0.0, 0.7, 1.5])
_ESC_CATEGORY = np.array([-0.3, 0.5, 0.0, -1.0, 0.7, 0.6, -0.8])
_ESC_CHANNEL = np.array([0.0, -0.1, 0.2, -0.1, -0.4])
_ESC_VIP = 0.45
_ESC_AT_RISK = 0.7
_ESC_SENTIMENT = -1.1
_TIER2_SHIFT = 1.15  # logit P(tier 2 or above) = logit P(tier 3) + shift


class Helpdesk:
    """Day-by-day ticket simulation with buffers of future events and re-contacts."""

    def __init__(
        self, pop: Population, seed: int, start_epoch: int, days: int, world: World
    ) -> None:
        self.pop = pop
        self.world = world
        self.burst_until = np.zeros(pop.n, dtype=np.int64)
        self.burst_multiplier = np.ones(pop.n)
        self.seed = seed
        self.start_epoch = start_epoch
        self.days = days
        self.next_ticket_id = 1_000_001
        self.next_event_id = 1
        self.future_events: dict[int, list[dict[str, np.ndarray]]] = {}
        self.future_intake: dict[int, list[Intake]] = {}
        self.actor_labels = pop.actor_labels
        contacts = pop.contacts
        self.requester_name = pc.binary_join_element_wise(
            contacts["first_name"].combine_chunks(), contacts["last_name"].combine_chunks(), " "
        )

    def new_tickets(self, day: int, weekend: bool, chain: LatentChain) -> Tickets:
        """Today's tickets (organic, surges and due re-contacts) with their lifecycles
        scheduled."""
        rng = stream(self.seed, "tickets", day)
        pop = self.pop
        volume = _WEEKEND_VOLUME if weekend else _WEEKDAY_VOLUME
        if day in self.world.holiday and not weekend:
            volume *= HOLIDAY_VOLUME
        self._start_bursts(day, chain)
        burst = np.where(self.burst_until > day, self.burst_multiplier, 1.0)
        rate = pop.ticket_rate * volume * (1.0 + _AT_RISK_BURST * chain.strain) * burst
        rate *= chain.alive
        counts = rng.poisson(rate)
        organic = self._intake(rng, np.repeat(np.arange(pop.n), counts), day, weekend)
        surges = [self._surge(rng, s, rate, day, weekend) for s in self.world.surges.get(day, [])]
        intake = Intake.concat([organic, *surges, *self.future_intake.pop(day, [])])
        intake = intake.take(np.flatnonzero(chain.alive[intake.account]))
        intake = intake.take(np.argsort(intake.created, kind="stable"))
        tickets = self._attributes(rng, intake, chain)
        self.next_ticket_id += len(tickets)
        outcome = simulate_lifecycles(stream(self.seed, "lifecycle", day), pop, tickets)
        self._schedule(outcome.events, tickets)
        self._schedule_recontacts(outcome.recontacts)
        return tickets

    def _start_bursts(self, day: int, chain: LatentChain) -> None:
        """Per-account bursts: a few days at a multiple of the account's own ticket rate."""
        eligible = chain.alive & (self.burst_until <= day)
        rows, length, multiplier = burst_onsets(
            stream(self.seed, "world", day), chain.at_risk, eligible, self.pop.ticket_rate
        )
        self.burst_until[rows] = day + length
        self.burst_multiplier[rows] = multiplier
        self.world.record_bursts(self.pop.account_id, rows, day, length, multiplier)

    def _intake(
        self,
        rng: np.random.Generator,
        account: np.ndarray,
        day: int,
        weekend: bool,
        category: int = -1,
        window: tuple[int, int] | None = None,
    ) -> Intake:
        """New tickets of `account` (one per entry): contact, channel and creation time by
        the channel's hour profile, or uniform within `window` (an outage)."""
        pop, n = self.pop, len(account)
        vip = pop.vip[account].astype(int)
        channel = categorical(rng, _CHANNEL_SHARES[vip, int(weekend)])
        if window is None:
            created = self.start_epoch + day * DAY
            created += ticket_seconds_in_day(rng, _INTAKE_PROFILE[vip, channel], weekend)
        else:
            created = rng.integers(*window, n)
        pick = (rng.random(n) * pop.contact_count[account]).astype(np.int64)
        return Intake(
            account=account,
            contact=pop.contact_start[account] + pick,
            created=created,
            channel=channel,
            category=np.full(n, category, dtype=np.int64),
            recontact=np.zeros(n, dtype=bool),
        )

    def _surge(
        self, rng: np.random.Generator, surge: Surge, rate: np.ndarray, day: int, weekend: bool
    ) -> Intake:
        """Extra tickets of the surge's category from the accounts it hits: the category's
        volume of the day is `multiplier` times its usual."""
        hit = self.world.exposure < surge.share
        boost = (surge.multiplier - 1.0) / surge.share
        extra = rate * _CATEGORY_MIX[surge.category] * boost * hit
        account = np.repeat(np.arange(self.pop.n), rng.poisson(extra))
        window = (surge.start, surge.end) if surge.share < 1.0 else None
        return self._intake(rng, account, day, weekend, surge.category, window)

    def _attributes(self, rng: np.random.Generator, intake: Intake, chain: LatentChain) -> Tickets:
        pop = self.pop
        n = len(intake)
        account = intake.account
        vip = pop.vip[account]
        at_risk = chain.at_risk[account]
        strain = chain.strain[account]
        channel = intake.channel
        category = np.where(
            intake.category >= 0, intake.category, categorical(rng, _CATEGORY_SHARES[channel])
        )
        severity = rng.normal(0, 1, n) + _CATEGORY_SEVERITY[category]
        severity += 0.4 * vip + 0.8 * strain + 0.5 * intake.recontact
        priority = np.searchsorted(_PRIORITY_CUTS, severity)
        frustration = rng.normal(-0.4, 0.7, n) + 1.3 * strain + 0.35 * (priority - 1)
        frustration += 0.9 * intake.recontact

        language = pop.contact_language[intake.contact]
        cell = language * len(CATEGORIES) + category
        subject = SUBJECT_POOL.pick(cell, rng.random(n))
        core = CORE_POOL.pick(cell, rng.random(n))
        tone = polarity(rng, frustration)
        closing_tone = np.where(rng.random(n) < 0.65, tone, 1)  # often a neutral sign-off
        opener = OPENER_POOL.pick(language * 3 + tone, rng.random(n))
        closer = CLOSER_POOL.pick(language * 3 + closing_tone, rng.random(n))
        pools = ((OPENER_POOL, opener), (CORE_POOL, core), (CLOSER_POOL, closer))
        score_sum = sum(pool.score_sum[i] for pool, i in pools)
        score_n = sum(pool.score_n[i] for pool, i in pools)
        sentiment = score_sum / np.maximum(score_n, 1)

        logit = (
            _ESC_INTERCEPT
            + _ESC_PRIORITY[priority]
            + _ESC_CATEGORY[category]
            + _ESC_CHANNEL[channel]
            + _ESC_VIP * vip
            + _ESC_AT_RISK * at_risk
            + _ESC_SENTIMENT * sentiment
        )
        p_tier3 = sigmoid(logit)
        u = rng.random(n)
        return Tickets(
            ticket_id=self.next_ticket_id + np.arange(n, dtype=np.int64),
            account=account,
            contact=intake.contact,
            language=language,
            created=intake.created,
            channel=channel,
            category=category,
            priority=priority,
            vip=vip,
            frustration=frustration,
            subject=subject,
            opener=opener,
            core=core,
            closer=closer,
            p_tier3=p_tier3,
            tier2=u < sigmoid(logit + _TIER2_SHIFT),
            tier3=u < p_tier3,
            bot_first=rng.random(n) < _BOT_FIRST_SHARE[channel],
        )

    def _schedule(self, events: EventLog, tickets: Tickets) -> None:
        """File events into per-day buckets; those after the generated period are dropped."""
        if not events.chunks:
            return
        cols = events.columns()
        cols["ticket_id"] = tickets.ticket_id[cols.pop("row")]
        day = (cols["time"] - self.start_epoch) // DAY
        order = np.argsort(day, kind="stable")
        day = day[order]
        bounds = np.flatnonzero(np.r_[True, day[1:] != day[:-1], True])
        for lo, hi in itertools.pairwise(bounds):
            if day[lo] >= self.days:
                break
            rows = order[lo:hi]
            bucket = self.future_events.setdefault(int(day[lo]), [])
            bucket.append({k: v[rows] for k, v in cols.items()})

    def _schedule_recontacts(self, intake: Intake) -> None:
        day = (intake.created - self.start_epoch) // DAY
        for d in np.unique(day[day < self.days]):
            self.future_intake.setdefault(int(d), []).append(intake.take(np.flatnonzero(day == d)))

    def tickets_table(self, t: Tickets) -> pa.Table:
        """tickets.jsonl content: attributes at creation, texts composed from the pools."""
        pop = self.pop
        contacts = pop.contacts
        contact = pa.array(t.contact)
        description = pc.binary_join_element_wise(
            OPENER_POOL.texts.take(pa.array(t.opener)),
            CORE_POOL.texts.take(pa.array(t.core)),
            CLOSER_POOL.texts.take(pa.array(t.closer)),
            " ",
        )
        return pa.table(
            {
                "ticket_id": pa.array(t.ticket_id, pa.int64()),
                "created_at": format_timestamps(t.created),
                "channel": labels(CHANNELS, t.channel),
                "category": labels(CATEGORIES, t.category),
                "priority": labels(PRIORITIES, t.priority),
                "tier": labels(TIERS, np.where(t.vip, 0, 1)),
                "account_id": pop.account_id.take(pa.array(t.account)),
                "requester_id": contacts["contact_id"].take(contact),
                "requester_email": contacts["email"].take(contact),
                "requester_name": self.requester_name.take(contact),
                "requester_phone": contacts["phone"].take(contact),
                "subject": SUBJECT_POOL.texts.take(pa.array(t.subject)),
                "description": description,
                # The native helpdesk has no schedules: every ticket follows its tier's clock.
                "schedule_id": pa.nulls(len(t.ticket_id), pa.string()),
            }
        )

    def events_table(self, day: int) -> pa.Table:
        """ticket_events.jsonl content for `day`: time order, fresh event ids."""
        chunks = self.future_events.pop(day, [])
        empty = np.zeros(0, dtype=np.int64)
        cols = {
            k: np.concatenate([empty, *(c[k] for c in chunks)])
            for k in ("ticket_id", *EVENT_FIELDS)
        }
        order = np.lexsort((cols["ticket_id"], cols["time"]))
        cols = {k: v[order] for k, v in cols.items()}
        n = len(order)
        event_id = self.next_event_id + np.arange(n, dtype=np.int64)
        self.next_event_id += n
        return pa.table(
            {
                "event_id": pa.array(event_id, pa.int64()),
                "ticket_id": pa.array(cols["ticket_id"], pa.int64()),
                "event_type": labels(TICKET_EVENT_TYPES, cols["type"]),
                "created_at": format_timestamps(cols["time"]),
                "actor_type": labels(ACTOR_TYPES, cols["actor_type"]),
                "actor_id": labels_or_null(self.actor_labels, cols["actor"]),
                "handle_seconds": pa.array(cols["handle"], pa.int32(), mask=cols["handle"] < 0),
                "to_tier": pa.array(cols["to_tier"], pa.int32(), mask=cols["to_tier"] == 0),
                "status": labels_or_null(pa.array(TICKET_STATUSES), cols["status"]),
                "csat_score": pa.array(cols["csat"], pa.int32(), mask=cols["csat"] == 0),
                "body": labels_or_null(REPLY_POOL.texts, cols["body"]),
            }
        )

    def truth_table(self, t: Tickets) -> pa.Table:
        return pa.table(
            {
                "ticket_id": pa.array(t.ticket_id, pa.int64()),
                "escalation_probability": pa.array(t.p_tier3, pa.float64()),
                "escalated_tier3": pa.array(t.tier3, pa.bool_()),
            }
        )
