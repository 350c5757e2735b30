"""The supervisor's board in real Chromium (issue 15): a supervisor hands a case to cs2, cs2's inbox shows it."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.driver import registration, task
from tests.web.browser.conftest import log_in


def test_a_supervisor_reassigns_a_case_to_cs2_and_cs2s_inbox_shows_it(page: Page, browser: Browser,
                                                                        served: str, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    log_in(page, "sup1")
    page.goto("/board")
    row = page.locator(f"tr[data-task='{first.id}']")
    expect(row.locator(".holder")).to_have_text("cs1")
    row.locator("input[type=checkbox]").check()
    page.locator("select[name=to]").select_option("cs2")
    page.locator("button[name=action][value=reassign]").click()
    expect(page.locator(".flash.ok")).to_contain_text(number)
    expect(page.locator(f"tr[data-task='{first.id}'] .holder")).to_have_text("cs2")
    page.screenshot(path="test-output/screenshots/board_reassigned.png", full_page=True)

    context = browser.new_context(base_url=served, locale="zh-CN")
    try:
        other = context.new_page()
        log_in(other, "cs2")
        other.goto("/inbox?scope=mine")
        expect(other.locator(f"tr[data-task='{first.id}']")).to_be_visible()
    finally:
        context.close()
