"""The dashboards in a real browser: `streamlit run` headless on a free port, Debian's
chromium driven by Playwright, one screenshot per page under data/screenshots/, and a
publish (os.replace of the serving file) while the app is serving."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from dashboard_fixtures import APP, add_ml_and_quarantine, copy_serving
from playwright.sync_api import Page, sync_playwright

from config.settings import PROJECT_ROOT
from extracts import actions
from tests.conftest import isolated_env

SCREENSHOTS = PROJECT_ROOT / "data" / "screenshots"
WAIT_MS = 120_000
# url path -> (title, the text the page shows last once its script has run)
PAGES = {
    "": ("Executive", "By channel"),
    "operations": ("Operations", "Open tickets by escalation risk"),
    "outreach": ("Outreach", "Download CSV"),
    "review": ("Review", "How reviewers judge the model"),
    "alerts": ("Account alerts", "No alert has fired yet"),
    "models": ("Models", "Drift checks with drift detected"),
    "quality": ("Data quality", "Quarantined rows by reason"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(data_dir: Path, cwd: Path | None = None) -> Iterator[str]:
    """`streamlit run` of the app on a free port, reading `data_dir`; its URL. Streamlit
    reads `.streamlit/secrets.toml` from `cwd`."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        env=isolated_env(SUPPORTOPS_DATA_DIR=str(data_dir)),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # the server answers its health check once it is up
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def served(tiny_pipeline, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The app serving a private copy of the tiny warehouse (with `ml` tables); its URL and
    the serving file's path."""
    data_dir = tmp_path_factory.mktemp("browser")
    serving = copy_serving(tiny_pipeline.serving, data_dir)
    add_ml_and_quarantine(serving)
    with serve(data_dir) as url:
        yield url, serving


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: run `make browser`"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser.new_page(viewport={"width": 1400, "height": 2600})
        browser.close()


def open_page(page: Page, url: str, last_text: str) -> float:
    """Load a page and wait until its last element is drawn; seconds it took."""
    started = time.perf_counter()
    page.goto(url)
    page.get_by_text(last_text, exact=False).first.wait_for(timeout=WAIT_MS)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=WAIT_MS)
    return time.perf_counter() - started


def test_every_page_renders_in_chromium(served, page):
    url, _ = served
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    timings = {}
    for path, (title, last_text) in PAGES.items():
        first = open_page(page, f"{url}/{path}", last_text)
        cached = open_page(page, f"{url}/{path}", last_text)
        timings[title] = (round(first, 2), round(cached, 2))
        assert page.get_by_role("heading", name=title).count() >= 1, title
        assert page.locator('[data-testid="stException"]').count() == 0, title
        shot = SCREENSHOTS / f"{path or 'executive'}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    print(f"page load seconds (first, cached): {timings}")


def test_keeps_serving_across_a_publish(served, page, tmp_path):
    url, serving = served
    with duckdb.connect(str(serving), read_only=True) as con:
        (published_as_of,) = con.execute("SELECT data_as_of FROM main.serving_info").fetchone()
    open_page(page, f"{url}/", PAGES[""][1])
    assert page.get_by_text(f"Data as of {published_as_of}").count() == 1

    # What the pipeline's publish does: write a whole new file, then os.replace it in.
    staging = tmp_path / "serving.duckdb"
    shutil.copyfile(serving, staging)
    with duckdb.connect(str(staging)) as con:
        con.execute("UPDATE main.serving_info SET data_as_of = DATE '2031-01-02'")
    os.replace(staging, serving)

    open_page(page, f"{url}/operations", PAGES["operations"][1])
    page.get_by_text("Data as of 2031-01-02").wait_for(timeout=WAIT_MS)
    assert page.locator('[data-testid="stException"]').count() == 0
    open_page(page, f"{url}/", PAGES[""][1])
    assert page.get_by_text("Data as of 2031-01-02").count() == 1


def test_a_reviewer_overrides_a_flagged_ticket_in_chromium(served, page):
    """The Review page's control writes the decision to the actions store beside the
    serving file (the warehouse gets it at the next refresh: tests/test_actions_e2e.py)."""
    url, serving = served
    open_page(page, f"{url}/review", PAGES["review"][1])
    page.get_by_text("override", exact=True).click()
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("Recorded decision").wait_for(timeout=WAIT_MS)
    decisions = actions.read_tables(serving.parent / "actions.sqlite")["review_decisions"]
    assert len(decisions) == 1
    shown = page.get_by_text("Recorded decision").inner_text()
    assert f"ticket {decisions['ticket_id'][0]} override" in shown
    assert (decisions["decision"][0], decisions["reason"][0]) == ("override", "not_urgent")
    assert decisions["model_version"][0] == "escalation-v1"


# A login configured against an identity provider nobody can reach (port 9, discard): the
# app cannot sign anyone in, and must still show an anonymous visitor nothing but the prompt.
LOGIN_SECRETS = """
[auth]
redirect_uri = "http://127.0.0.1:9/oauth2callback"
cookie_secret = "browser-test-cookie-not-a-secret"  # pragma: allowlist secret
client_id = "supportops-browser-test"
client_secret = "browser-test-not-a-secret"  # pragma: allowlist secret
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"

[supportops.roles]
"ana@example.com" = "cs"
"""


@pytest.fixture(scope="module")
def served_with_login(tiny_pipeline, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("browser_login")
    serving = copy_serving(tiny_pipeline.serving, root / "data")
    add_ml_and_quarantine(serving)
    (root / ".streamlit").mkdir()
    (root / ".streamlit" / "secrets.toml").write_text(LOGIN_SECRETS)
    with serve(root / "data", cwd=root) as url:
        yield url, serving


def test_an_anonymous_visitor_sees_only_the_login_prompt(served_with_login, page):
    url, serving = served_with_login
    with duckdb.connect(str(serving), read_only=True) as con:
        accounts = con.execute(
            "SELECT account_id FROM ml.outreach_list UNION SELECT account_id FROM marts.fct_tickets"
        ).fetchall()
        names = [n for (n,) in con.execute("SELECT account_name FROM ml.outreach_list").fetchall()]
    secrets = [a for (a,) in accounts] + names
    assert len(secrets) > 10

    def shows_nothing_of_the_data() -> None:
        body = page.inner_text("body")
        html = page.content()
        assert not [s for s in secrets if s in html], "account data in the page"
        for heading in ("Executive", "Operations", "Outreach", "Data quality", "Data as of"):
            assert heading not in body, heading

    for path in ("", "outreach", "operations", "quality"):
        page.goto(f"{url}/{path}")
        page.get_by_role("button", name="Sign in").wait_for(timeout=WAIT_MS)
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=WAIT_MS)
        shows_nothing_of_the_data()
    # Signing in against the unreachable provider fails; still no data, then the prompt again.
    # (From the home page: a page's own URL shows a "Page not found" dialog over the prompt.)
    page.goto(f"{url}/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load", timeout=WAIT_MS)
    shows_nothing_of_the_data()
    page.goto(f"{url}/")
    page.get_by_role("button", name="Sign in").wait_for(timeout=WAIT_MS)
    shows_nothing_of_the_data()
