"""Outreach: the ranked at-risk accounts with their reasons, for customer success."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from config.settings import get_settings
from dashboards import auth, queries, ui
from extracts import actions
from ml.feedback import uplift_table

access = auth.guard("outreach")
st.title("Outreach")
db = ui.serving_or_stop()
ui.models_or_stop(db, "ml.outreach_list")
own = ui.owned_accounts_or_stop(access.owners)
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

st.subheader("Record an outreach")
settings = get_settings()
left, right = st.columns(2)
account = left.selectbox("Account", accounts["account_id"].tolist(), key="contact_account")
outcome = right.selectbox("Outcome", actions.OUTCOMES, key="contact_outcome")
if st.button("Mark contacted", key="record_contact", disabled=account is None):
    listed = accounts.loc[accounts["account_id"] == account, "as_of_date"].iloc[0]
    try:
        record = actions.record_contact(
            settings.actions_store, account, outcome, auth.recorder(access, "outreach"),
            listed_on=listed.date(), holdout_share=settings.outreach_holdout,
        )  # fmt: skip
        st.success(f"Recorded outreach {record}: {account} {outcome}.")
    except actions.ActionError as exc:
        st.error(str(exc))

st.subheader("Does outreach work?")
st.caption(
    f"Each quarter a random {settings.outreach_holdout:.0%} of the listed accounts (by a hash "
    "of account id and quarter, SUPPORTOPS_OUTREACH_HOLDOUT) is kept off the list. Uplift = "
    "churn among them minus churn among the contacted, from listing to the quarter's end, "
    "over quarters that have ended; 95% Newcombe interval."
)
outcomes = (
    queries.outreach_outcomes(db) if queries.has_tables(db, "marts.fct_outreach_outcomes") else None
)
uplift = None if outcomes is None else uplift_table(outcomes)
if uplift is None or uplift.iloc[0]["uplift"] is None or pd.isna(uplift.iloc[0]["uplift"]):
    st.info("No quarter with both contacted and held-out accounts has ended yet.")
else:
    overall = uplift.iloc[0]
    a, b, c = st.columns(3)
    a.metric(
        "Churn, holdout",
        f"{overall['holdout_churn_rate']:.1%}",
        help=f"{overall['holdout_churned']} of {overall['holdout_accounts']} accounts",
    )
    b.metric(
        "Churn, contacted",
        f"{overall['contacted_churn_rate']:.1%}",
        help=f"{overall['contacted_churned']} of {overall['contacted_accounts']} accounts",
    )
    c.metric(
        "Uplift of outreach",
        f"{overall['uplift']:+.1%}",
        help="Churn prevented per listed account contacted",
    )
    st.caption(
        f"Uplift {overall['uplift']:+.1%} (95% interval {overall['uplift_low']:+.1%} to "
        f"{overall['uplift_high']:+.1%})."
    )  # fmt: skip
    st.dataframe(uplift, hide_index=True)
