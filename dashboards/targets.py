"""Targets shown on the KPI tiles, taken from the bands in ../shared/KPI_REFERENCE.md.

They are plausibility bands turned into goals, not contractual targets: change them here
and every tile follows. `higher_is_better` decides whether a rise is coloured green.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    value: float
    higher_is_better: bool
    source: str


TARGETS: dict[str, Target] = {
    # Comm100: bot containment 38-98% by industry, 45% on average.
    "containment_rate": Target(0.45, True, "Comm100 average bot containment, 45%"),
    # Comm100: no published clean gap; bot-first journeys should not rate below humans.
    "csat_delta_pp": Target(0.0, True, "automated at least as satisfying as human (Comm100)"),
    # Phone AHT 4.5-8.8 min by industry, email active handling 4-6 min: mid-band.
    "aht_minutes": Target(6.5, False, "phone AHT band 4.5-8.8 min, email 4-6 min"),
    # Gartner: about $8 per live contact; a blended ticket with self-service costs less.
    "cost_per_ticket_usd": Target(8.0, False, "Gartner cost per live contact, about $8"),
    # Published SLA example and our policy seed: most tickets within target.
    "sla_compliance": Target(0.90, True, "SLA policy seed; 90% within target"),
    # HDI: first contact resolution about 66%.
    "fcr_rate": Target(0.66, True, "HDI first contact resolution, about 66%"),
}
