"""The knowledge base in real Chromium: the engineer's root-cause analysis, submitted on its task page, becomes
a known issue the handler checking the next complaint about the same product sees and opens, and a search by a
two-character Chinese word finds it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.driver import FORM_DATA, complete, registration, task, to_responsibility
from tests.web.browser.conftest import log_in
from tests.web.browser.test_service_complaint_in_browser import fill, submit

RCA = "root_cause_analysis"
CAUSE = "搓轮材质耐磨性不足"


def test_an_analysis_typed_in_becomes_the_known_issue_of_the_next_complaint(page: Page, served: str, eng):
    source = eng.runtime.start("complaint", registration(product_name="打印机 P5"), "cs1")
    to_responsibility(eng, source)
    complete(eng, source, "determine_responsibility")
    analysis = task(eng, source, RCA)
    log_in(page, analysis.assignee)
    page.goto(f"/tasks/{analysis.id}")
    form = page.locator("form.task-form")
    data = {**FORM_DATA[RCA], "problem_summary": "连续打印50页后卡纸", "root_cause": CAUSE}
    fill(form, data)
    submit(form, data)
    expect(page.locator(".flash").first).to_be_visible()

    page.goto("/knowledge/?q=卡纸")
    expect(page.locator("#knowledge-entries tr[data-entry]")).to_have_count(1)
    expect(page.locator("#knowledge-entries")).to_contain_text(CAUSE)

    following = eng.runtime.start("complaint", registration(product_name="打印机 p5"), "cs1")
    complete(eng, following, "first_response")
    check = task(eng, following, "verify")
    page.context.clear_cookies()
    log_in(page, check.assignee)
    page.goto(f"/tasks/{check.id}")
    known = page.locator("#known-issues")
    expect(known).to_contain_text("该产品的已知问题")
    expect(known).to_contain_text(CAUSE)
    known.locator("a[href^='/knowledge/']").first.click()
    expect(page.locator("#entry-cause")).to_have_text(CAUSE)
    expect(page.locator("#entry-problem")).to_have_text("连续打印50页后卡纸")
