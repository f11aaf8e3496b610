"""Review: reviewers accept or override the open tickets the triage policy flags (senior
review, human approval; a filter shows other actions), and see how often they agree with
the model. Decisions go to the actions store (never the warehouse); the figures below come
from the warehouse, so a decision shows there after the next refresh."""

from __future__ import annotations

import streamlit as st

from config.settings import get_settings
from dashboards import auth, queries, ui
from extracts import actions
from ml.triage import ACTIONS, FLAGS

access = auth.guard("review")
st.title("Review")
db = ui.serving_or_stop()

st.subheader("Open tickets the triage policy flags")
if not queries.has_tables(db, "ml.ticket_scores"):
    st.info(ui.NO_MODELS)
else:
    filters = ui.ticket_filters(db)
    shown = st.multiselect("Policy action", ACTIONS, default=FLAGS, key="actions")
    flagged = queries.open_tickets_by_risk(db, filters, limit=1000, actions=tuple(shown))
    versions = ", ".join(sorted(flagged["policy_version"].dropna().unique())) or "none"
    st.caption(
        f"{len(flagged):,} open tickets whose action under the champion's triage policy "
        f"({versions}) is {' or '.join(shown) or 'any'}: senior_review and human_approval "
        "are the flags. Accept: the ticket needs the attention the policy gave it; override: "
        "it does not (say why)."
    )
    st.dataframe(
        flagged,
        hide_index=True,
        column_config={
            "escalation_probability": st.column_config.ProgressColumn(
                "escalation risk", format="percent", min_value=0.0, max_value=1.0
            )
        },
    )
    left, middle, right = st.columns(3)
    ticket = left.selectbox("Ticket", flagged["ticket_id"].tolist(), key="review_ticket")
    decision = middle.radio("Decision", actions.DECISIONS, horizontal=True, key="review_decision")
    reason = right.selectbox("Reason of an override", actions.OVERRIDE_REASONS, key="review_reason")
    if st.button("Record decision", key="record_review", disabled=ticket is None):
        row = flagged[flagged["ticket_id"] == ticket].iloc[0]
        decision_id = actions.record_review(
            get_settings().actions_store, int(ticket), decision, reason,
            auth.recorder(access, "review"),
            escalation_probability=float(row["escalation_probability"]),
            model_version=str(row["model_version"]),
        )  # fmt: skip
        st.success(f"Recorded decision {decision_id}: ticket {ticket} {decision}.")

st.subheader("How reviewers judge the model")
decisions = (
    queries.review_decisions(db) if queries.has_tables(db, "marts.fct_review_decisions") else None
)
if decisions is None or decisions.empty:
    st.info("No review decisions in the warehouse yet: they arrive with the next refresh.")
else:
    overrides = decisions[decisions["is_override"]]
    a, b, c = st.columns(3)
    a.metric("Decisions", f"{len(decisions):,}")
    b.metric("Override rate", f"{len(overrides) / len(decisions):.1%}")
    labelled = decisions[decisions["is_latest_for_ticket"]]
    c.metric("Tickets labelled", f"{len(labelled):,}")
    # Labels train the escalation model (docs/models.md): how often they match the outcome
    # once it is final is what they are worth.
    checked = labelled["is_review_confirmed"].dropna().astype(bool)
    st.metric(
        "Reviewers agree with the final outcome",
        f"{checked.mean():.1%}" if len(checked) else "no final outcome yet",
        help=f"{len(checked):,} labelled tickets whose tier-3 outcome is final (resolved or "
        "open 14 days): an accept matches a tier-3 escalation, an override none.",
    )
    by_reason = (
        overrides.groupby("decision_reason").size().div(len(decisions)).rename("override rate")
    )
    st.caption("Override rate by reason (share of all decisions)")
    st.bar_chart(by_reason)
    agreement = (
        decisions.assign(agrees=~decisions["is_override"])
        .groupby("decided_date")["agrees"]
        .mean()
        .rename("agreement with the model")
    )
    st.caption("Agreement with the model by day (share of decisions accepted)")
    st.line_chart(agreement)
