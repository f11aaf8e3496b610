"""supportops dashboards: `make dashboard` (or `supportops dashboard`) on http://127.0.0.1:8501.

Reads only the published serving database, read-only; with none published yet, a single
page says how to build it. Who sees which page: `dashboards/auth.py` (a login when
`.streamlit/secrets.toml` configures one; an anonymous visitor then gets only the sign-in
page, and nothing is read from the serving file for them).
"""

from __future__ import annotations

import streamlit as st

from dashboards import auth, queries, ui

# (file under pages/, which is also the URL path; title; Material icon). The first is the home page.
PAGES = (
    ("executive", "Executive", "trending_up"),
    ("operations", "Operations", "support_agent"),
    ("outreach", "Outreach", "handshake"),
    ("review", "Review", "rule"),
    ("alerts", "Alerts", "notifications_active"),
    ("triage", "Triage", "alt_route"),
    ("models", "Models", "model_training"),
    ("quality", "Data quality", "verified"),
)

st.set_page_config(page_title="supportops", page_icon=":material/monitoring:", layout="wide")


def no_data() -> None:
    st.title("supportops dashboards")
    st.info(ui.NO_DATA)


access = auth.current_access()
allowed = [page for page in PAGES if page[0] in access.pages()]
db = ui.current_serving() if allowed else None
if access.mode == "anonymous":
    pages = [st.Page(auth.login_page, title="Sign in", url_path="login")]
elif access.mode == "unconfigured":
    pages = [st.Page(auth.unconfigured_page, title="Login not configured", url_path="login")]
elif not allowed:
    pages = [st.Page(auth.no_role_page, title="No access", url_path="no-access")]
elif db is None:
    pages = [st.Page(no_data, title="No data yet", url_path="no-data")]
else:
    published_at, as_of = queries.serving_info(db)
    st.sidebar.caption(f"Data as of **{as_of}** · published {published_at:%Y-%m-%d %H:%M} UTC")
    pages = [
        st.Page(f"pages/{name}.py", title=title, icon=f":material/{icon}:", default=i == 0)
        for i, (name, title, icon) in enumerate(allowed)
    ]
if access.mode == "open":
    st.sidebar.warning(auth.OPEN_BANNER)
elif access.mode == "signed_in":
    st.sidebar.caption(
        f"Signed in as {access.email} ({', '.join(sorted(access.roles)) or 'no role'})"
    )
    if st.sidebar.button("Sign out"):
        st.logout()
st.navigation(pages).run()
