"""The header search and internal notes with @mentions, in real Chromium (issue 15)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.driver import registration
from tests.web.browser.conftest import log_in


def test_a_search_by_customer_name_and_by_the_last_four_digits_finds_the_case(page: Page, eng):
    number = eng.runtime.start("complaint", registration(customer_name="欧阳娜娜", contact="139-1234-8765"), "cs1")
    other = eng.runtime.start("complaint", registration(customer_name="李四", contact="139-0000-1111"), "cs1")
    log_in(page, "cs1")
    for text in ("欧阳", "8765"):
        page.fill("header input[name=q]", text)
        page.press("header input[name=q]", "Enter")
        page.wait_for_url("**/cases?q=*")
        rows = page.locator("tr[data-case]")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-case", number)
        expect(page.locator(f"tr[data-case='{other}']")).to_have_count(0)
        expect(page.locator("main, body").first).not_to_contain_text("欧阳娜娜")  # the list shows the masked name
    page.locator(f"tr[data-case='{number}'] a").first.click()
    page.wait_for_url(f"**/cases/{number}")
    expect(page.locator("h1")).to_contain_text(number)


def test_a_note_mentioning_sup1_reaches_sup1s_notice_list(page: Page, browser, served, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    log_in(page, "cs1")
    page.goto(f"/cases/{number}")
    page.fill("#note-text", "客户要求主管回电 @sup1")
    page.locator("#notes button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_contain_text("@sup1")
    expect(page.locator("#notes .note-text").first).to_have_text("客户要求主管回电 @sup1")
    eng.notifications.plan()
    while eng.notifications.deliver_due():
        pass

    context = browser.new_context(base_url=served, locale="zh-CN")
    context.set_default_timeout(10_000)
    try:
        supervisor = context.new_page()
        log_in(supervisor, "sup1")
        supervisor.goto("/notices")
        row = supervisor.locator("#notices tr", has_text=number)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("同事在案件备注中提到了您")
        row.locator("a", has_text=number).click()
        supervisor.wait_for_url(f"**/cases/{number}")
        expect(supervisor.locator("#notes")).to_contain_text("客户要求主管回电 @sup1")
    finally:
        context.close()
