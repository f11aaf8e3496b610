"""Who may see what: Streamlit's OIDC login (`st.login`) when `.streamlit/secrets.toml` has an
`[auth]` section, and roles from its `[supportops]` section.

```toml
[auth]                      # Streamlit's own: your identity provider (OIDC)
redirect_uri = "https://dash.example.com/oauth2callback"
cookie_secret = "..."
client_id = "..."
client_secret = "..."
server_metadata_url = "https://login.example.com/.well-known/openid-configuration"

[supportops.roles]          # email -> role or roles
"cfo@example.com" = "leadership"
"ana@example.com" = ["cs", "data_engineer"]

[supportops.account_owners] # a CS user -> the CRM `owner` values whose accounts they see
"ana@example.com" = ["csm-02"]
```

Without `[auth]`: demo mode (`SUPPORTOPS_DEMO=1`, set by `make dashboard`) opens every page to
everyone, and says so on every page; outside demo mode the app shows only how to configure
a login. A signed-in user with no role sees nothing but that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import streamlit as st

from config.settings import get_settings
from extracts.actions import Reviewer, person_hash

ROLES = ("leadership", "cs", "data_engineer")
PAGE_ROLES = {
    "executive": "leadership",
    "operations": "leadership",
    "outreach": "cs",
    "review": "cs",
    "alerts": "cs",
    "triage": "leadership",
    "models": "data_engineer",
    "quality": "data_engineer",
}
"""Which role opens each page (file under pages/)."""
OPEN_BANNER = (
    "Demo mode: login is off and everyone sees every page. To require a login, add an "
    "`[auth]` section to `.streamlit/secrets.toml` (README: Operations)."
)
UNCONFIGURED = (
    "No login is configured, so nothing is shown. Add an `[auth]` section (your OIDC "
    "provider) and a `[supportops.roles]` table to `.streamlit/secrets.toml`, or, for the "
    "local demo only, start the app with `SUPPORTOPS_DEMO=1` (`make dashboard` does)."
)


@dataclass(frozen=True)
class Access:
    mode: Literal["open", "signed_in", "anonymous", "unconfigured"]
    email: str | None = None
    roles: frozenset[str] = frozenset()
    owners: tuple[str, ...] | None = None
    """CRM owners whose accounts the Outreach page lists; None: every account."""

    def pages(self) -> list[str]:
        return [page for page, role in PAGE_ROLES.items() if role in self.roles]


def _secrets() -> Mapping:
    """`st.secrets` as a mapping; empty when there is no secrets file at all."""
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return {}


def signed_in_email() -> str | None:
    """The signed-in user's email (`st.user`), None for an anonymous visitor."""
    return st.user.get("email") if st.user.is_logged_in else None


def _listed(value: object) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value or ())


def access_for(secrets: Mapping, email: str | None, demo: bool) -> Access:
    """What a visitor may see, from the secrets, their email (if signed in) and demo mode."""
    if "auth" not in secrets:
        if demo:
            return Access("open", roles=frozenset(ROLES))
        return Access("unconfigured")
    if email is None:
        return Access("anonymous")
    config = secrets.get("supportops", {})
    email = email.strip().lower()
    roles = {k.strip().lower(): _listed(v) for k, v in config.get("roles", {}).items()}
    owners = {k.strip().lower(): _listed(v) for k, v in config.get("account_owners", {}).items()}
    granted = frozenset(r for r in roles.get(email, ()) if r in ROLES)
    # Leadership and data engineers may see every account; CS only its own.
    everyone = bool(granted & {"leadership", "data_engineer"})
    return Access("signed_in", email, granted, None if everyone else owners.get(email, ()))


def recorder(access: Access, page: str) -> Reviewer:
    """Who a decision recorded on `page` is from: the page's role and the HMAC of the
    signed-in email (none in open demo mode); the actions store never holds the email."""
    key = get_settings().pii_key
    return Reviewer(PAGE_ROLES[page], person_hash(access.email, key) if key else None)


def current_access() -> Access:
    secrets = _secrets()
    email = signed_in_email() if "auth" in secrets else None
    return access_for(secrets, email, get_settings().demo)


def login_page() -> None:
    """The only page an anonymous visitor gets: a sign-in button, no data."""
    st.title("supportops dashboards")
    st.write("Sign in to see the dashboards.")
    provider = _secrets().get("supportops", {}).get("provider")
    if st.button("Sign in", type="primary"):
        st.login(provider) if provider else st.login()


def unconfigured_page() -> None:
    st.title("supportops dashboards")
    st.warning(UNCONFIGURED)


def no_role_page() -> None:
    access = current_access()
    st.title("supportops dashboards")
    st.warning(
        f"You are signed in as {access.email} but have no role: ask whoever runs supportops "
        "to add you to `[supportops.roles]` in `.streamlit/secrets.toml`."
    )
    if st.button("Sign out"):
        st.logout()


def guard(page: str) -> Access:
    """First line of every page: its role, or the sign-in (or no-access) page and a stop.

    `st.navigation` lists only the allowed pages, but Streamlit also runs a script of
    `pages/` that a URL names directly, before `app.py` has said which pages exist; so each
    page checks for itself."""
    access = current_access()
    if page not in access.pages():
        if access.mode == "anonymous":
            login_page()
        elif access.mode == "unconfigured":
            unconfigured_page()
        else:
            st.warning(
                f"This page is for the {PAGE_ROLES[page]} role; {access.email} has not got it."
            )
        st.stop()
    return access
