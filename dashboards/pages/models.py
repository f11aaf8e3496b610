"""Models: the champions, their metrics against the baselines and the ceiling, calibration,
and drift with links to the Evidently reports."""

from __future__ import annotations

from pathlib import Path

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from config.settings import PROJECT_ROOT
from dashboards import auth, queries, ui

auth.guard("models")
st.title("Models")
db = ui.serving_or_stop()
ui.models_or_stop(
    db, *(f"ml.{t}" for t in ("model_versions", "evaluations", "calibration", "drift"))
)

versions = queries.model_versions(db)
st.subheader("Champions")
st.caption(
    "review_labels: training tickets labelled by a reviewer's accept or override because "
    "their outcome could not be used yet (reviewed before the test window; docs/models.md)."
)
st.dataframe(versions[versions["status"] == "champion"], hide_index=True)
with st.expander("All versions"):
    st.dataframe(versions, hide_index=True)

st.subheader("Test-window metrics: champion vs logistic vs rule baseline vs ceiling")
st.caption(
    "Same test rows for every scorer. The rule baseline is the health score (churn) or the "
    "triage rule (escalation). The ceiling scores the planted truth: a model above it would "
    "have a leak. A useful probability has a Brier score below base_rate_brier, p(1 - p)."
)
evaluations = queries.champion_evaluations(db)
st.dataframe(evaluations, hide_index=True)
for column, (task, rows) in zip(st.columns(2) * 2, evaluations.groupby("task"), strict=False):
    long = rows.melt(id_vars="scorer", value_vars=["roc_auc", "pr_auc", "top_decile_lift"])
    column.plotly_chart(
        px.bar(long, x="variable", y="value", color="scorer", barmode="group",
               title=f"{task}: champion {rows['version'].iloc[0]}"),
        width="stretch",
    )  # fmt: skip

st.subheader("Named signals against the model")
st.caption(
    "The rule a team already uses (4 or more tickets in two weeks), on the test rows: its "
    "precision and recall, and the model's when it flags as many rows."
)
st.dataframe(queries.champion_signals(db), hide_index=True)

st.subheader("Calibration")
calibration = queries.champion_calibration(db)
for column, (task, rows) in zip(st.columns(2) * 2, calibration.groupby("task"), strict=False):
    figure = go.Figure(
        [
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line_dash="dot"),
            go.Scatter(x=rows["mean_predicted"], y=rows["observed_rate"], mode="lines+markers",
                       name=rows["version"].iloc[0], text=rows["rows"]),
        ]
    )  # fmt: skip
    figure.update_layout(title=f"{task}: predicted vs observed", height=320,
                         xaxis_title="mean predicted", yaxis_title="observed rate")  # fmt: skip
    column.plotly_chart(figure, width="stretch")

st.subheader("Drift")
drift = queries.latest_drift(db)
detected = int(drift["detected"].sum())
st.metric("Drift checks with drift detected", f"{detected} of {len(drift)}")
st.dataframe(
    drift,
    hide_index=True,
    column_config={
        "drift_share": st.column_config.NumberColumn("drift share", format="percent"),
        "threshold": st.column_config.NumberColumn("threshold", format="percent"),
    },
)
# Browsers do not follow file:// links from an http page: the reports are offered as files.
for row in drift.itertuples():
    report = Path(row.report_path or "")
    report = report if report.is_absolute() else PROJECT_ROOT / report
    if row.report_path and report.is_file():
        st.download_button(
            f"Drift report: {row.task}, {row.kind}",
            report.read_bytes(),
            file_name=report.name,
            mime="text/html",
            key=f"report-{row.task}-{row.kind}",
        )
    else:
        st.caption(f"{row.task}, {row.kind}: no report file at {row.report_path}")
