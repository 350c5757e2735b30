"""A supervisor steps in, in real Chromium (issue 15): the case is suspended, its deadline passes without
firing, it is resumed and the deadline fires."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.driver import complete, registration, subjects
from tests.web.browser.conftest import log_in


def test_a_suspended_case_misses_nothing_and_fires_its_deadline_once_resumed(page: Page, eng, web_clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    log_in(page, "sup1")
    page.goto(f"/cases/{number}")
    page.fill("#intervene-reason", "客户出差，下周再联系")
    page.locator("#intervene button[value=suspend]").click()
    expect(page.locator(".badge.status-suspended")).to_be_visible()

    web_clock.advance(timedelta(hours=3))
    assert eng.timers.fire_due() == 0
    assert ("cs_supervisor", "first_response_overdue") not in subjects(eng, number)

    page.fill("#intervene-reason", "客户已回来")
    page.locator("#intervene button[value=resume]").click()
    expect(page.locator(".badge.status-open")).to_be_visible()
    assert eng.timers.fire_due() == 1
    assert ("cs_supervisor", "first_response_overdue") in subjects(eng, number)
    page.reload()
    expect(page.locator("#timeline, .timeline").first).to_contain_text("客户出差，下周再联系")
    page.screenshot(path="test-output/screenshots/case_resumed.png", full_page=True)


def test_a_cancel_asks_first_and_archives_the_case(page: Page, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    log_in(page, "sup1")
    page.goto(f"/cases/{number}")
    page.fill("#intervene-reason", "重复登记")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#intervene button[value=cancel]").click()
    assert eng.cases.get(number).status == "open"  # dismissed: nothing happened
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#intervene button[value=cancel]").click()
    expect(page.locator(".badge.status-archived")).to_be_visible()
    assert eng.cases.get(number).outcome == "cancelled"


def test_a_supervisor_moves_a_case_back_to_an_earlier_step(page: Page, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    complete(eng, number, "first_response")
    log_in(page, "sup1")
    page.goto(f"/cases/{number}")
    page.select_option("#move-back-step", "first_response")
    page.fill("#move-back-reason", "首次回复内容有误")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#move-back button[type=submit]").click()
    assert [t.name for t in eng.tasks.for_case(number)] == ["verify"]  # dismissed: nothing happened
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#move-back button[type=submit]").click()
    expect(page.locator(".flash, .flashes").first).to_contain_text("已退回到")
    assert [t.name for t in eng.tasks.for_case(number)] == ["first_response"]
    expect(page.locator("#timeline, .timeline").first).to_contain_text("首次回复内容有误")
    assert eng.replay.run(number)
    page.screenshot(path="test-output/screenshots/case_moved_back.png", full_page=True)
