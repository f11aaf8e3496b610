"""The customer base: accounts, their contacts and product users, agents, and the latent
churn chain with its exact 90-day churn probability.

Everything here is O(accounts) (contacts and users are a small multiple of it) and drawn
once from the "population" stream; per-day dynamics live in `LatentChain`.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extracts.contracts import INDUSTRIES, REGIONS, SEGMENTS
from extracts.generator.columns import format_dates, format_hex, format_ids
from extracts.generator.config import GeneratorConfig, stream
from extracts.generator.names import (
    COMPANY_NOUNS,
    COMPANY_PREFIXES,
    COMPANY_ROOTS,
    FIRST_NAMES,
    LAST_NAMES,
    TITLES,
)
from extracts.generator.text import LANGUAGES

_SEGMENT_SHARES = np.array([0.55, 0.30, 0.15])
_VIP_SHARE_BY_SEGMENT = np.array([0.02, 0.08, 0.42])
_PLAN_SHARES_BY_SEGMENT = np.array(
    [[0.55, 0.35, 0.10, 0.0], [0.0, 0.40, 0.45, 0.15], [0.0, 0.0, 0.30, 0.70]]
)
PRICE_PER_SEAT_MONTH = np.array([20.0, 45.0, 80.0, 120.0])
_SEAT_MEDIAN = np.array([6.0, 30.0, 140.0])
_SEAT_RANGE = np.array([[2, 20], [10, 120], [50, 600]])
_REGION_SHARES = np.array([0.50, 0.30, 0.12, 0.08])
# Contact language by region (rows: na, emea, apac, latam; columns: en, es, de, fr).
_LANGUAGE_BY_REGION = np.array(
    [[0.95, 0.05, 0.0, 0.0], [0.55, 0.05, 0.20, 0.20], [1.0, 0.0, 0.0, 0.0], [0.25, 0.75, 0.0, 0.0]]
)
_PHONE_COUNTRY = ("+1", "+44", "+61", "+52")
_LEGAL_FORMS = (
    ("Inc", "LLC", "Corp"),
    ("Ltd", "GmbH", "SA", "BV"),
    ("Pty Ltd", "Pte Ltd"),
    ("SA", "Ltda"),
)
_TICKET_RATE_BY_SEGMENT = np.array([0.05, 0.12, 0.30])
_BREADTH_BY_PLAN = np.array([5, 8, 11, 14])
_USER_PLATFORM_SHARES = np.array([0.78, 0.12, 0.10])  # web, ios, android

# Churn chain (per day). Healthy -> at-risk hazard is account specific; see `_churn_params`.
_BASE_TO_RISK = 0.0045
_BASE_RECOVER = 0.04
_CANCEL = np.array([0.00003, 0.002])
_NON_RENEWAL = np.array([0.02, 0.55])
HORIZON = 90
# Engagement (the usage level) drifts towards 1 while healthy and towards
# _ENGAGEMENT_AT_RISK while at risk: usage declines over the weeks before most churns and
# recovers when an account gets better. It never changes the churn hazards, so the truth
# probability (from the state alone) stays the best any model can do.
_ENGAGEMENT_AT_RISK = 0.25
_ENGAGEMENT_DRIFT = 0.08
_TERM_DAYS = 365

CANCELLED = 1
NON_RENEWAL = 2
CHURN_REASONS = (None, "cancelled", "non_renewal")


def categorical(rng: np.random.Generator, shares: np.ndarray) -> np.ndarray:
    """One categorical draw per row of `shares` (rows sum to 1)."""
    cumulative = np.cumsum(shares, axis=-1)
    u = rng.random((*cumulative.shape[:-1], 1))
    return np.minimum((u > cumulative).sum(axis=-1), shares.shape[-1] - 1)


def _ascii(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()


def _splitmix(x: np.ndarray) -> np.ndarray:
    """A bijective 64-bit mix: distinct inputs give distinct, random-looking outputs."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def pseudonymous_ids(prefix: str, index: np.ndarray, seed: int) -> pa.Array:
    """Opaque ids that are unique per index and differ between seeds."""
    salt = np.uint64(seed) * np.uint64(0x100000001B3)
    return format_hex(prefix, _splitmix(index.astype(np.uint64) ^ salt))


@dataclass
class Population:
    """Static attributes of accounts, contacts, product users and agents."""

    n: int
    account_id: pa.Array
    vip: np.ndarray
    plan: np.ndarray
    seats: np.ndarray
    discount: np.ndarray
    auto_renew: np.ndarray
    renewal: np.ndarray
    """First renewal day (offset from config.start), spread over a year."""
    accounts_static: pa.Table
    """CRM account columns that never change, in contract order minus `status`."""
    subscription_id: pa.Array
    to_risk: np.ndarray
    recover: np.ndarray
    cancel: np.ndarray
    """(accounts, 2) daily cancellation hazard by state (healthy, at-risk)."""
    non_renewal: np.ndarray
    """(accounts, 2) probability of not renewing at the renewal date, by state."""
    ticket_rate: np.ndarray
    usage_events: np.ndarray
    error_rate: np.ndarray
    breadth: np.ndarray
    contact_start: np.ndarray
    contact_count: np.ndarray
    contact_language: np.ndarray
    contacts: pa.Table
    """CRM contacts.csv content (static over the period)."""
    user_account: np.ndarray
    user_weight: np.ndarray
    user_platform: np.ndarray
    user_id: pa.Array
    agent_id: pa.Array
    agent_tier: np.ndarray
    agent_speed: np.ndarray

    @property
    def actor_labels(self) -> pa.Array:
        """actor_id strings indexed by event actor codes: contacts, agents, then the bot."""
        contact_ids = self.contacts["contact_id"].combine_chunks()
        return pa.concat_arrays([contact_ids, self.agent_id, pa.array(["answer-bot"])])

    def agent_code(self, agent: np.ndarray) -> np.ndarray:
        return len(self.contact_language) + agent

    @property
    def bot_code(self) -> int:
        return len(self.contact_language) + len(self.agent_id)


def build_population(config: GeneratorConfig) -> Population:
    """Draw the customer base; enterprise accounts are bigger, richer and more often VIP."""
    rng = stream(config.seed, "population")
    n = config.accounts
    segment = categorical(rng, np.broadcast_to(_SEGMENT_SHARES, (n, 3)))
    vip = rng.random(n) < _VIP_SHARE_BY_SEGMENT[segment]
    region = categorical(rng, np.broadcast_to(_REGION_SHARES, (n, 4)))
    plan = categorical(rng, _PLAN_SHARES_BY_SEGMENT[segment])
    lo, hi = _SEAT_RANGE[segment].T
    seats = np.clip(np.round(_SEAT_MEDIAN[segment] * rng.lognormal(0, 0.45, n)), lo, hi)
    seats = seats.astype(np.int64)
    auto_renew = rng.random(n) < 0.75
    renewal = rng.integers(0, _TERM_DAYS, n)
    tenure_years = rng.geometric(0.4, n) - 1
    created = renewal - _TERM_DAYS * (tenure_years + 1) - rng.integers(0, 30, n)
    names, domains = _company_names(rng, n, region)
    accounts_static = _accounts_static(rng, config, segment, vip, region, created, names, domains)
    to_risk, recover, cancel, non_renewal = _churn_params(
        rng, segment, plan, tenure_years, auto_renew
    )

    contact_count = np.where(
        segment == 0,
        1 + rng.binomial(3, 0.4, n),
        np.where(segment == 1, 2 + rng.binomial(5, 0.5, n), 4 + rng.binomial(10, 0.5, n)),
    )
    contact_start = np.concatenate([[0], np.cumsum(contact_count)[:-1]])
    contact_account = np.repeat(np.arange(n), contact_count)
    contact_language = categorical(rng, _LANGUAGE_BY_REGION[region[contact_account]])
    contacts = _contacts(rng, contact_account, contact_start, contact_language, region, domains)
    users = np.maximum(contact_count + 1, np.round(seats * rng.uniform(0.5, 0.95, n)))
    user_account, user_id = _users(config.seed, users.astype(np.int64), contact_count, contacts)

    n_agents = max(6, round(n * 0.012))
    agent_tier = np.ones(n_agents, dtype=np.int64)
    agent_tier[int(n_agents * 0.7) :] = 2
    agent_tier[max(int(n_agents * 0.9), n_agents - 1) :] = 3

    n_users = len(user_account)
    return Population(
        n=n,
        account_id=accounts_static["account_id"].combine_chunks(),
        vip=vip,
        plan=plan,
        seats=seats,
        discount=1.0 - rng.uniform(0, 0.1 + 0.1 * segment),
        auto_renew=auto_renew,
        renewal=renewal,
        accounts_static=accounts_static,
        subscription_id=format_ids("SUB", np.arange(1, n + 1), 6),
        to_risk=to_risk,
        recover=recover,
        cancel=cancel,
        non_renewal=non_renewal,
        ticket_rate=_TICKET_RATE_BY_SEGMENT[segment] * rng.lognormal(-0.045, 0.3, n),
        usage_events=rng.lognormal(np.log(1.4), 0.3, n),
        error_rate=0.05 * rng.lognormal(0, 0.4, n),
        breadth=_BREADTH_BY_PLAN[plan],
        contact_start=contact_start,
        contact_count=contact_count,
        contact_language=contact_language,
        contacts=contacts,
        user_account=user_account,
        user_weight=rng.lognormal(-0.18, 0.6, n_users),
        user_platform=categorical(rng, np.broadcast_to(_USER_PLATFORM_SHARES, (n_users, 3))),
        user_id=user_id,
        agent_id=format_ids("AG", np.arange(1, n_agents + 1), 3),
        agent_tier=agent_tier,
        agent_speed=rng.lognormal(0, 0.15, n_agents),
    )


def _accounts_static(
    rng: np.random.Generator,
    config: GeneratorConfig,
    segment: np.ndarray,
    vip: np.ndarray,
    region: np.ndarray,
    created: np.ndarray,
    names: pa.Array,
    domains: pa.Array,
) -> pa.Table:
    n = len(segment)
    n_csm = max(4, -(-n // 60))
    owner = format_ids("csm-", rng.integers(1, n_csm + 1, n), max(2, len(str(n_csm))))
    mailbox = np.array(["billing", "accounts", "finance", "ap"])[rng.integers(0, 4, n)]
    billing_email = pc.binary_join_element_wise(pa.array(mailbox), domains, "@")
    has_billing = pa.array(rng.random(n) < 0.9)
    start_epoch_day = (config.start - dt.date(1970, 1, 1)).days
    return pa.table(
        {
            "account_id": format_ids("AC", np.arange(1, n + 1), 6),
            "account_name": names,
            "industry": pa.array(np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), n)]),
            "segment": pa.array(np.array(SEGMENTS)[segment]),
            "region": pa.array(np.array(REGIONS)[region]),
            "tier": pa.array(np.where(vip, "vip", "standard")),
            "owner": owner,
            "created_date": format_dates(created + start_epoch_day),
            "billing_email": pc.if_else(has_billing, billing_email, pa.nulls(n, pa.string())),
        }
    )


def _users(
    seed: int, users: np.ndarray, contact_count: np.ndarray, contacts: pa.Table
) -> tuple[np.ndarray, pa.Array]:
    """Product users per account: its contacts first, then pseudonymous other users."""
    user_start = np.concatenate([[0], np.cumsum(users)[:-1]])
    user_account = np.repeat(np.arange(len(users)), users)
    rank = np.arange(len(user_account)) - user_start[user_account]
    is_contact = rank < contact_count[user_account]
    contact_start = np.concatenate([[0], np.cumsum(contact_count)[:-1]])
    contact = contact_start[user_account] + np.minimum(rank, contact_count[user_account] - 1)
    contact_ids = contacts["contact_id"].combine_chunks().take(pa.array(contact))
    pseudo = pseudonymous_ids("usr_", np.arange(len(user_account)), seed)
    return user_account, pc.if_else(pa.array(is_contact), contact_ids, pseudo)


def _churn_params(
    rng: np.random.Generator,
    segment: np.ndarray,
    plan: np.ndarray,
    tenure_years: np.ndarray,
    auto_renew: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Account-specific hazards: small, young, cheap-plan accounts drift to risk faster."""
    n = len(segment)
    log_to_risk = (
        np.log(_BASE_TO_RISK)
        + np.array([0.35, 0.0, -0.45])[segment]
        + np.array([0.3, 0.1, 0.0, -0.3])[plan]
        + np.where(tenure_years == 0, 0.4, -0.1 * np.minimum(tenure_years, 4))
        + rng.normal(0, 0.35, n)
    )
    to_risk = np.clip(np.exp(log_to_risk), 1e-5, 0.05)
    recover = _BASE_RECOVER * np.exp(np.array([-0.1, 0.0, 0.2])[segment] + rng.normal(0, 0.25, n))
    cancel = _CANCEL[None, :] * np.array([1.3, 1.0, 0.6])[segment][:, None]
    renewal_factor = np.where(auto_renew, 0.8, 1.5)[:, None]
    non_renewal = np.minimum(_NON_RENEWAL[None, :] * renewal_factor, 0.9)
    return to_risk, recover, cancel, non_renewal


def _company_names(
    rng: np.random.Generator, n: int, region: np.ndarray
) -> tuple[pa.Array, pa.Array]:
    """Unique "Bluepeak Analytics Ltd"-style names and their domains."""
    n_p, n_r, n_n = len(COMPANY_PREFIXES), len(COMPANY_ROOTS), len(COMPANY_NOUNS)
    space = n_p * n_r * n_n
    combo = rng.permutation(space)[np.arange(n) % space]
    repeat = np.arange(n) // space
    p, rest = np.divmod(combo, n_r * n_n)
    r, k = np.divmod(rest, n_n)
    names, domains = [], []
    for i in range(n):
        stem = f"{COMPANY_PREFIXES[p[i]]}{COMPANY_ROOTS[r[i]]}"
        noun = COMPANY_NOUNS[k[i]] + (f" {repeat[i] + 1}" if repeat[i] else "")
        forms = _LEGAL_FORMS[region[i]]
        names.append(f"{stem} {noun} {forms[combo[i] % len(forms)]}")
        domains.append(f"{stem}-{noun.replace(' ', '')}.example".lower())
    return pa.array(names, pa.string()), pa.array(domains, pa.string())


def _contacts(
    rng: np.random.Generator,
    contact_account: np.ndarray,
    contact_start: np.ndarray,
    language: np.ndarray,
    region: np.ndarray,
    domains: pa.Array,
) -> pa.Table:
    """contacts.csv: names in the contact's language, first.last@<account domain>."""
    m = len(contact_account)
    first = np.empty(m, dtype=object)
    last = np.empty(m, dtype=object)
    first_ascii = np.empty(m, dtype=object)
    last_ascii = np.empty(m, dtype=object)
    name_code = np.zeros(m, dtype=np.int64)
    for lang_index, lang in enumerate(LANGUAGES):
        rows = np.flatnonzero(language == lang_index)
        firsts, lasts = FIRST_NAMES[lang], LAST_NAMES[lang]
        fi = rng.integers(0, len(firsts), len(rows))
        li = rng.integers(0, len(lasts), len(rows))
        first[rows] = np.array(firsts, dtype=object)[fi]
        last[rows] = np.array(lasts, dtype=object)[li]
        first_ascii[rows] = np.array([_ascii(f) for f in firsts], dtype=object)[fi]
        last_ascii[rows] = np.array([_ascii(s) for s in lasts], dtype=object)[li]
        name_code[rows] = (lang_index * 100 + fi) * 100 + li
    # Namesakes within an account get a numbered mailbox: first.last2@...
    key = contact_account * 1_000_000 + name_code
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    group_start = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    rank_sorted = np.arange(m) - np.repeat(group_start, np.diff(np.r_[group_start, m]))
    rank = np.empty(m, dtype=np.int64)
    rank[order] = rank_sorted
    suffix = np.where(rank == 0, "", (rank + 1).astype(str))
    local = pc.binary_join_element_wise(pa.array(first_ascii), pa.array(last_ascii), ".")
    local = pc.binary_join_element_wise(local, pa.array(suffix), "")
    email = pc.binary_join_element_wise(local, domains.take(pa.array(contact_account)), "@")

    country = pa.array(np.array(_PHONE_COUNTRY)[region[contact_account]])
    phone = pc.binary_join_element_wise(
        country,
        format_ids("-555-", rng.integers(100, 1000, m), 3),
        format_ids("-", rng.integers(0, 10_000, m), 4),
        "",
    )
    phone = pc.if_else(pa.array(rng.random(m) < 0.7), phone, pa.nulls(m, pa.string()))
    is_primary = np.arange(m) == contact_start[contact_account]
    return pa.table(
        {
            "contact_id": format_ids("CT", np.arange(1, m + 1), 7),
            "account_id": format_ids("AC", contact_account + 1, 6),
            "first_name": pa.array(first, pa.string()),
            "last_name": pa.array(last, pa.string()),
            "email": email,
            "phone": phone,
            "title": pa.array(np.array(TITLES)[rng.integers(0, len(TITLES), m)]),
            "is_primary": pa.array(is_primary),
        }
    )


class LatentChain:
    """Each account's hidden health: a two-state Markov chain (healthy / at-risk).

    Each day, with the state at the start of the day, the account may cancel;
    if the day is its renewal date it may not renew; then the state moves on. The chain
    draws a fixed number of uniforms per account per day from its own stream, so replaying
    it reproduces the same path: a first pass finds churn dates (for labels), the main pass
    replays it day by day. A day is `settle` (churn events) then `advance` (transition);
    the day's activity happens in between, driven by the start-of-day state.
    """

    def __init__(self, pop: Population, config: GeneratorConfig) -> None:
        self.pop = pop
        self.seed = config.seed
        rng = stream(config.seed, "chain")
        stationary = pop.to_risk / (pop.to_risk + pop.recover)
        self.at_risk = rng.random(pop.n) < stationary
        decayed = (1 - _ENGAGEMENT_DRIFT) ** rng.exponential(28.0, pop.n)  # days already at risk
        self.engagement = np.where(
            self.at_risk, _ENGAGEMENT_AT_RISK + (1 - _ENGAGEMENT_AT_RISK) * decayed, 1.0
        )
        self.churn_day = np.full(pop.n, -1, dtype=np.int64)
        self.reason = np.zeros(pop.n, dtype=np.int64)
        self.renewal = pop.renewal.copy()
        self.term_start = self.renewal - _TERM_DAYS
        self.renewed_today = np.zeros(pop.n, dtype=bool)
        self.effect = config.outreach_effect
        self.treated_until = np.zeros(pop.n, dtype=np.int64)
        """Outreach lowers churn hazards on days before this (`contact`); 0: never."""

    def contact(self, rows: np.ndarray, until: int) -> None:
        """Outreach to `rows`: their churn hazards fall by `effect` until day `until`."""
        self.treated_until[rows] = until

    def hazard_scale(self, day: int) -> np.ndarray:
        """Per account, the factor on its churn hazards today (1 - effect while treated)."""
        return np.where(day < self.treated_until, 1.0 - self.effect, 1.0)

    @property
    def alive(self) -> np.ndarray:
        return self.churn_day < 0

    def settle(self, day: int) -> None:
        """The day's cancellations, lapses and renewals, decided by the start-of-day state."""
        u = stream(self.seed, "chain", day, 0).random((2, self.pop.n))
        rows = np.arange(self.pop.n)
        state = self.at_risk.astype(np.int64)
        alive = self.alive
        scale = self.hazard_scale(day)
        cancelled = alive & (u[0] < self.pop.cancel[rows, state] * scale)
        due = alive & ~cancelled & (self.renewal == day)
        lapsed = due & (u[1] < self.pop.non_renewal[rows, state] * scale)
        self.renewed_today = due & ~lapsed
        self.churn_day[cancelled | lapsed] = day
        self.reason[cancelled] = CANCELLED
        self.reason[lapsed] = NON_RENEWAL
        self.term_start[self.renewed_today] = day
        self.renewal[self.renewed_today] = day + _TERM_DAYS

    def advance(self, day: int) -> None:
        """Move every account's state to the next day; engagement drifts towards it."""
        u = stream(self.seed, "chain", day, 1).random(self.pop.n)
        self.at_risk ^= u < np.where(self.at_risk, self.pop.recover, self.pop.to_risk)
        target = np.where(self.at_risk, _ENGAGEMENT_AT_RISK, 1.0)
        self.engagement += _ENGAGEMENT_DRIFT * (target - self.engagement)

    @property
    def strain(self) -> np.ndarray:
        """0 for a settled healthy account, rising to 1 the longer it stays at risk."""
        return np.clip((1.0 - self.engagement) / (1.0 - _ENGAGEMENT_AT_RISK), 0.0, 1.0)


def churn_probability(
    pop: Population,
    rows: np.ndarray,
    at_risk: np.ndarray,
    renewal: np.ndarray,
    day: int,
    *,
    horizon: int | np.ndarray = HORIZON,
    treated_days: np.ndarray | int = 0,
    effect: float = 0.0,
) -> np.ndarray:
    """Exact P(cancel or non-renewal within days [day, day + horizon)) given the
    start-of-day state, with the hazards lowered by `effect` over each row's first
    `treated_days` days (outreach, `LatentChain.contact`).

    Propagates the alive mass over the two states through the same daily rule as
    `LatentChain.settle` and `advance`. Only one renewal can fall inside the window (terms
    are a year long, horizons at most 90 days).
    """
    cancel = pop.cancel[rows]
    non_renewal = pop.non_renewal[rows]
    to_risk, recover = pop.to_risk[rows], pop.recover[rows]
    healthy = (~at_risk).astype(float)
    risky = at_risk.astype(float)
    due_in = renewal - day
    horizon = np.broadcast_to(horizon, len(rows))
    treated_days = np.broadcast_to(treated_days, len(rows))
    for t in range(int(horizon.max(initial=0))):
        # Past a row's horizon its mass only moves between states: churn is no longer counted.
        scale = np.where(t < treated_days, 1.0 - effect, 1.0) * (t < horizon)
        healthy *= 1.0 - cancel[:, 0] * scale
        risky *= 1.0 - cancel[:, 1] * scale
        due = due_in == t
        healthy *= np.where(due, 1.0 - non_renewal[:, 0] * scale, 1.0)
        risky *= np.where(due, 1.0 - non_renewal[:, 1] * scale, 1.0)
        healthy, risky = (
            healthy * (1.0 - to_risk) + risky * recover,
            healthy * to_risk + risky * (1.0 - recover),
        )
    return np.clip(1.0 - (healthy + risky), 0.0, 1.0)
