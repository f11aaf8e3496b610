"""Operations: the queue (volume, backlog), SLA attainment by tier, reply and resolution
times, escalation and reopen rates, and the open tickets most likely to escalate.

Which KPIs, their labels, units and targets: `serving.kpi_registry` (page "operations")."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards import auth, queries, ui
from serving import kpi_registry as registry

KPIS = registry.on_page("operations")
SLA_KPIS = [registry.kpi(name) for name in
            ("sla_first_response_attainment", "sla_resolution_attainment", "sla_all_met_rate")]  # fmt: skip

auth.guard("operations")
st.title("Operations")
db = ui.serving_or_stop()
filters = ui.ticket_filters(db)
ui.kpi_header(db, filters, tuple(k for k in KPIS if k.tile))

left, right = st.columns(2)
queue = queries.daily_queue(db, filters)
left.plotly_chart(
    px.line(queue, x="day", y=["created", "solved", "backlog"], title="Volume and backlog",
            labels={"value": "tickets", "variable": ""}),
    width="stretch",
)  # fmt: skip
by_tier = ui.kpi_frame(queries.kpis(db, filters, by="tier"), [k.name for k in SLA_KPIS])
by_tier = by_tier.rename(columns={k.name: k.label for k in SLA_KPIS})
sla = px.bar(by_tier, x="group", y=[k.label for k in SLA_KPIS], barmode="group",
             title="SLA attainment by tier, each SLA apart and per ticket",
             labels={"group": "tier", "value": "attained", "variable": ""}, text_auto=".1%")  # fmt: skip
for value in sorted({k.target.value for k in SLA_KPIS if k.target}):
    sla.add_hline(y=value, line_dash="dot", annotation_text="target")
sla.update_yaxes(tickformat=".0%", range=[0, 1])
right.plotly_chart(sla, width="stretch")

st.subheader("First reply and resolution times")
times = queries.ticket_times(db, filters)  # one row per measure and tier: drawn, not derived
left, right = st.columns(2)
for column, field, title in (
    (left, "first_reply_minutes", "First reply (calendar minutes)"),
    (right, "full_resolution_minutes", "Full resolution (calendar minutes)"),
):
    spread = times[times["measure"] == field]
    figure = go.Figure(
        [go.Box(name=r.tier, x=[r.tier], q1=[r.q1], median=[r.median], q3=[r.q3],
                lowerfence=[r.lower_fence], upperfence=[r.upper_fence])
         for r in spread.itertuples()]
    )  # fmt: skip
    figure.update_layout(title=title, xaxis_title="tier", yaxis_title=field)
    figure.update_yaxes(type="log")
    column.plotly_chart(figure, width="stretch")
    column.dataframe(spread.set_index("tier")[["tickets", "median", "p90"]].round(1))

st.subheader("Escalation and reopen rates")
left, right = st.columns(2)
rates_kpis = [registry.kpi("escalation_rate"), registry.kpi("reopen_rate")]
for column, by in ((left, "channel"), (right, "category")):
    rates = ui.kpi_frame(queries.kpis(db, filters, by=by), [k.name for k in rates_kpis])
    rates = rates.rename(columns={k.name: k.label for k in rates_kpis})
    figure = px.bar(rates, x="group", y=[k.label for k in rates_kpis], barmode="group",
                    title=f"By {by}", labels={"group": by, "value": "rate", "variable": ""})  # fmt: skip
    figure.update_yaxes(tickformat=".0%")
    column.plotly_chart(figure, width="stretch")

st.subheader("By tier")
ui.kpi_table(queries.kpis(db, filters, by="tier"), KPIS, "tier")

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
