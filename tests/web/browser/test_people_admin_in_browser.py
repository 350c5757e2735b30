"""People administration in real Chromium (issue 13): an administrator marks cs1 absent for next week
through the pages; once the clock is in next week, the next new case's first task goes to cs2, and cs2's
inbox shows it. The supervisor's board lists the absence (issue 15).

The web clock starts on Monday 2 March 2026, 09:00 in Shanghai: next week is 9 to 15 March.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

from tests.driver import registration, task
from tests.web.browser.conftest import log_in


def test_an_administrator_marks_cs1_absent_next_week_and_the_next_case_goes_to_cs2(page: Page, browser: Browser,
                                                                                    served: str, eng, web_clock):
    log_in(page, "owner1")
    page.locator("#people-link").click()
    page.locator("#accounts tr[data-username='cs1'] a").click()
    page.fill("#first_day", "2026-03-09")
    page.fill("#last_day", "2026-03-15")
    page.fill("#absence-form input[name=note]", "年假")
    page.locator("#absence-form button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_contain_text("缺勤期已添加")
    row = page.locator("#absences tr[data-absence]")
    expect(row).to_contain_text("2026-03-09")
    expect(row).to_contain_text("2026-03-15")
    page.screenshot(path="test-output/screenshots/people_absence_added.png", full_page=True)
    page.goto("/people/")
    expect(page.locator("#accounts tr[data-username='cs1']")).to_contain_text("2026-03-09 – 2026-03-15")

    this_week = eng.runtime.start("complaint", registration(channel="phone"), "sup1")
    assert task(eng, this_week, "first_response").assignee == "cs1", "cs1 is still here this week"

    web_clock.advance(timedelta(days=7))  # Monday 9 March, 09:00 in Shanghai
    number = eng.runtime.start("complaint", registration(channel="phone"), "sup1")
    first = task(eng, number, "first_response")
    assert first.assignee == "cs2"

    with signed_in(browser, served, "cs2") as other:
        other.goto("/inbox?scope=mine")
        expect(other.locator(f"tr[data-task='{first.id}']")).to_be_visible()
        other.screenshot(path="test-output/screenshots/people_absence_cs2_inbox.png", full_page=True)
    with signed_in(browser, served, "sup1") as other:  # the supervisor's board lists the absence
        other.goto("/board")
        calendar = other.locator("#absence-calendar tr[data-username='cs1']")
        expect(calendar).to_contain_text("2026-03-15")
        expect(calendar).to_contain_text("年假")


@contextmanager
def signed_in(browser: Browser, served: str, username: str) -> Iterator[Page]:
    """Another person's browser (its own cookies) for the length of the block."""
    context = browser.new_context(base_url=served, locale="zh-CN")
    try:
        other = context.new_page()
        log_in(other, username)
        yield other
    finally:
        context.close()


def test_the_administration_and_the_absence_calendar_fit_a_390_px_screen(page: Page, browser: Browser, served: str,
                                                                         eng):
    eng.people_admin.add_absence("owner1", "cs1", "2026-03-09", "2026-03-15", note="年假，回老家探亲" * 3)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "owner1")
    for path in ("/people/", "/people/accounts/cs1", "/people/roles", "/people/new"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow} px"
    with signed_in(browser, served, "sup1") as other:
        other.set_viewport_size({"width": 390, "height": 844})
        other.goto("/board")
        expect(other.locator("#absence-calendar tr[data-username='cs1']")).to_be_visible()
        overflow = other.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"/board scrolls sideways by {overflow} px"
