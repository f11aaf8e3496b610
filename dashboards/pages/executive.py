"""Executive: the leadership KPIs against the previous period and their targets."""

from __future__ import annotations

import streamlit as st

from dashboards import queries, ui

TILES = (
    ui.Tile("Containment rate", "containment_rate", "pct",
            lambda r: f"{r.bot_handled_tickets:,} bot-handled tickets"),
    ui.Tile("CSAT delta, automated vs human", "csat_delta_pp", "pp", ui.csat_detail),
    ui.Tile("Average handle time", "aht_minutes", "min",
            lambda r: "agent time per agent-touched ticket"),
    ui.Tile("Cost per ticket", "cost_per_ticket_usd", "usd", lambda r: f"{r.tickets:,} tickets"),
)  # fmt: skip
TRENDS = {tile.field: (tile.label, tile.kind) for tile in TILES}

st.title("Executive")
db = ui.serving_or_stop()
filters = ui.ticket_filters(db, segments=True)
ui.kpi_header(db, filters, TILES)

st.subheader("Weekly trends")
weekly = ui.kpi_frame(queries.kpis(db, filters, by="week"), list(TRENDS))
for column, (field, (label, kind)) in zip(st.columns(2) * 2, TRENDS.items(), strict=True):
    column.plotly_chart(ui.trend_chart(weekly, field, label, kind), width="stretch")

st.subheader("By channel")
fields = ["tickets", "containment_rate", "csat_delta_pp", "aht_minutes", "cost_per_ticket_usd"]
st.dataframe(
    ui.kpi_frame(queries.kpis(db, filters, by="channel"), fields),
    hide_index=True,
    column_config={
        "containment_rate": st.column_config.NumberColumn("containment", format="percent"),
        "csat_delta_pp": st.column_config.NumberColumn("CSAT delta (pp)", format="%+.1f"),
        "aht_minutes": st.column_config.NumberColumn("AHT (min)", format="%.1f"),
        "cost_per_ticket_usd": st.column_config.NumberColumn("cost/ticket", format="dollar"),
    },
)
