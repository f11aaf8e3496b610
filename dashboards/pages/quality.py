"""Data quality: the latest gate results, freshness per source, quarantine by reason."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import auth, queries, ui

auth.guard("quality")
st.title("Data quality")
db = ui.serving_or_stop()
published = queries.tables(db)

st.subheader("Latest check results")
if "quality.check_results" not in published:
    st.info("This serving file has no quality results: republish it with `make demo`.")
else:
    checks = queries.latest_checks(db)
    failed = checks[~checks["success"]]
    a, b, c = st.columns(3)
    a.metric("Checks in the latest runs", f"{len(checks):,}")
    b.metric("Failed, critical", f"{(failed['severity'] == 'critical').sum():,}")
    c.metric("Failed, warning", f"{(failed['severity'] != 'critical').sum():,}")
    gates = (
        checks.groupby(["suite", "check_name", "severity"], sort=False)
        .agg(checks=("success", "size"), failed=("success", lambda ok: int((~ok).sum())),
             checked_at=("checked_at", "max"))
        .reset_index()
    )  # fmt: skip
    st.dataframe(gates, hide_index=True)
    with st.expander("Every check, failures first"):
        st.dataframe(checks, hide_index=True)

st.subheader("Freshness per source")
if "main.raw_summary" not in published:
    st.info("This serving file has no load summary: republish it with `make demo`.")
else:
    st.dataframe(queries.source_freshness(db), hide_index=True)

st.subheader("Quarantined rows by reason")
quarantine = queries.quarantine_counts(db)
if quarantine.empty:
    st.success("No quarantined rows.")
else:
    st.plotly_chart(
        px.bar(quarantine, x="quarantined", y="table_name", color="fault_kind", orientation="h",
               hover_data=["field"]),
        width="stretch",
    )  # fmt: skip
    st.dataframe(quarantine, hide_index=True)
