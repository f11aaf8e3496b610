"""Alerts: accounts whose product use dropped or whose tickets burst against their own baseline."""

from __future__ import annotations

import streamlit as st

from dashboards import auth, queries, ui

access = auth.guard("alerts")
st.title("Account alerts")
db = ui.serving_or_stop()
if not queries.has_tables(db, "marts.fct_account_alerts"):
    st.info("No alerts published yet: run `make demo` (or `supportops materialize`).")
    st.stop()
own = ui.owned_accounts_or_stop(access.owners)
days = queries.alert_days(db)
if not days:
    st.info("No alert has fired yet: baselines need 35 days of data (90 for ticket bursts).")
    st.stop()
left, right = st.columns(2)
day = left.selectbox("As of", days, format_func=lambda d: f"{d:%Y-%m-%d}", key="alerts_day")
types = right.multiselect(
    "Alert type", ["usage_drop", "ticket_burst"], key="alerts_type",
    format_func=lambda t: t.replace("_", " "),
)  # fmt: skip
frame = queries.alerts(db, day, tuple(types), tuple(own or ()))

st.caption(
    "Each alert compares an account with its own past, not with other accounts: a usage "
    "drop is product events per seat in the last 7 days at most 60% of the average week of "
    "the 4 weeks before; a ticket burst is tickets in the last 14 days at least 2.5x the "
    "account's own 90-day rate (and 3+). New: it did not fire the day before."
)
a, b, c = st.columns(3)
a.metric("Alerts", f"{len(frame):,}")
b.metric("New today", f"{int(frame['is_new'].sum()):,}")
c.metric("ARR of these accounts", f"${frame.drop_duplicates('account_id')['arr'].sum():,.0f}")
st.dataframe(
    frame.drop(columns=["as_of_date"]),
    hide_index=True,
    column_config={
        "arr": st.column_config.NumberColumn("ARR", format="dollar"),
        "ratio": st.column_config.NumberColumn("vs baseline", format="%.2fx"),
        "observed": st.column_config.NumberColumn(format="%.1f"),
        "baseline": st.column_config.NumberColumn(format="%.1f"),
    },
)
st.download_button(
    "Download CSV",
    frame.to_csv(index=False).encode(),
    file_name=f"alerts_{day:%Y-%m-%d}.csv",
    mime="text/csv",
    disabled=frame.empty,
)
st.subheader("Alerts per day")
counts = queries.alert_counts(db, tuple(own or ()))
st.line_chart(counts, x="day", y="firing", color="alert_type")
