"""Executive: the leadership KPIs against the previous period and their targets.

Which KPIs, their labels, units and targets: `serving.kpi_registry` (page "executive")."""

from __future__ import annotations

import streamlit as st

from dashboards import auth, queries, ui
from serving import kpi_registry as registry

KPIS = registry.on_page("executive")
TILES = tuple(k for k in KPIS if k.tile)

auth.guard("executive")
st.title("Executive")
db = ui.serving_or_stop()
filters = ui.ticket_filters(db)
ui.kpi_header(db, filters, TILES)

st.subheader("Weekly trends")
weekly = ui.kpi_frame(queries.kpis(db, filters, by="week"), [k.name for k in TILES])
columns = st.columns(2)
for i, k in enumerate(TILES):
    columns[i % 2].plotly_chart(ui.trend_chart(weekly, k), width="stretch")

st.subheader("By channel")
ui.kpi_table(queries.kpis(db, filters, by="channel"), KPIS, "channel")
