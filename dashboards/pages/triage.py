"""Triage: the policy's precision/recall trade-off on recent tickets, a threshold control,
and where the policy's chosen senior threshold sits on the curve."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboards import auth, queries, ui

auth.guard("triage")
st.title("Triage")
db = ui.serving_or_stop()
ui.models_or_stop(db, *(f"ml.{name}" for name in queries.TRIAGE_TABLES))

data = queries.triage(db)
curve, thresholds = data["triage_curve"], data["triage_policy"]
if curve.empty:
    st.info("The policy backtest has no tickets with mature labels yet.")
    st.stop()
first = curve.iloc[0]
st.caption(
    f"Policy **{first['policy_version']}** on escalation model {first['model_version']}, "
    f"replayed over tickets created {first['window_start']:%Y-%m-%d}..{first['window_end']:%Y-%m-%d} "
    "whose labels are mature. The thresholds were chosen for their targets on the model's "
    "validation (out-of-fold) predictions of its training rows, not on test rows."
)
st.dataframe(thresholds.drop(columns=["policy_version", "model_version", "window_start",
                                      "window_end"]), hide_index=True)  # fmt: skip

senior = thresholds.set_index("threshold")["value"].get("senior", float("nan"))
st.subheader("Senior queue: precision, recall and load against the threshold")
chosen = st.slider(
    "Senior-review threshold (escalation probability)",
    min_value=0.0, max_value=1.0, value=round(float(senior), 2), step=0.01, key="triage_threshold",
)  # fmt: skip
point = curve.iloc[(curve["threshold"] - chosen).abs().argmin()]
left, middle, right, last = st.columns(4)
left.metric(
    "Precision", "-" if point["precision"] != point["precision"] else f"{point['precision']:.1%}"
)
middle.metric("Recall", f"{point['recall']:.1%}")
right.metric("Senior queue per day", f"{point['flagged_per_day']:.1f}")
last.metric("Policy's threshold", f"{senior:.3f}")

figure = go.Figure(
    [
        go.Scatter(x=curve["threshold"], y=curve["precision"], name="precision"),
        go.Scatter(x=curve["threshold"], y=curve["recall"], name="recall"),
        go.Scatter(x=curve["threshold"], y=curve["flagged_per_day"], name="tickets per day",
                   yaxis="y2", line_dash="dot"),
    ]
)  # fmt: skip
figure.add_vline(x=senior, line_dash="dash", annotation_text="policy", line_color="red")
figure.add_vline(x=chosen, line_dash="dot", annotation_text="chosen", line_color="gray")
figure.update_layout(
    height=380, xaxis_title="threshold", yaxis={"title": "precision / recall", "range": [0, 1]},
    yaxis2={"title": "tickets per day", "overlaying": "y", "side": "right"},
)  # fmt: skip
st.plotly_chart(figure, width="stretch")

st.subheader("The policy replayed")
st.caption("Flags (senior_review, human_approval) against tier-3 escalations.")
st.dataframe(
    data["triage_actions"][["action", "tickets", "share", "escalated", "precision", "recall"]],
    hide_index=True,
    column_config={name: st.column_config.NumberColumn(name, format="percent")
                   for name in ("share", "precision", "recall")},
)  # fmt: skip
left, right = st.columns(2)
left.bar_chart(data["triage_senior_load"], x="day", y="senior_queue_tickets", height=260)
right.dataframe(data["triage_sla"][["group", "tickets", "sla_breaches", "breach_rate"]],
                hide_index=True)  # fmt: skip
