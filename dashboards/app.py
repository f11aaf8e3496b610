"""supportops dashboards: `make dashboard` (or `supportops dashboard`) on http://127.0.0.1:8501.

Reads only the published serving database, read-only; with none published yet, a single
page says how to build it.
"""

from __future__ import annotations

import streamlit as st

from dashboards import queries, ui

st.set_page_config(page_title="supportops", page_icon="📊", layout="wide")


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
        st.Page("pages/executive.py", title="Executive", icon="📈", default=True),
        st.Page("pages/operations.py", title="Operations", icon="🎧", url_path="operations"),
        st.Page("pages/outreach.py", title="Outreach", icon="🤝", url_path="outreach"),
        st.Page("pages/models.py", title="Models", icon="🧪", url_path="models"),
        st.Page("pages/quality.py", title="Data quality", icon="🛡️", url_path="quality"),
    ]
st.navigation(pages).run()
