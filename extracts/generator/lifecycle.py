"""Ticket lifecycles: every event of a day's new tickets, generated in one vectorised pass.

The path of a ticket is decided at creation: bot conversation (solved by the bot, or
handed to an agent), agent rounds with escalations matching the planted tier-2/tier-3
labels, transfers between agents, waits on the customer (pending) and on engineering (on
hold), reopen, CSAT, close, and possibly a re-contact days later. Agent time is carved out
of elapsed time: a reply's handle time always fits after the ticket's previous event.
Stages loop over a handful of reply rounds; within a stage everything is numpy over all
tickets at once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from extracts.contracts import ACTOR_TYPES, CHANNELS, TICKET_EVENT_TYPES, TICKET_STATUSES
from extracts.generator.clock import DAY, HOUR, MINUTE, add_business
from extracts.generator.population import Population, categorical
from extracts.generator.text import REPLY_POOL

EMAIL, CHAT, PHONE, WEB, BOT = (CHANNELS.index(c) for c in ("email", "chat", "phone", "web", "bot"))
_EVENT = {name: code for code, name in enumerate(TICKET_EVENT_TYPES)}
_ACTOR = {name: code for code, name in enumerate(ACTOR_TYPES)}
_STATUS = {name: code for code, name in enumerate(TICKET_STATUSES)}

_RECONTACT_CHANNEL_SHARES = np.array([0.45, 0.20, 0.35, 0.0, 0.0])
_BOT_SOLVE_CATEGORY = np.array([0.2, -0.6, 0.7, 1.0, -1.2, -1.0, 0.3])
_BOT_SOLVE_PRIORITY = np.array([0.3, 0.0, -0.6, -1.5])
# Agent time per ticket (seconds) by channel (email, chat, phone, web, bot hand-off) before
# category and escalation effects; tuned so AHT lands near phone 6.5, chat 12, email 5 min.
_HANDLE_BASE = np.array([270.0, 660.0, 355.0, 270.0, 560.0])
_HANDLE_CATEGORY = np.array([0.9, 1.15, 0.85, 0.85, 1.2, 1.25, 0.75])
# Share of solved tickets whose requester answers the survey, by channel (email, chat,
# phone, web, bot): in-conversation surveys (chat, bot) are answered most, post-call ones
# least (docs/realism.md gives the sources).
CSAT_RESPONSE_RATE = np.array([0.20, 0.33, 0.12, 0.22, 0.30])
# Reopen (the requester answers a solved ticket) by channel and category, on the logit
# scale: asynchronous answers and breakage (bugs, integrations) come back more often.
_REOPEN_CHANNEL = np.array([0.3, -0.3, -0.6, 0.35, 0.0])
_REOPEN_CATEGORY = np.array([-0.4, 0.3, -0.3, -0.5, 0.65, 0.5, -0.7])
# Probability that a reply round starts with the ticket pending on the requester, by channel.
_PENDING_SHARE = np.array([0.45, 0.15, 0.35, 0.45, 0.0])
# Reassignments (transfers between agents or groups of the same tier): negative binomial
# counts with a long tail; breakage and escalated tickets move around more. The cap keeps
# one ticket's transfers from doubling a small world's events of a day (the volume gate).
_TRANSFER_MEAN = 0.6
_TRANSFER_SHAPE = 0.45
_TRANSFER_CATEGORY = np.array([-0.2, 0.25, -0.1, -0.4, 0.3, 0.45, -0.3])
_TRANSFER_CAP = 12
# The longest a ticket waits pending on the requester or on hold in one stretch.
_LONGEST_WAIT = 28 * DAY
EVENT_FIELDS = (
    "time",
    "type",
    "actor_type",
    "actor",
    "handle",
    "to_tier",
    "status",
    "csat",
    "body",
)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _secs(x: np.ndarray) -> np.ndarray:
    """Durations as whole seconds, at least one: events of a ticket never share a second."""
    return np.maximum(1, np.round(x)).astype(np.int64)


@dataclass
class Intake:
    """Tickets arriving: who and when; re-contacts also come with channel and category."""

    account: np.ndarray
    contact: np.ndarray
    created: np.ndarray
    channel: np.ndarray
    category: np.ndarray
    recontact: np.ndarray

    @staticmethod
    def concat(parts: list[Intake]) -> Intake:
        return Intake(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Intake))
        )

    def take(self, rows: np.ndarray) -> Intake:
        return Intake(*(getattr(self, f.name)[rows] for f in fields(Intake)))

    def __len__(self) -> int:
        return len(self.account)


@dataclass
class Tickets:
    """A day's new tickets with everything the lifecycle and the files need."""

    ticket_id: np.ndarray
    account: np.ndarray
    contact: np.ndarray
    language: np.ndarray
    created: np.ndarray
    channel: np.ndarray
    category: np.ndarray
    priority: np.ndarray
    vip: np.ndarray
    frustration: np.ndarray
    subject: np.ndarray
    opener: np.ndarray
    core: np.ndarray
    closer: np.ndarray
    p_tier3: np.ndarray
    tier2: np.ndarray
    """Escalated to tier 2 or above during its life (implied by `tier3`)."""
    tier3: np.ndarray
    bot_first: np.ndarray

    def __len__(self) -> int:
        return len(self.ticket_id)


class EventLog:
    """Lifecycle events as column chunks; `row` indexes the day's `Tickets`.

    Actor codes index `Population.actor_labels` (contacts, agents, bot); -1 is null, as
    are handle/status/body -1 and to_tier/csat 0.
    """

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []

    def add(
        self,
        rows: np.ndarray,
        time: np.ndarray,
        kind: str,
        actor_type: str,
        actor: np.ndarray | int = -1,
        *,
        handle: np.ndarray | int = -1,
        to_tier: np.ndarray | int = 0,
        status: str | None = None,
        csat: np.ndarray | int = 0,
        body: np.ndarray | int = -1,
    ) -> None:
        n = len(rows)
        if n == 0:
            return

        def column(value: np.ndarray | int) -> np.ndarray:
            return np.full(n, value, dtype=np.int64) if np.isscalar(value) else value

        self.chunks.append(
            {
                "row": rows,
                "time": time,
                "type": column(_EVENT[kind]),
                "actor_type": column(_ACTOR[actor_type]),
                "actor": column(actor),
                "handle": column(handle),
                "to_tier": column(to_tier),
                "status": column(-1 if status is None else _STATUS[status]),
                "csat": column(csat),
                "body": column(body),
            }
        )

    def columns(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([c[k] for c in self.chunks]) for k in self.chunks[0]}


def polarity(rng: np.random.Generator, frustration: np.ndarray) -> np.ndarray:
    """0 negative, 1 neutral, 2 positive: frustrated requesters write negatively."""
    p_negative = sigmoid(2.2 * (frustration - 0.45))
    p_positive = sigmoid(2.2 * (-frustration - 0.55))
    u = rng.random(len(frustration))
    return np.where(u < p_negative, 0, np.where(u < p_negative + p_positive, 2, 1))


@dataclass
class Outcome:
    events: EventLog
    recontacts: Intake


def simulate_lifecycles(rng: np.random.Generator, pop: Population, t: Tickets) -> Outcome:
    """All events of `t` (a day's new tickets) and the re-contacts they will cause."""
    return _Lifecycle(rng, pop, t).run()


class _Lifecycle:
    """Per-ticket outcome arrays shared by the stages (bot, agent path, survey, close)."""

    def __init__(self, rng: np.random.Generator, pop: Population, t: Tickets) -> None:
        self.rng = rng
        self.pop = pop
        self.t = t
        self.ev = EventLog()
        n = len(t)
        self.final_solve = np.zeros(n, dtype=np.int64)
        self.first_wait = np.zeros(n, dtype=np.int64)
        self.automated = np.zeros(n, dtype=bool)
        self.reopened = np.zeros(n, dtype=bool)

    def bodies(self, rows: np.ndarray, shift: float) -> np.ndarray:
        """Requester reply texts in the ticket's language; `shift` adds frustration."""
        t = self.t
        tone = polarity(self.rng, t.frustration[rows] + shift)
        return REPLY_POOL.pick(t.language[rows] * 3 + tone, self.rng.random(len(rows)))

    def run(self) -> Outcome:
        t, ev, rng = self.t, self.ev, self.rng
        n = len(t)
        everyone = np.arange(n)
        ev.add(everyone, t.created, "created", "requester", t.contact, status="new")
        handed, handed_at, bounced, bounced_at = self.bot()
        direct = np.flatnonzero(~t.bot_first)
        rows = np.concatenate([direct, handed, bounced])
        start = np.concatenate([t.created[direct], handed_at, bounced_at])
        # Email, web and reopened-by-reply tickets wait in an asynchronous queue; chat,
        # phone and bot hand-offs are live.
        asynchronous = np.concatenate(
            [
                np.isin(t.channel[direct], (EMAIL, WEB)),
                t.channel[handed] == WEB,
                np.ones(len(bounced), bool),
            ]
        )
        may_reopen = np.concatenate(
            [np.ones(len(direct) + len(handed), bool), np.zeros(len(bounced), bool)]
        )
        _AgentPath(self, rows, start, asynchronous, may_reopen).run()

        back = rng.random(n) < np.where(
            self.automated,
            sigmoid(-2.3 + 0.9 * t.frustration),
            sigmoid(-3.6 + 0.6 * t.frustration),
        )
        self.survey(back)
        closed = self.final_solve + 4 * DAY + _secs(rng.uniform(0, 8 * HOUR, n))
        ev.add(everyone, closed, "closed", "system", status="closed")
        return Outcome(ev, self.recontacts(np.flatnonzero(back)))

    def bot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Bot conversations; returns hand-offs and bounced bot solves with their times."""
        t, ev, rng = self.t, self.ev, self.rng
        bot_code = self.pop.bot_code
        rows = np.flatnonzero(t.bot_first)
        clock = t.created[rows].copy()
        turns = 1 + rng.binomial(2, 0.35, len(rows))
        for turn in range(3):
            m = turns > turn
            if turn:
                clock[m] += _secs(rng.exponential(35, m.sum()) + 5)
                ev.add(
                    rows[m],
                    clock[m],
                    "requester_reply",
                    "requester",
                    t.contact[rows[m]],
                    body=self.bodies(rows[m], 0.2),
                )
            clock[m] += _secs(rng.exponential(4, m.sum()) + 1)
            ev.add(rows[m], clock[m], "bot_reply", "bot", bot_code)
        clock += _secs(rng.exponential(20, len(rows)) + 3)
        p_solve = sigmoid(
            0.55
            + _BOT_SOLVE_CATEGORY[t.category[rows]]
            + _BOT_SOLVE_PRIORITY[t.priority[rows]]
            - 0.5 * t.frustration[rows]
        )
        solved = ~t.tier2[rows] & (rng.random(len(rows)) < p_solve)
        contained = rows[solved]
        ev.add(contained, clock[solved], "solved", "bot", bot_code, status="solved")
        ev.add(rows[~solved], clock[~solved], "bot_handoff", "bot", bot_code)
        self.final_solve[contained] = clock[solved]
        self.automated[contained] = True

        # Some bot resolutions bounce: the requester replies and the ticket goes to an agent.
        bounce = rng.random(len(contained)) < sigmoid(-3.3 + 0.7 * t.frustration[contained])
        bounced = contained[bounce]
        at = self.final_solve[bounced] + _secs(rng.uniform(HOUR, 48 * HOUR, len(bounced)))
        ev.add(
            bounced,
            at,
            "requester_reply",
            "requester",
            t.contact[bounced],
            body=self.bodies(bounced, 1.0),
        )
        at = at + _secs(rng.uniform(1, 60, len(bounced)))
        ev.add(bounced, at, "reopened", "system", status="open")
        self.automated[bounced] = False
        self.reopened[bounced] = True
        return rows[~solved], clock[~solved], bounced, at

    def survey(self, came_back: np.ndarray) -> None:
        """CSAT after the final solve: automated and human resolutions score differently."""
        t, rng = self.t, self.rng
        rows = np.flatnonzero(rng.random(len(t)) < CSAT_RESPONSE_RATE[t.channel])
        m = len(rows)
        logit = (
            np.where(self.automated[rows], 2.1, 2.25)
            - 0.55 * t.frustration[rows]
            - 0.5 * t.tier2[rows]
            - 0.4 * t.tier3[rows]
            - 0.6 * self.reopened[rows]
            - 1.2 * came_back[rows]
            - 0.15 * np.log1p(self.first_wait[rows] / HOUR)
        )
        satisfied = rng.random(m) < sigmoid(logit)
        happy = np.where(rng.random(m) < 0.68, 5, 4)
        unhappy = 3 - categorical(rng, np.broadcast_to([0.4, 0.25, 0.35], (m, 3)))
        wait = np.minimum(rng.exponential(5 * HOUR, m), 3 * DAY)
        self.ev.add(
            rows,
            self.final_solve[rows] + 60 + _secs(wait),
            "csat_response",
            "requester",
            t.contact[rows],
            csat=np.where(satisfied, happy, unhappy),
        )

    def recontacts(self, rows: np.ndarray) -> Intake:
        """The same requester opens a new ticket on the same subject days later."""
        t, rng = self.t, self.rng
        m = len(rows)
        return Intake(
            account=t.account[rows],
            contact=t.contact[rows],
            created=self.final_solve[rows] + HOUR + _secs(rng.exponential(1.6 * DAY, m)),
            channel=categorical(rng, np.broadcast_to(_RECONTACT_CHANNEL_SHARES, (m, 5))),
            category=t.category[rows],
            recontact=np.ones(m, dtype=bool),
        )


class _AgentPath:
    """Agent handling from `start`: assignment, reply rounds, escalations, solve, reopen.

    Rounds are: the first reply; normal rounds (requester reply, agent reply); and one
    escalation round per tier reached, placed between normal rounds.
    """

    def __init__(
        self,
        life: _Lifecycle,
        rows: np.ndarray,
        start: np.ndarray,
        asynchronous: np.ndarray,
        may_reopen: np.ndarray,
    ) -> None:
        self.life = life
        self.rng = rng = life.rng
        self.pop = pop = life.pop
        t = life.t
        m = len(rows)
        self.rows = rows
        self.start = start
        self.clock = start.copy()
        self.last = start.copy()
        """Time of the ticket's latest event: a touch's handle time fits after it."""
        self.asynchronous = asynchronous
        self.vip = t.vip[rows]
        self.phone = t.channel[rows] == PHONE
        self.business = ~self.vip & asynchronous
        tier2, tier3 = t.tier2[rows], t.tier3[rows]
        self.tier_agents = [np.flatnonzero(pop.agent_tier == k) for k in (1, 2, 3)]
        self.agent = self.pick_agents(1, m)
        self.tier = np.ones(m, dtype=np.int64)
        self.tier3 = tier3
        self.channel = t.channel[rows]

        extra = np.where(
            rng.random(m) < np.where(asynchronous, 0.8, 0.88), 0, 1 + rng.poisson(0.5, m)
        )
        pre = np.where(tier2, rng.random(m) < 0.3, extra)
        mid = tier3 & (rng.random(m) < 0.4)
        post = np.where(tier2, rng.poisson(0.7, m), 0)
        self.bounds = np.cumsum([1 + pre, tier2, mid, tier3], axis=0)
        self.rounds = self.bounds[-1] + post
        self.reopen = may_reopen & (
            rng.random(m)
            < sigmoid(
                -3.75
                + _REOPEN_CHANNEL[self.channel]
                + _REOPEN_CATEGORY[t.category[rows]]
                + 0.6 * t.frustration[rows]
                + 0.4 * tier2
            )
        )
        mean = _TRANSFER_MEAN * np.exp(_TRANSFER_CATEGORY[t.category[rows]] + 0.5 * tier2)
        p = _TRANSFER_SHAPE / (_TRANSFER_SHAPE + mean)
        self.transfers = np.minimum(rng.negative_binomial(_TRANSFER_SHAPE, p), _TRANSFER_CAP)

        self.weight_total = (
            1.0 + 0.7 * (pre + mid + post) + 1.3 * (tier2 + tier3.astype(int)) + 0.6 * self.reopen
        )
        self.handle_total = (
            _HANDLE_BASE[t.channel[rows]]
            * _HANDLE_CATEGORY[t.category[rows]]
            * (1.0 + 0.35 * tier2 + 0.45 * tier3)
            * np.where(self.vip, 1.1, 1.0)
            * rng.lognormal(-0.1, 0.45, m)
        )

    def pick_agents(self, tier: int | np.ndarray, m: int) -> np.ndarray:
        """A random agent of the given tier (1-3) for each of `m` tickets."""
        u = self.rng.random(m)
        pools = [self.tier_agents[k - 1] for k in (1, 2, 3)]
        picks = [pool[(u * len(pool)).astype(np.int64)] for pool in pools]
        return np.select([np.asarray(tier) == k for k in (1, 2, 3)], picks)

    def code(self, idx: np.ndarray) -> np.ndarray:
        return self.pop.agent_code(self.agent[idx])

    def handle(self, idx: np.ndarray, weight: float) -> np.ndarray:
        """This touch's share of the ticket's agent time, scaled by the agent's pace."""
        share = self.handle_total[idx] * weight / self.weight_total[idx]
        pace = self.pop.agent_speed[self.agent[idx]] * self.rng.lognormal(-0.011, 0.15, len(idx))
        return _secs(np.maximum(20.0, share * pace))

    def kind_at(self, j: int) -> np.ndarray:
        """Round j's kind: 1 normal round, 2 or 3 escalation to that tier."""
        b = self.bounds
        return np.select([j < b[0], j < b[1], j < b[2], j < b[3]], [1, 2, 1, 3], 1)

    def add(
        self, idx: np.ndarray, kind: str, actor_type: str, actor: np.ndarray | int = -1, **kw: Any
    ) -> None:
        """Log an event for path rows `idx` at their current clock."""
        self.life.ev.add(self.rows[idx], self.clock[idx], kind, actor_type, actor, **kw)
        self.last[idx] = self.clock[idx]

    def reply(self, idx: np.ndarray, weight: float) -> None:
        """An agent reply ending a touch: its handle time is carved out of the time since
        the ticket's previous event (the reply waits for the work when it must)."""
        handle = self.handle(idx, weight)
        self.clock[idx] = np.maximum(self.clock[idx], self.last[idx] + handle)
        self.add(idx, "agent_reply", "agent", self.code(idx), handle=handle)

    def transfer(self, j: int) -> None:
        """Round j's share of the ticket's reassignments: each time another agent of the
        same tier (another group) picks it up, minutes later on a live channel, about an
        hour later by queue. All of a round's transfers are drawn at once."""
        rng, rounds = self.rng, self.rounds
        share = (self.transfers * (j + 1)) // rounds - (self.transfers * j) // rounds
        share = np.where(rounds > j, share, 0)
        idx = np.flatnonzero(share)
        if not len(idx):
            return
        each = np.repeat(idx, share[idx])
        m = len(each)
        wait = _secs(
            np.where(
                self.asynchronous[each],
                rng.lognormal(np.log(HOUR), 1.0, m),
                rng.exponential(4 * MINUTE, m) + 20,
            )
        )
        waited = np.cumsum(wait)
        first = np.cumsum(share[idx]) - share[idx]  # each ticket's first row in `each`
        waited -= np.repeat(waited[first] - wait[first], share[idx])
        at = add_business(self.clock[each], waited, self.business[each])
        agent = self.pick_agents(self.tier[each], m)
        self.life.ev.add(self.rows[each], at, "agent_assigned", "agent", self.pop.agent_code(agent))
        last = first + share[idx] - 1
        self.clock[idx] = self.last[idx] = at[last]
        self.agent[idx] = agent[last]

    def delay(
        self, idx: np.ndarray, seconds: np.ndarray, business: np.ndarray | None = None
    ) -> None:
        """Advance the clock of `idx`; in business time where `business` is set."""
        if business is None:
            self.clock[idx] += _secs(seconds)
        else:
            self.clock[idx] = add_business(self.clock[idx], _secs(seconds), business)

    def run(self) -> None:
        rng, life = self.rng, self.life
        m = len(self.rows)
        everyone = np.arange(m)
        vip, asynchronous = self.vip, self.asynchronous
        frt = np.where(
            asynchronous,
            np.where(
                vip,
                rng.lognormal(np.log(25 * MINUTE), 0.8, m),
                rng.lognormal(np.log(1.5 * HOUR), 0.9, m),
            ),
            rng.exponential(np.where(self.phone, np.where(vip, 20, 50), np.where(vip, 15, 38))) + 4,
        )
        self.clock = add_business(self.start, _secs(frt * rng.uniform(0.1, 0.7, m)), self.business)
        self.add(everyone, "agent_assigned", "agent", self.code(everyone))
        self.clock = np.maximum(add_business(self.start, _secs(frt), self.business), self.clock + 1)
        self.reply(everyone, 1.0)
        life.first_wait[self.rows] = self.clock - self.start

        pending = np.zeros(m, dtype=bool)
        for j in range(int(self.rounds.max(initial=0))):
            if j:
                kind = self.kind_at(j)
                active = self.rounds > j
                self.normal_round(np.flatnonzero(active & (kind == 1)), pending, j)
                esc = np.flatnonzero(active & (kind >= 2))
                self.escalation_round(esc, kind[esc])
            self.transfer(j)
            pending = (
                (self.rounds > j + 1)
                & (self.kind_at(j + 1) == 1)
                & (rng.random(m) < _PENDING_SHARE[self.channel])
            )
            idx = np.flatnonzero(pending)
            self.delay(idx, rng.uniform(2, 30, len(idx)))
            self.add(idx, "status_change", "agent", self.code(idx), status="pending")

        self.delay(everyone, rng.uniform(5, 120, m))
        self.add(everyone, "solved", "agent", self.code(everyone), status="solved")
        self.reopen_round(np.flatnonzero(self.reopen))
        life.final_solve[self.rows] = self.clock
        life.reopened[self.rows[self.reopen]] = True

    def may_wait_long(self, idx: np.ndarray, j: int) -> np.ndarray:
        """Whether round j of `idx` may start after a long wait: not before a tier-3
        escalation, which comes within days of creation as before (the escalation label
        matures when a ticket has been open two weeks)."""
        return ~self.tier3[idx] | (j >= self.bounds[3][idx])

    def normal_round(self, idx: np.ndarray, pending: np.ndarray, j: int) -> None:
        """The requester answers (after days when the ticket was pending on them), the
        agent replies."""
        rng, m = self.rng, len(idx)
        asynchronous, phone, vip = self.asynchronous[idx], self.phone[idx], self.vip[idx]
        wait = np.where(
            asynchronous,
            rng.exponential(5 * HOUR, m) + MINUTE,
            np.where(phone, rng.exponential(3 * HOUR, m) + 5 * MINUTE, rng.exponential(90, m) + 10),
        )
        # Waiting on the customer: a long, heavy-tailed dwell (median a day, tail weeks),
        # cut at four weeks, when a help desk's automation would have closed the ticket.
        dwell = np.minimum(rng.lognormal(np.log(20 * HOUR), 1.3, m), _LONGEST_WAIT)
        wait = np.where(pending[idx] & self.may_wait_long(idx, j), dwell, wait)
        self.delay(idx, wait)
        contact = self.life.t.contact[self.rows[idx]]
        self.add(
            idx, "requester_reply", "requester", contact, body=self.life.bodies(self.rows[idx], 0.0)
        )
        was_pending = idx[pending[idx]]
        self.delay(was_pending, rng.uniform(1, 10, len(was_pending)))
        self.add(was_pending, "status_change", "system", status="open")
        note = idx[rng.random(m) < 0.1]
        self.delay(note, rng.exponential(120, len(note)) + 10)
        self.add(note, "internal_note", "agent", self.code(note))
        reply = np.where(
            asynchronous,
            np.where(vip, rng.exponential(40 * MINUTE, m), rng.lognormal(np.log(2 * HOUR), 0.8, m)),
            np.where(phone, rng.exponential(30 * MINUTE, m) + MINUTE, rng.exponential(40, m) + 5),
        )
        self.delay(idx, reply, self.business[idx])
        self.reply(idx, 0.7)

    def escalation_round(self, idx: np.ndarray, tier: np.ndarray) -> None:
        """Escalate, hand over (note, maybe on hold), and the higher tier replies."""
        rng, m = self.rng, len(idx)
        vip = self.vip[idx]
        self.delay(idx, rng.exponential(15 * MINUTE, m) + 30)
        self.add(idx, "escalated", "agent", self.code(idx), to_tier=tier)
        note = idx[rng.random(m) < 0.7]
        self.delay(note, rng.exponential(60, len(note)) + 5)
        self.add(note, "internal_note", "agent", self.code(note))
        hold = idx[rng.random(m) < 0.5]
        self.delay(hold, rng.uniform(2, 30, len(hold)))
        self.add(hold, "status_change", "agent", self.code(hold), status="on_hold")
        # On hold, waiting on engineering or a third party: a day or two, sometimes weeks
        # (a short hand-over when the ticket still goes on to tier 3).
        dwell = np.minimum(rng.lognormal(np.log(30 * HOUR), 1.1, len(hold)), _LONGEST_WAIT)
        final = (tier[np.isin(idx, hold)] == 3) | ~self.tier3[hold]
        self.delay(hold, np.where(final, dwell, dwell / 20))
        self.tier[idx] = tier
        self.agent[idx] = self.pick_agents(tier, m)
        pickup = np.where(
            vip, rng.exponential(30 * MINUTE, m) + MINUTE, rng.lognormal(np.log(1.5 * HOUR), 0.8, m)
        )
        self.delay(idx, pickup, ~vip)
        self.add(idx, "agent_assigned", "agent", self.code(idx))
        reply = np.where(
            vip, rng.exponential(45 * MINUTE, m) + MINUTE, rng.lognormal(np.log(2 * HOUR), 0.8, m)
        )
        self.delay(idx, reply, ~vip)
        self.reply(idx, 1.3)

    def reopen_round(self, idx: np.ndarray) -> None:
        """The requester replies to a solved ticket; the same agent picks it up again."""
        rng, m = self.rng, len(idx)
        self.delay(idx, rng.uniform(HOUR, 60 * HOUR, m))
        contact = self.life.t.contact[self.rows[idx]]
        self.add(
            idx, "requester_reply", "requester", contact, body=self.life.bodies(self.rows[idx], 1.0)
        )
        self.delay(idx, rng.uniform(1, 60, m))
        self.add(idx, "reopened", "system", status="open")
        asynchronous, vip = self.asynchronous[idx], self.vip[idx]
        reply = np.where(
            asynchronous,
            np.where(
                vip, rng.exponential(30 * MINUTE, m), rng.lognormal(np.log(1.5 * HOUR), 0.8, m)
            ),
            rng.exponential(20 * MINUTE, m) + 30,
        )
        self.delay(idx, reply, self.business[idx])
        self.reply(idx, 0.6)
        self.delay(idx, rng.uniform(5, 120, m))
        self.add(idx, "solved", "agent", self.code(idx), status="solved")
