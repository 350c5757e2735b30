"""A session that ends does not lose what was typed (issue 15): the handler signs in again and finds
the form filled as they left it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.driver import registration, task
from tests.web.browser.conftest import log_in


def test_a_form_typed_before_the_session_ended_is_filled_again_after_signing_in(page: Page, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    log_in(page, "cs1")
    page.goto(f"/tasks/{first.id}")
    expect(page.locator("body")).to_have_attribute("data-session-seconds", "1800")
    field = page.locator("form.task-form textarea").first
    field.fill("您好，我们已收到您的投诉，正在处理")
    page.context.clear_cookies()  # the session ends (idle timeout, restart with a new key, logout elsewhere)
    page.locator("form.task-form button[type=submit]").click()
    page.wait_for_url("**/login**")
    page.fill("input[name=username]", "cs1")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/tasks/{first.id}")
    expect(page.locator("#form-restored")).to_be_visible()
    expect(page.locator("form.task-form textarea").first).to_have_value("您好，我们已收到您的投诉，正在处理")
    assert eng.tasks.get(first.id).state == "open"  # nothing was submitted without a session
