"""The KPI registry: the one place a KPI is declared.

A KPI here is a ratio of two additive columns of `marts.fct_support_kpis_daily` (or the
difference of two such ratios), summed over the rows of its population, with its unit,
direction, page and, when a published figure describes the same population, a target.
`serving.kpis` computes every KPI from these entries; the CLI (`supportops kpis`, `--json`,
the summary) and the dashboards' tiles, captions, tables and target lines read them from
here. Adding a KPI: a mart column (with its yml), one entry below.

Populations are explicit because a benchmark is only comparable with a figure of the same
population: a `Target` names the population its source describes, and a KPI refuses a target
of another population (dbt_project/docs/decisions.md, "KPI registry").

No Dagster, no database: this module is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Unit = Literal["rate", "pp", "minutes", "usd"]
Page = Literal["executive", "operations"]

HUMAN_PATHS = ("agent", "assisted")


@dataclass(frozen=True)
class Population:
    """Whom a figure describes. `paths` restricts the mart rows summed (handling paths);
    None sums every path (the denominator column itself may still narrow it)."""

    name: str
    paths: tuple[str, ...] | None = None


TICKETS = Population("tickets created, every handling path")
BOT_HANDLED = Population("bot-handled tickets (the bot or a self-service flow touched them first)")
AGENT_TOUCHED = Population("tickets an agent touched (agent time per contact)")
LIVE_CONTACTS = Population("tickets agents handled: agent and assisted paths", HUMAN_PATHS)
SLA_TICKETS = Population("tickets under an SLA (they entered the agent queue)")
RESOLVED = Population("resolved tickets, every path (bot-only resolutions included)")
RESOLVED_AGENT_HANDLED = Population(
    "resolved tickets agents handled: agent and assisted paths", HUMAN_PATHS
)
CSAT_RESPONSES = Population("survey responses, every path")
CSAT_AUTOMATED = Population("survey responses on automated tickets", ("automated",))
CSAT_HUMAN = Population("survey responses on agent and assisted tickets", HUMAN_PATHS)
CSAT_AUTOMATED_VS_HUMAN = Population("survey responses, automated vs agent and assisted tickets")


@dataclass(frozen=True)
class Target:
    """A goal with the published figure (or our own policy) it comes from, and the
    population that figure describes."""

    value: float
    source: str
    population: Population


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    unit: Unit
    higher_is_better: bool
    population: Population
    page: Page
    description: str
    numerator: str | None = None
    denominator: str | None = None
    # value = 1 - numerator / denominator (e.g. SLA attainment from breaches)
    complement: bool = False
    # numerator / denominator x scale (e.g. seconds to minutes)
    scale: float = 1.0
    # a difference of two registered rates, in percentage points
    difference: tuple[str, str] | None = None
    # a 95% Wilson interval is meaningful (a share of counted trials)
    interval: bool = False
    target: Target | None = None
    # a headline tile on its page (the others show in the page's table and captions)
    tile: bool = True
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        ratio = self.numerator is not None and self.denominator is not None
        if ratio == (self.difference is not None):
            raise ValueError(f"{self.name}: either numerator and denominator, or a difference")
        if self.target is not None and self.target.population != self.population:
            raise ValueError(
                f"{self.name}: its target ({self.target.source}) describes "
                f"{self.target.population.name!r}, the KPI {self.population.name!r}"
            )
        object.__setattr__(
            self, "columns", tuple(c for c in (self.numerator, self.denominator) if c)
        )


KPIS: tuple[Kpi, ...] = (
    # ------------------------------------------------------------------ executive
    Kpi(
        "containment_rate", "Containment rate", "rate", True, BOT_HANDLED, "executive",
        "bot-handled tickets resolved with no agent, no reopen and no re-contact in 7 days",
        numerator="contained_tickets", denominator="bot_handled_tickets",
        target=Target(0.45, "Comm100 AI live chat benchmark: average bot containment 45% "
                      "(38-98% by industry)", BOT_HANDLED),
    ),
    Kpi(
        "csat", "CSAT", "rate", True, CSAT_RESPONSES, "executive",
        "share of survey responses scoring 4-5", tile=False, interval=True,
        numerator="csat_satisfied_responses", denominator="csat_responses",
    ),
    Kpi(
        "csat_automated", "CSAT automated", "rate", True, CSAT_AUTOMATED, "executive",
        "CSAT of tickets the bot resolved alone", tile=False, interval=True,
        numerator="csat_satisfied_responses", denominator="csat_responses",
    ),
    Kpi(
        "csat_human", "CSAT human", "rate", True, CSAT_HUMAN, "executive",
        "CSAT of tickets an agent handled", tile=False, interval=True,
        numerator="csat_satisfied_responses", denominator="csat_responses",
    ),
    Kpi(
        "csat_delta_pp", "CSAT delta, automated vs human", "pp", True, CSAT_AUTOMATED_VS_HUMAN,
        "executive", "CSAT automated minus CSAT human",
        difference=("csat_automated", "csat_human"),
        target=Target(0.0, "Comm100: no published clean gap; bot-first journeys should not "
                      "rate below humans (automated at least as satisfying)",
                      CSAT_AUTOMATED_VS_HUMAN),
    ),
    Kpi(
        "aht_minutes", "Average handle time", "minutes", False, AGENT_TOUCHED, "executive",
        "agent time per agent-touched ticket",
        numerator="handle_seconds", denominator="agent_touched_tickets", scale=1 / 60,
        target=Target(6.5, "industry reports: phone AHT 4.5-8.8 min by industry, email active "
                      "handling 4-6 min per ticket (mid-band)", AGENT_TOUCHED),
    ),
    Kpi(
        "cost_per_ticket_usd", "Cost per ticket", "usd", False, TICKETS, "executive",
        "agent, bot and platform cost per ticket created, self-service included "
        "(no published figure describes this blend)",
        numerator="total_cost_usd", denominator="tickets",
    ),
    Kpi(
        "cost_per_live_contact_usd", "Cost per live contact", "usd", False, LIVE_CONTACTS,
        "executive", "cost per ticket on the agent and assisted paths",
        numerator="total_cost_usd", denominator="tickets",
        target=Target(8.0, "Gartner (2019): about $8 per live contact (phone, chat, email)",
                      LIVE_CONTACTS),
    ),
    # ------------------------------------------------------------------ operations
    Kpi(
        "sla_first_response_attainment", "First-response SLA met", "rate", True, SLA_TICKETS,
        "operations", "tickets whose first agent reply came within the first-response SLA",
        numerator="sla_first_response_breached", denominator="sla_first_response_applicable",
        complement=True, interval=True,
        target=Target(0.90, "our goal, not a published benchmark: 90% of tickets within each "
                      "SLA of the policy seed (sla_policies.csv)", SLA_TICKETS),
    ),
    Kpi(
        "sla_resolution_attainment", "Resolution SLA met", "rate", True, SLA_TICKETS,
        "operations", "tickets resolved within the resolution SLA",
        numerator="sla_resolution_breached", denominator="sla_resolution_applicable",
        complement=True, interval=True,
        target=Target(0.90, "our goal, not a published benchmark: 90% of tickets within each "
                      "SLA of the policy seed (sla_policies.csv)", SLA_TICKETS),
    ),
    Kpi(
        "sla_all_met_rate", "All SLAs met", "rate", True, SLA_TICKETS, "operations",
        "tickets that met every SLA that applies to them (first response and resolution)",
        numerator="sla_all_met_tickets", denominator="sla_tickets", interval=True,
        target=Target(0.90, "our goal, not a published benchmark: 90% of tickets within "
                      "target, read per ticket (every SLA met)", SLA_TICKETS),
    ),
    Kpi(
        "fcr_agent_handled", "FCR, agent-handled", "rate", True, RESOLVED_AGENT_HANDLED,
        "operations", "resolved after at most one agent reply, never reopened; agent and "
        "assisted paths", numerator="fcr_tickets", denominator="fcr_eligible_tickets",
        interval=True,
        target=Target(0.66, "HDI (2015): first contact resolution about 66% of service-desk "
                      "contacts handled by agents", RESOLVED_AGENT_HANDLED),
    ),
    Kpi(
        "fcr_all_paths", "FCR incl. bot-only", "rate", True, RESOLVED, "operations",
        "the same rule over every resolved ticket: bot-only resolutions (no agent reply) "
        "count as first-contact resolutions, so no agent benchmark applies",
        numerator="fcr_tickets", denominator="fcr_eligible_tickets", interval=True,
    ),
    Kpi(
        "escalation_rate", "Escalation rate", "rate", False, TICKETS, "operations",
        "tickets escalated above tier 1", numerator="escalated_tickets", denominator="tickets",
    ),
    Kpi(
        "reopen_rate", "Reopen rate", "rate", False, TICKETS, "operations",
        "tickets reopened at least once", numerator="reopened_tickets", denominator="tickets",
    ),
)  # fmt: skip

BY_NAME: dict[str, Kpi] = {k.name: k for k in KPIS}
if len(BY_NAME) != len(KPIS):
    raise ValueError("duplicate KPI names in the registry")


def kpi(name: str) -> Kpi:
    return BY_NAME[name]


def on_page(page: Page) -> tuple[Kpi, ...]:
    return tuple(k for k in KPIS if k.page == page)


def measures() -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """Every (mart column, handling paths) sum the registry's KPIs need, plus `tickets`."""
    needed: dict[tuple[str, tuple[str, ...] | None], None] = {("tickets", None): None}
    for k in KPIS:
        for column in k.columns:
            needed[(column, k.population.paths)] = None
    return tuple(needed)


def measure_key(column: str, paths: tuple[str, ...] | None) -> str:
    """The name of one sum: the column, suffixed with the paths it is restricted to."""
    return column if paths is None else f"{column}__{'_'.join(paths)}"


# --------------------------------------------------------------------------- formats


def format_value(unit: Unit, value: float | None) -> str:
    if value is None:
        return "-"
    return {
        "rate": lambda v: f"{v:.1%}",
        "pp": lambda v: f"{v:+.1f} pp",
        "minutes": lambda v: f"{v:.1f} min",
        "usd": lambda v: f"${v:,.2f}",
    }[unit](value)


def format_change(unit: Unit, change: float) -> str:
    return {
        "rate": lambda d: f"{d * 100:+.1f} pp",
        "pp": lambda d: f"{d:+.1f} pp",
        "minutes": lambda d: f"{d:+.1f} min",
        "usd": lambda d: f"{'-' if d < 0 else '+'}${abs(d):,.2f}",
    }[unit](change)


def format_target(k: Kpi) -> str:
    if k.target is None:
        return "-"
    sign = "≥" if k.higher_is_better else "≤"
    return f"{sign} {format_value(k.unit, k.target.value)}"


def target_met(k: Kpi, value: float | None) -> bool | None:
    if k.target is None or value is None:
        return None
    return value >= k.target.value if k.higher_is_better else value <= k.target.value
