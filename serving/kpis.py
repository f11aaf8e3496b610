"""Leadership KPIs from `marts.fct_support_kpis_daily` in the serving database.

Every rate is re-aggregated from the mart's additive numerators and denominators, never by
averaging daily ratios (DESIGN.md, "Metric definitions").
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Literal

import duckdb

Dimension = Literal["channel", "tier", "category", "path"]
_COLUMNS = {"channel": "channel", "tier": "tier", "category": "category", "path": "handling_path"}
Z_95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """95% Wilson score interval of a proportion; None without trials."""
    if trials == 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return centre - half, centre + half


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class KpiRow:
    group: str
    tickets: int
    containment_rate: float | None
    bot_handled_tickets: int
    csat: float | None
    csat_responses: int
    csat_automated: float | None
    csat_automated_responses: int
    csat_human: float | None
    csat_human_responses: int
    csat_delta_pp: float | None
    csat_automated_ci: tuple[float, float] | None
    csat_human_ci: tuple[float, float] | None
    aht_minutes: float | None
    cost_per_ticket_usd: float | None
    sla_compliance: float | None
    fcr_rate: float | None
    escalation_rate: float | None
    reopen_rate: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def kpi_table(
    con: duckdb.DuckDBPyConnection,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    by: Dimension | None = None,
) -> list[KpiRow]:
    """One KpiRow per value of `by` (or one overall row) for tickets created in the window."""
    group = _COLUMNS[by] if by else "'all'"
    rows = con.execute(
        f"""
        SELECT {group} AS grp,
               sum(tickets), sum(bot_handled_tickets), sum(contained_tickets),
               sum(csat_responses), sum(csat_satisfied_responses),
               sum(csat_responses) FILTER (WHERE handling_path = 'automated'),
               sum(csat_satisfied_responses) FILTER (WHERE handling_path = 'automated'),
               sum(csat_responses) FILTER (WHERE handling_path IN ('agent', 'assisted')),
               sum(csat_satisfied_responses) FILTER (WHERE handling_path IN ('agent', 'assisted')),
               sum(handle_seconds), sum(agent_touched_tickets),
               sum(agent_cost_usd + bot_cost_usd + platform_cost_usd),
               sum(sla_first_response_breached + sla_resolution_breached),
               sum(sla_first_response_applicable + sla_resolution_applicable),
               sum(fcr_tickets), sum(fcr_eligible_tickets),
               sum(escalated_tickets), sum(reopened_tickets)
        FROM marts.fct_support_kpis_daily
        WHERE kpi_date BETWEEN coalesce($first, DATE '1900-01-01')
                           AND coalesce($last, DATE '2999-12-31')
        GROUP BY ALL
        HAVING sum(tickets) > 0
        ORDER BY 1
        """,
        {"first": first_day, "last": last_day},
    ).fetchall()
    return [kpi_row(*sums) for sums in rows]


def kpi_row(
    grp, tickets, bot, contained, responses, satisfied, auto_n, auto_ok, human_n, human_ok,
    handle_seconds, touched, cost, breached, applicable, fcr, fcr_eligible, escalated, reopened,
) -> KpiRow:  # fmt: skip
    """The KPI definitions over one group's additive sums, in `kpi_table`'s column order.

    Public so that other readers of the same sums (the dashboards) share the definitions."""
    auto_n, auto_ok, human_n, human_ok = (int(v or 0) for v in (auto_n, auto_ok, human_n, human_ok))
    csat_auto, csat_human = _ratio(auto_ok, auto_n), _ratio(human_ok, human_n)
    return KpiRow(
        group=str(grp),
        tickets=int(tickets),
        containment_rate=_ratio(contained, bot),
        bot_handled_tickets=int(bot),
        csat=_ratio(satisfied, responses),
        csat_responses=int(responses),
        csat_automated=csat_auto,
        csat_automated_responses=auto_n,
        csat_human=csat_human,
        csat_human_responses=human_n,
        csat_delta_pp=(csat_auto - csat_human) * 100
        if csat_auto is not None and csat_human is not None
        else None,
        csat_automated_ci=wilson_interval(auto_ok, auto_n),
        csat_human_ci=wilson_interval(human_ok, human_n),
        aht_minutes=_ratio(handle_seconds / 60, touched),
        cost_per_ticket_usd=_ratio(cost, tickets),
        sla_compliance=1 - breached / applicable if applicable else None,
        fcr_rate=_ratio(fcr, fcr_eligible),
        escalation_rate=_ratio(escalated, tickets),
        reopen_rate=_ratio(reopened, tickets),
    )


def data_as_of(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime, dt.date | None]:
    """When the serving file was published, and the newest landing day it reflects."""
    return con.execute("SELECT published_at, data_as_of FROM serving_info").fetchone()
