"""Pieces every page shares: the serving file, the filter sidebar, KPI tiles, trend charts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import queries
from dashboards.queries import Filters, Serving
from dashboards.targets import TARGETS
from orchestration.settings import load_settings
from serving.kpis import KpiRow

NO_DATA = "No published data yet: run `make demo` to build the warehouse and publish it."
NO_MODELS = "No models trained yet — run `make demo` to train, score and publish them."
DEFAULT_DAYS = 28


def current_serving() -> Serving | None:
    """The serving file as it is now; settings are re-read so the env var can move it."""
    return queries.serving_file(load_settings().serving)


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


def ticket_filters(db: Serving, segments: bool) -> Filters:
    """Sidebar filters: a date range (the last four weeks by default) and the dimensions."""
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
            for dim in ("channel", "tier", "category", *(("segment",) if segments else ()))
        }
    return Filters(
        dates[0],
        dates[1],
        chosen["channel"],
        chosen["tier"],
        chosen["category"],
        chosen.get("segment", ()),
    )


FORMATS: dict[str, Callable[[float], str]] = {
    "pct": lambda v: f"{v:.1%}",
    "pp": lambda v: f"{v:+.1f} pp",
    "min": lambda v: f"{v:.1f} min",
    "usd": lambda v: f"${v:,.2f}",
}
DELTAS: dict[str, Callable[[float], str]] = {
    "pct": lambda d: f"{d * 100:+.1f} pp",
    "pp": lambda d: f"{d:+.1f} pp",
    "min": lambda d: f"{d:+.1f} min",
    "usd": lambda d: f"{'-' if d < 0 else '+'}${abs(d):,.2f}",
}


@dataclass(frozen=True)
class Tile:
    label: str
    field: str
    kind: str
    detail: Callable[[KpiRow], str]
    higher_is_better: bool = True


def _ci(ci: tuple[float, float] | None) -> str:
    return "no responses" if ci is None else f"95% CI {ci[0]:.1%}-{ci[1]:.1%}"


def csat_detail(row: KpiRow) -> str:
    automated = "-" if row.csat_automated is None else f"{row.csat_automated:.1%}"
    human = "-" if row.csat_human is None else f"{row.csat_human:.1%}"
    return (
        f"automated {automated} (n={row.csat_automated_responses:,}, "
        f"{_ci(row.csat_automated_ci)}) vs human {human} "
        f"(n={row.csat_human_responses:,}, {_ci(row.csat_human_ci)})"
    )


def kpi_tiles(current: KpiRow, previous: KpiRow | None, tiles: Sequence[Tile]) -> None:
    """One metric per tile: value, change against the previous period, target, sample."""
    for column, tile in zip(st.columns(len(tiles)), tiles, strict=True):
        value = getattr(current, tile.field)
        before = getattr(previous, tile.field) if previous else None
        target = TARGETS.get(tile.field)
        higher_is_better = target.higher_is_better if target else tile.higher_is_better
        with column:
            st.metric(
                tile.label,
                "-" if value is None else FORMATS[tile.kind](value),
                delta=None
                if value is None or before is None
                else DELTAS[tile.kind](value - before),
                delta_color="normal" if higher_is_better else "inverse",
                help=target.source if target else None,
                border=True,
            )
            if target:
                sign = "≥" if target.higher_is_better else "≤"
                met = value is not None and (value >= target.value) == target.higher_is_better
                st.caption(
                    f"target {sign} {FORMATS[tile.kind](target.value)} "
                    f"{'met' if met else 'missed'} · {tile.detail(current)}"
                )
            else:
                st.caption(tile.detail(current))


def kpi_frame(rows: Sequence[KpiRow], fields: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([{"group": r.group, **{f: getattr(r, f) for f in fields}} for r in rows])


def trend_chart(frame: pd.DataFrame, field: str, title: str, kind: str) -> go.Figure:
    """A weekly line of one KPI with its target, if it has one."""
    scale = 100 if kind == "pct" else 1
    figure = go.Figure(go.Scatter(x=frame["group"], y=frame[field] * scale, mode="lines+markers"))
    target = TARGETS.get(field)
    if target:
        figure.add_hline(
            y=target.value * scale, line_dash="dot", annotation_text="target", line_color="gray"
        )
    figure.update_layout(title=title, height=260, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def kpi_header(db: Serving, filters: Filters, tiles: Sequence[Tile]) -> None:
    """The page's tiles for the filtered period against the one before; stops the page
    when no ticket matches."""
    current = queries.kpis(db, filters)
    if not current:
        st.info("No tickets match these filters.")
        st.stop()
    previous = queries.kpis(db, filters.shifted_back())
    kpi_tiles(current[0], previous[0] if previous else None, tiles)
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
