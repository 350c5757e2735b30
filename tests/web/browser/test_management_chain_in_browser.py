"""A serious case's management chain in real Chromium: management's review, then the general manager
signs in onto the opinion task waiting for them (listed in the inbox too), reads its deadline and gives
the opinion, which goes back to customer service (seed 002)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.driver import complete, registration, to_responsibility
from tests.web.browser.conftest import log_in
from tests.web.browser.test_service_complaint_in_browser import do_step, fill, submit


def test_a_serious_cases_gm_opinion_is_given_in_the_browser(page: Page, browser: Browser, served: str, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number, "serious")
    complete(eng, number, "determine_responsibility", responsibility="company")
    complete(eng, number, "root_cause_analysis")
    do_step(browser, served, eng, number, "review_responsibility_opinion", fault_opinion="通报批评，扣当月绩效")

    [opinion] = [t for t in eng.tasks.for_case(number) if t.name == "give_gm_opinion"]
    assert opinion.assignee == "gm1"
    log_in(page, "gm1")  # the one step waiting for gm1 opens at once; the inbox lists it too
    expect(page).to_have_url(re.compile(rf"/tasks/{opinion.id}\?landed=1$"))
    expect(page.locator(".flash.ok")).to_contain_text("只有一个环节在等您处理")
    page.goto("/inbox")
    row = page.locator("tr", has=page.locator(f"a[href='/tasks/{opinion.id}']"))
    expect(row).to_contain_text(number)
    page.goto(f"/tasks/{opinion.id}")
    expect(page.locator("body")).to_contain_text("主管总经理")
    expect(page.locator("body")).to_contain_text("通报批评，扣当月绩效")  # management's opinion, above the form
    form = page.locator("form.task-form")
    fill(form, {"gm_opinion": "同意管理部意见，责任人书面检讨并参加培训"})
    submit(form, {})
    expect(page.locator(".flash").first).to_be_visible()

    assert "give_gm_opinion" not in [t.name for t in eng.tasks.for_case(number)]
    assert [t.name for t in eng.tasks.for_case(number)] == ["propose_plan"]
    done = [e for e in eng.history.events(number) if e.kind == "task_completed"]
    assert done[-1].payload["element"] == "give_gm_opinion" and done[-1].actor == "gm1"
    assert done[-1].payload["data"]["gm_opinion"] == "同意管理部意见，责任人书面检讨并参加培训"
    assert ("cs_specialist", "gm_opinion_given") in [(n.role, n.subject) for n in eng.cases.get(number).notifications]
    page.goto(f"/cases/{number}")
    expect(page.locator("body")).to_contain_text("同意管理部意见")
