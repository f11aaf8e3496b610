"""Operations: the queue (volume, backlog), SLA by tier, reply and resolution times,
escalation and reopen rates, and the open tickets most likely to escalate."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import queries, ui
from dashboards.targets import TARGETS

TILES = (
    ui.Tile("SLA compliance", "sla_compliance", "pct", lambda r: f"{r.tickets:,} tickets"),
    ui.Tile("First contact resolution", "fcr_rate", "pct", lambda r: "resolved tickets"),
    ui.Tile("Escalation rate", "escalation_rate", "pct", lambda r: "above tier 1",
            higher_is_better=False),
    ui.Tile("Reopen rate", "reopen_rate", "pct", lambda r: "reopened at least once",
            higher_is_better=False),
)  # fmt: skip

st.title("Operations")
db = ui.serving_or_stop()
filters = ui.ticket_filters(db, segments=False)
ui.kpi_header(db, filters, TILES)

left, right = st.columns(2)
queue = queries.daily_queue(db, filters)
left.plotly_chart(
    px.line(queue, x="day", y=["created", "solved", "backlog"], title="Volume and backlog",
            labels={"value": "tickets", "variable": ""}),
    width="stretch",
)  # fmt: skip
by_tier = ui.kpi_frame(queries.kpis(db, filters, by="tier"), ["sla_compliance"])
sla = px.bar(by_tier, x="group", y="sla_compliance", title="SLA compliance by tier",
             labels={"group": "tier", "sla_compliance": "compliance"}, text_auto=".1%")  # fmt: skip
sla.add_hline(y=TARGETS["sla_compliance"].value, line_dash="dot", annotation_text="target")
sla.update_yaxes(tickformat=".0%", range=[0, 1])
right.plotly_chart(sla, width="stretch")

st.subheader("First reply and resolution times")
times = queries.ticket_times(db, filters)
left, right = st.columns(2)
for column, field, title in (
    (left, "first_reply_minutes", "First reply (calendar minutes)"),
    (right, "full_resolution_minutes", "Full resolution (calendar minutes)"),
):
    figure = px.box(times.dropna(subset=[field]), x="tier", y=field, color="tier", points=False,
                    log_y=True, title=title)  # fmt: skip
    column.plotly_chart(figure, width="stretch")
    column.dataframe(
        times.groupby("tier")[field].quantile([0.5, 0.9]).unstack().round(1)
        .rename(columns={0.5: "median", 0.9: "p90"}),
    )  # fmt: skip

st.subheader("Escalation and reopen rates")
left, right = st.columns(2)
for column, by in ((left, "channel"), (right, "category")):
    rates = ui.kpi_frame(queries.kpis(db, filters, by=by), ["escalation_rate", "reopen_rate"])
    figure = px.bar(rates, x="group", y=["escalation_rate", "reopen_rate"], barmode="group",
                    title=f"By {by}", labels={"group": by, "value": "rate", "variable": ""})  # fmt: skip
    figure.update_yaxes(tickformat=".0%")
    column.plotly_chart(figure, width="stretch")

st.subheader("Open tickets by escalation risk")
if not queries.has_tables(db, "ml.ticket_scores"):
    st.info(ui.NO_MODELS)
else:
    st.dataframe(
        queries.open_tickets_by_risk(db, filters),
        hide_index=True,
        column_config={
            "escalation_probability": st.column_config.ProgressColumn(
                "escalation risk", format="percent", min_value=0.0, max_value=1.0
            )
        },
    )
