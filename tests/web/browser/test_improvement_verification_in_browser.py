"""In real Chromium: a linked complaint's customer opens their verification link, says the problem is not solved
with a comment, cannot answer twice; the person verifying with customers sees the answer on their step."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from engine import links
from tests.driver import registration, task
from tests.test_improvement_loop import items_of
from tests.test_improvement_verification import to_verification, verification_links
from tests.web.browser.conftest import log_in


def test_a_customer_answers_the_verification_link_once_and_the_verifier_reads_it(page: Page, app: Flask, eng):
    number = eng.runtime.start("complaint", registration(complaint_type="suggestion"), "cs1")
    [item] = items_of(eng, number)
    to_verification(eng, item)
    path = links.path(app.config["SECRET_KEY"], links.VERIFY, verification_links(eng)[number])

    page.goto(path)
    expect(page.locator("h1")).to_have_text("问题解决了吗？")
    expect(page.locator("main, body").first).to_contain_text(number)
    page.check("input[name=solved][value=no]")
    page.fill("textarea[name=comment]", "保温时间没有变长 <b>仍然</b>")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("谢谢")
    page.goto(path)
    expect(page.locator("h1")).to_have_text("此链接无法使用")

    step = task(eng, item, "customer_verification")
    log_in(page, step.assignee)
    page.goto(f"/tasks/{step.id}")
    row = page.locator(f'#customer-answers tr[data-answer="{number}"]')
    expect(row).to_contain_text("否")
    expect(row).to_contain_text("保温时间没有变长 <b>仍然</b>")  # shown as text
