"""A supervisor sees the unread count rise when a case goes overdue, opens the notice, lands on the case."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from tests.driver import registration
from tests.web.browser.conftest import log_in


def test_a_supervisor_sees_the_unread_count_rise_opens_the_notice_and_lands_on_the_case(page, app, eng, web_clock):
    app.config["NOTICES_REFRESH_SECONDS"] = 1
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    log_in(page, "sup1")
    badge = page.locator("#unread-count")
    expect(badge).to_be_hidden()

    web_clock.advance(timedelta(minutes=11))  # the 10-minute first response is missed
    assert eng.timers.fire_due() == 1
    while eng.notifications.deliver_due():
        pass
    expect(badge).to_have_text("1")  # without reloading the page
    expect(badge).to_be_visible()

    page.click("#notices-link")
    page.wait_for_url("**/notices")
    row = page.locator("#notices tr.unread")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("首次响应超时")
    expect(row).to_contain_text("需您处理")
    row.locator("a", has_text=number).click()
    page.wait_for_url(f"**/cases/{number}")
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.locator("#notifications [data-channel=app][data-recipient=sup1]")).to_contain_text("已于")
    expect(page.locator("#unread-count")).to_be_hidden()
