"""Pieces every page shares: the serving file, the filter sidebar, KPI tiles, trend charts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from config.settings import get_settings
from dashboards import queries
from dashboards.queries import Filters, Serving
from serving import kpi_registry as registry
from serving.kpis import KpiRow

NO_DATA = "No published data yet: run `make demo` to build the warehouse and publish it."
NO_MODELS = "No models trained yet — run `make demo` to train, score and publish them."
DEFAULT_DAYS = 28
TILES_PER_ROW = 4


def current_serving() -> Serving | None:
    """The serving file as it is now; settings are re-read so the env var can move it."""
    return queries.serving_file(get_settings().serving)


def serving_or_stop() -> Serving:
    """The serving file, or the "run make demo" message and an end to the page."""
    db = current_serving()
    if db is None:
        st.info(NO_DATA)
        st.stop()
    return db


def models_or_stop(db: Serving, *ml_tables: str) -> None:
    """Pages built on the ML tables explain how to get them when they are absent."""
    if not queries.has_tables(db, *ml_tables):
        st.info(NO_MODELS)
        st.stop()


def owned_accounts_or_stop(owners: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The CRM owners whose accounts this user sees (None: all). Customer success sees the
    accounts it owns (auth: `[supportops.account_owners]`); someone assigned none is told
    how to get them, and the page ends."""
    if owners == ():
        st.info(
            "No accounts are assigned to you: ask for your CRM owner name to be added to "
            "`[supportops.account_owners]` in `.streamlit/secrets.toml`."
        )
        st.stop()
    return owners


def ticket_filters(db: Serving) -> Filters:
    """Sidebar filters: a date range (the last four weeks by default) and the dimensions,
    segment included (a column of the KPI mart's grain, so every page can filter on it)."""
    options = queries.filter_options(db)
    first, last = options["first_day"], options["last_day"]
    default_first = max(first, last - dt.timedelta(days=DEFAULT_DAYS - 1))
    with st.sidebar:
        dates = st.date_input(
            "Created between", (default_first, last), min_value=first, max_value=last, key="dates"
        )
        if len(dates) != 2:
            st.info("Pick the last day of the range.")
            st.stop()
        chosen = {
            dim: tuple(st.multiselect(dim.capitalize(), options.get(dim, ()), key=dim))
            for dim in ("channel", "tier", "category", "segment")
        }
    return Filters(
        dates[0],
        dates[1],
        chosen["channel"],
        chosen["tier"],
        chosen["category"],
        chosen["segment"],
    )


def _ci(ci: tuple[float, float] | None) -> str:
    return "no trials" if ci is None else f"95% CI {ci[0]:.1%}-{ci[1]:.1%}"


def detail(row: KpiRow, k: registry.Kpi) -> str:
    """A tile's caption: what the figure counts and over how many, or, for a difference,
    both sides with their samples and intervals."""
    if k.difference is not None:
        sides = []
        for name in k.difference:
            side = registry.kpi(name)
            sides.append(
                f"{side.label} {registry.format_value(side.unit, row[name])} "
                f"(n={row.denominator(name):,}, {_ci(row.interval(name))})"
            )
        return " vs ".join(sides)
    return f"{k.description} (n={row.denominator(k.name):,})"


def kpi_tiles(current: KpiRow, previous: KpiRow | None, kpis: Sequence[registry.Kpi]) -> None:
    """One metric per KPI, four to a row: value, change against the previous period, target
    (only a target of the KPI's own population exists in the registry), sample."""
    for start in range(0, len(kpis), TILES_PER_ROW):
        chunk = kpis[start : start + TILES_PER_ROW]
        for column, k in zip(st.columns(TILES_PER_ROW)[: len(chunk)], chunk, strict=True):
            value = current[k.name]
            before = previous[k.name] if previous else None
            with column:
                st.metric(
                    k.label,
                    registry.format_value(k.unit, value),
                    delta=None
                    if value is None or before is None
                    else registry.format_change(k.unit, value - before),
                    delta_color="normal" if k.higher_is_better else "inverse",
                    help=f"{k.description}. Population: {k.population.name}."
                    + (f" Target: {k.target.source}." if k.target else " No target."),
                    border=True,
                )
                if k.target:
                    met = registry.target_met(k, value)
                    st.caption(
                        f"target {registry.format_target(k)} {'met' if met else 'missed'} · "
                        f"{detail(current, k)}"
                    )
                else:
                    st.caption(detail(current, k))


def kpi_frame(rows: Sequence[KpiRow], names: Sequence[str]) -> pd.DataFrame:
    """One row per group: `group`, `tickets` and each KPI's value under its name."""
    return pd.DataFrame(
        [{"group": r.group, "tickets": r.tickets, **{n: r[n] for n in names}} for r in rows]
    )


def kpi_table(rows: Sequence[KpiRow], kpis: Sequence[registry.Kpi], group: str) -> None:
    """A table of KPIs by group, columns headed by the registry's labels."""
    frame = kpi_frame(rows, [k.name for k in kpis]).rename(
        columns={"group": group, **{k.name: k.label for k in kpis}}
    )
    formats = {"rate": "percent", "pp": "%+.1f", "minutes": "%.1f", "usd": "dollar"}
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            k.label: st.column_config.NumberColumn(format=formats[k.unit]) for k in kpis
        },
    )


def trend_chart(frame: pd.DataFrame, k: registry.Kpi) -> go.Figure:
    """A weekly line of one KPI with its target, if it has one."""
    scale = 100 if k.unit == "rate" else 1
    figure = go.Figure(go.Scatter(x=frame["group"], y=frame[k.name] * scale, mode="lines+markers"))
    if k.target:
        figure.add_hline(
            y=k.target.value * scale, line_dash="dot", annotation_text="target", line_color="gray"
        )
    figure.update_layout(title=k.label, height=260, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def kpi_header(db: Serving, filters: Filters, kpis: Sequence[registry.Kpi]) -> None:
    """The page's tiles for the filtered period against the one before; stops the page
    when no ticket matches."""
    current = queries.kpis(db, filters)
    if not current:
        st.info("No tickets match these filters.")
        st.stop()
    previous = queries.kpis(db, filters.shifted_back())
    kpi_tiles(current[0], previous[0] if previous else None, kpis)
    period_caption(filters, bool(previous))


def period_caption(filters: Filters, has_previous: bool) -> None:
    previous = filters.shifted_back()
    against = (
        f"changes are against {previous.first_day} to {previous.last_day}"
        if has_previous
        else f"no tickets from {previous.first_day} to {previous.last_day} to compare with"
    )
    st.caption(
        f"Tickets created {filters.first_day} to {filters.last_day}; {against} "
        "(same length, same filters)."
    )
