"""Real headless Chromium (Debian's, driven by Playwright) against the app served over HTTP.

Browser tests are part of ``make test``: a missing Chromium fails them, it never skips them.
Each test leaves a full-page screenshot in ``test-output/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Where signing in lands: the inbox, or the one step waiting for the person (web/landing.py).
SIGNED_IN = re.compile(r"/(inbox|tasks/[0-9a-f-]+)([?#].*)?$")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it (apt-get install chromium); "
                    "the browser tests are part of the suite and are never skipped")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser, served: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(base_url=served, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    violations: list[str] = []  # the page's Content Security Policy refused a script, style or frame
    tab.on("console", lambda message: violations.append(message.text)
           if "Content Security Policy" in message.text else None)
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not violations, f"Content Security Policy violations: {violations}"


def log_in(page: Page, username: str, password: str = "demo") -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(SIGNED_IN)
