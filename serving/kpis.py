"""Leadership KPIs from `marts.fct_support_kpis_daily` in the serving database.

Which KPIs exist and how each is defined is `serving.kpi_registry`; this module computes
them. Every rate is re-aggregated from the mart's additive numerators and denominators
(`sums_sql`, one query for all KPIs), never by averaging daily ratios.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import duckdb

from serving import kpi_registry as registry

Dimension = Literal["channel", "tier", "category", "segment", "path"]
_COLUMNS = {
    "channel": "channel",
    "tier": "tier",
    "category": "category",
    "segment": "segment",
    "path": "handling_path",
}
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


@dataclass(frozen=True)
class KpiRow:
    """One group's additive sums and every registered KPI computed from them."""

    group: str
    sums: Mapping[str, float]
    values: Mapping[str, float | None]

    @property
    def tickets(self) -> int:
        return int(self.sums["tickets"])

    def __getitem__(self, name: str) -> float | None:
        return self.values[name]

    def denominator(self, name: str) -> int | None:
        """The count a ratio KPI divides by (responses, tickets...); None for a difference."""
        k = registry.kpi(name)
        if k.denominator is None:
            return None
        return int(self.sums[registry.measure_key(k.denominator, k.population.paths)])

    def interval(self, name: str) -> tuple[float, float] | None:
        """95% Wilson interval of a share KPI (`interval=True` in the registry)."""
        k = registry.kpi(name)
        n = self.denominator(name)
        if not k.interval or not n:
            return None
        counted = int(self.sums[registry.measure_key(k.numerator, k.population.paths)])
        return wilson_interval(n - counted if k.complement else counted, n)

    def as_dict(self) -> dict:
        """`group`, `tickets`, then per KPI its value, and for a ratio its denominator
        (`<name>_n`) and, for a share, its 95% interval (`<name>_ci`)."""
        out: dict = {"group": self.group, "tickets": self.tickets}
        for k in registry.KPIS:
            out[k.name] = self.values[k.name]
            if k.denominator is not None:
                out[f"{k.name}_n"] = self.denominator(k.name)
            if k.interval:
                out[f"{k.name}_ci"] = self.interval(k.name)
        return out


def kpi_value(k: registry.Kpi, sums: Mapping[str, float], values: Mapping[str, float | None]):
    """One KPI from additive sums (and, for a difference, the KPIs computed before it)."""
    if k.difference is not None:
        first, second = (values[name] for name in k.difference)
        return None if first is None or second is None else (first - second) * 100
    numerator = sums[registry.measure_key(k.numerator, k.population.paths)]
    denominator = sums[registry.measure_key(k.denominator, k.population.paths)]
    if not denominator:
        return None
    ratio = numerator / denominator
    return 1 - ratio if k.complement else ratio * k.scale


def kpi_row(group: object, sums: Mapping[str, float]) -> KpiRow:
    """Every registered KPI over one group's sums (keys from `registry.measure_key`)."""
    sums = {key: float(v or 0) for key, v in sums.items()}
    values: dict[str, float | None] = {}
    ordered = sorted(registry.KPIS, key=lambda k: k.difference is not None)
    for k in ordered:
        values[k.name] = kpi_value(k, sums, values)
    return KpiRow(str(group), sums, {k.name: values[k.name] for k in registry.KPIS})


def sums_sql(source: str, group: str, where: str = "TRUE") -> str:
    """The one re-aggregation: each sum the registry needs, per group, from the KPI mart's
    additive columns (flow measures only: summing them over any grain column is exact)."""
    columns = []
    for column, paths in registry.measures():
        expression = f"coalesce(sum({column}), 0)"
        if paths is not None:
            listed = ", ".join(f"'{p}'" for p in paths)
            expression = f"coalesce(sum({column}) FILTER (WHERE handling_path IN ({listed})), 0)"
        columns.append(f'{expression} AS "{registry.measure_key(column, paths)}"')
    return (
        f"SELECT {group} AS grp, " + ", ".join(columns) + f" FROM {source} WHERE {where} "
        "GROUP BY ALL HAVING sum(tickets) > 0 ORDER BY 1"
    )


def rows_from(cursor: duckdb.DuckDBPyConnection) -> list[KpiRow]:
    """KpiRows from an executed `sums_sql` query."""
    names = [d[0] for d in cursor.description]
    return [
        kpi_row(row[0], dict(zip(names[1:], row[1:], strict=True))) for row in cursor.fetchall()
    ]


def kpi_table(
    con: duckdb.DuckDBPyConnection,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    by: Dimension | None = None,
) -> list[KpiRow]:
    """One KpiRow per value of `by` (or one overall row) for tickets created in the window."""
    group = _COLUMNS[by] if by else "'all'"
    sql = sums_sql(
        "marts.fct_support_kpis_daily",
        group,
        "kpi_date BETWEEN coalesce($first, DATE '1900-01-01') "
        "AND coalesce($last, DATE '2999-12-31')",
    )
    return rows_from(con.execute(sql, {"first": first_day, "last": last_day}))


def data_as_of(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime, dt.date | None]:
    """When the serving file was published, and the newest landing day it reflects."""
    return con.execute("SELECT published_at, data_as_of FROM serving_info").fetchone()
