"""Approve / Reject in real Chromium (issue 15): the approver rejects with a reason, the planner sees it."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.driver import complete, registration, task, to_plan
from tests.web.browser.conftest import log_in


def test_an_approver_rejects_with_a_reason_and_the_planner_sees_the_reason(page: Page, browser: Browser,
                                                                             served: str, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan", plan_type="compensation", compensation_amount=300,
             plan_details="补偿300元购物券")
    approval = task(eng, number, "approve_compensation")

    log_in(page, approval.assignee)
    page.goto(f"/tasks/{approval.id}")
    expect(page.locator("#shown")).to_contain_text("补偿300元购物券")
    page.locator("button.decision.reject").click()  # no reason yet: refused, nothing moves
    expect(page.locator("[data-error-for=approval_comment]")).to_be_visible()
    page.locator("[data-field=approval_comment] textarea").fill("金额过高，请改为维修")
    page.locator("button.decision.reject").click()
    expect(page.locator(".flash.ok")).to_contain_text("下一步")
    page.screenshot(path="test-output/screenshots/approval_rejected.png", full_page=True)

    planner = task(eng, number, "propose_plan")
    context = browser.new_context(base_url=served, locale="zh-CN")
    try:
        other = context.new_page()
        log_in(other, planner.assignee)
        other.goto(f"/tasks/{planner.id}")
        expect(other.locator("#shown")).to_contain_text("金额过高，请改为维修")
    finally:
        context.close()


def test_a_reply_template_goes_into_the_message_to_adapt(page: Page, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    log_in(page, "cs1")
    page.goto(f"/tasks/{first.id}")
    field = page.locator("#field-message_to_customer")
    field.fill("张先生：")
    chooser = page.locator("select.reply-templates[data-insert-into=field-message_to_customer]")
    chooser.select_option(index=1)
    expect(field).to_have_value(re.compile(r"^张先生：\n您好，"))
    expect(chooser).to_have_value("")
