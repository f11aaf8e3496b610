"""Outreach: the ranked at-risk accounts with their reasons, for customer success."""

from __future__ import annotations

import streamlit as st

from dashboards import auth, queries, ui

access = auth.guard("outreach")
st.title("Outreach")
db = ui.serving_or_stop()
ui.models_or_stop(db, "ml.outreach_list")
# Customer success sees the accounts it owns (auth: [supportops.account_owners]); None: all.
own = access.owners
if own == ():
    st.info("No accounts are assigned to you: ask for your CRM owner name to be added to "
            "`[supportops.account_owners]` in `.streamlit/secrets.toml`.")  # fmt: skip
    st.stop()
options = queries.outreach_options(db)
owner_options = [o for o in options.get("owner", ()) if own is None or o in own]
left, middle, right = st.columns(3)
segments = left.multiselect("Segment", options.get("segment", ()), key="outreach_segment")
owners = middle.multiselect("Owner", owner_options, key="outreach_owner")
min_probability = right.slider("Minimum churn probability", 0.0, 1.0, 0.0, 0.05, key="min_p")
accounts = queries.outreach(db, tuple(segments), tuple(owners or own or ()), min_probability)

st.caption(
    "The list is sized for the team: accounts above the churn probability that reached the "
    "target precision on the model's test rows, at most SUPPORTOPS_OUTREACH_PER_OWNER per "
    "owner (SUPPORTOPS_OUTREACH_PRECISION sets the target)."
)
a, b, c, d = st.columns(4)
a.metric("Accounts to contact", f"{len(accounts):,}")
b.metric("Expected churns among them", f"{accounts['churn_probability'].sum():,.1f}")
c.metric("Revenue at risk", f"${accounts['revenue_at_risk'].sum():,.0f}")
d.metric("ARR of these accounts", f"${accounts['arr'].sum():,.0f}")
if not accounts.empty:
    st.caption(f"Scores as of {accounts['as_of_date'].max():%Y-%m-%d}.")
st.dataframe(
    accounts,
    hide_index=True,
    column_config={
        "churn_probability": st.column_config.ProgressColumn(
            "churn probability", format="percent", min_value=0.0, max_value=1.0
        ),
        "arr": st.column_config.NumberColumn("ARR", format="dollar"),
        "revenue_at_risk": st.column_config.NumberColumn("revenue at risk", format="dollar"),
    },
)
st.download_button(
    "Download CSV",
    accounts.to_csv(index=False).encode(),
    file_name="outreach.csv",
    mime="text/csv",
    disabled=accounts.empty,
)
