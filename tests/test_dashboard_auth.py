"""Who sees which dashboard page: roles from `.streamlit/secrets.toml`, the sign-in page for an
anonymous visitor when a login is configured, the open demo mode, and customer success
seeing only the accounts it owns (AppTest; the real-browser check of an anonymous visitor
is in test_dashboard_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from dashboard_fixtures import APP, OUTREACH, add_ml_and_quarantine, copy_serving
from streamlit.testing.v1 import AppTest

from dashboards import auth
from dashboards.auth import access_for

AUTH = {
    "redirect_uri": "http://127.0.0.1:9/oauth2callback",
    "cookie_secret": "test-cookie-not-a-secret",  # pragma: allowlist secret
    "client_id": "supportops-test",
    "client_secret": "test-client-not-a-secret",  # pragma: allowlist secret
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
SECRETS = {
    "auth": AUTH,
    "supportops": {
        "roles": {
            "cfo@example.com": "leadership",
            "Ana@Example.com": ["cs"],
            "dee@example.com": ["data_engineer", "made_up_role"],
        },
        "account_owners": {"ana@example.com": ["ana"]},
    },
}


def test_roles_open_their_pages_only() -> None:
    assert access_for(SECRETS, "cfo@example.com", demo=False).pages() == [
        "executive",
        "operations",
        "triage",
    ]
    ana = access_for(SECRETS, " ANA@example.com", demo=False)
    assert (ana.pages(), ana.owners) == (["outreach", "review", "alerts"], ("ana",))
    dee = access_for(SECRETS, "dee@example.com", demo=False)
    assert (dee.pages(), dee.roles) == (["models", "quality"], frozenset({"data_engineer"}))
    stranger = access_for(SECRETS, "eve@example.com", demo=False)
    assert (stranger.mode, stranger.pages()) == ("signed_in", [])
    # Login configured: demo mode opens nothing, an anonymous visitor gets no page.
    assert access_for(SECRETS, None, demo=True).mode == "anonymous"
    assert access_for(SECRETS, None, demo=True).pages() == []


def test_without_a_login_only_demo_mode_opens_the_pages() -> None:
    demo = access_for({}, None, demo=True)
    assert (demo.mode, demo.pages(), demo.owners) == ("open", list(auth.PAGE_ROLES), None)
    closed = access_for({}, None, demo=False)
    assert (closed.mode, closed.pages()) == ("unconfigured", [])


@pytest.fixture(scope="module")
def ml_dir(tiny_pipeline, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("auth_ml")
    add_ml_and_quarantine(copy_serving(tiny_pipeline.serving, directory))
    return directory


def _app(monkeypatch, data_dir: Path, secrets: dict, email: str | None = None) -> AppTest:
    monkeypatch.setenv("SUPPORTOPS_DATA_DIR", str(data_dir))
    # st.user needs a real identity provider; the signed-in email is what auth reads of it.
    monkeypatch.setattr(auth, "signed_in_email", lambda: email)
    app = AppTest.from_file(str(APP), default_timeout=180)
    for key, value in secrets.items():
        app.secrets[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _shown_text(app: AppTest) -> str:
    parts = [e.value for kind in ("title", "markdown", "caption", "info", "warning")
             for e in getattr(app, kind)]  # fmt: skip
    return " ".join(str(p) for p in parts)


def test_anonymous_visitor_sees_only_the_sign_in_page(monkeypatch, ml_dir) -> None:
    app = _app(monkeypatch, ml_dir, SECRETS)
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.dataframe and not app.metric and not app.sidebar.caption
    shown = _shown_text(app)
    assert "Data as of" not in shown and not any(o[2] in shown.split() for o in OUTREACH)


def test_customer_success_sees_only_its_own_accounts(monkeypatch, ml_dir) -> None:
    app = _app(monkeypatch, ml_dir, SECRETS, email="ana@example.com")
    assert app.title[0].value == "Outreach"  # its only page, so the default
    listed = app.dataframe[0].value
    assert isinstance(listed, pd.DataFrame)
    expected = sorted(rank for rank, _, owner, _ in OUTREACH if owner == "ana")
    assert sorted(listed["rank"]) == expected and set(listed["owner"]) == {"ana"}
    assert list(app.multiselect(key="outreach_owner").options) == ["ana"]


def test_a_signed_in_user_without_a_role_sees_no_data(monkeypatch, ml_dir) -> None:
    app = _app(monkeypatch, ml_dir, SECRETS, email="eve@example.com")
    assert "have no role" in _shown_text(app)
    assert not app.dataframe and not app.metric


def test_demo_mode_says_login_is_off(monkeypatch, ml_dir) -> None:
    monkeypatch.setenv("SUPPORTOPS_DEMO", "1")
    app = _app(monkeypatch, ml_dir, {})
    assert any("login is off" in w.value for w in app.sidebar.warning)
    assert app.title[0].value == "Executive"


def test_outside_demo_mode_without_a_login_nothing_is_shown(monkeypatch, ml_dir) -> None:
    monkeypatch.delenv("SUPPORTOPS_DEMO", raising=False)
    app = _app(monkeypatch, ml_dir, {})
    assert "No login is configured" in _shown_text(app)
    assert not app.dataframe and not app.metric
