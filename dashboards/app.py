"""supportops dashboards: `make dashboard` (or `supportops dashboard`) on http://127.0.0.1:8501.

Reads only the published serving database, read-only; with none published yet, a single
page says how to build it.
"""

from __future__ import annotations

import streamlit as st

from dashboards import queries, ui

# (file under pages/, which is also the URL path; title; Material icon). The first is the home page.
PAGES = (
    ("executive", "Executive", "trending_up"),
    ("operations", "Operations", "support_agent"),
    ("outreach", "Outreach", "handshake"),
    ("models", "Models", "model_training"),
    ("quality", "Data quality", "verified"),
)

st.set_page_config(page_title="supportops", page_icon=":material/monitoring:", layout="wide")


def no_data() -> None:
    st.title("supportops dashboards")
    st.info(ui.NO_DATA)


db = ui.current_serving()
if db is None:
    pages = [st.Page(no_data, title="No data yet", url_path="no-data")]
else:
    published_at, as_of = queries.serving_info(db)
    st.sidebar.caption(f"Data as of **{as_of}** · published {published_at:%Y-%m-%d %H:%M} UTC")
    pages = [
        st.Page(f"pages/{name}.py", title=title, icon=f":material/{icon}:", default=i == 0)
        for i, (name, title, icon) in enumerate(PAGES)
    ]
st.navigation(pages).run()
