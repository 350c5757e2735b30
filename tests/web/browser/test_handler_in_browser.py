"""Handlers in real Chromium: the urgent case from inbox to the next step; the 2-hour escalation."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.driver import FORM_DATA, complete, registration
from tests.web.browser.conftest import log_in


def urgent_case(eng) -> str:
    number = eng.runtime.start("complaint", registration(description="电池鼓包发烫"), "cs1")
    complete(eng, number, "first_response")
    complete(eng, number, "verify", safety_hazard=True)
    return number


def test_a_handler_claims_an_urgent_case_fixes_a_bad_value_and_moves_it_on(page: Page, eng):
    number = urgent_case(eng)
    assert eng.cases.get(number).grade == "urgent"
    log_in(page, "ql2")  # the quality lead's backup: the task is ql1's, ql2's group sees it

    row = page.locator(f"tr[data-step=start_emergency_handling]:has(a:text('{number}'))")
    expect(row.locator(".badge.urgent")).to_be_visible()
    row.locator("button[type=submit]").click()  # claim
    page.locator(f"tr[data-step=start_emergency_handling]:has(a:text('{number}'))").locator("a.button").click()

    page.fill("textarea[name=actions]", "召回同批次产品并检测")
    page.fill("input[name=team]", "")  # required: left empty on purpose
    page.click("form.task-form button[type=submit]")
    expect(page.locator("[data-error-for=team]")).to_be_visible()
    expect(page.locator("textarea[name=actions]")).to_have_value("召回同批次产品并检测")  # kept

    page.fill("input[name=team]", FORM_DATA["start_emergency_handling"]["team"])
    page.click("form.task-form button[type=submit]")
    expect(page.locator(".flash").first).to_be_visible()
    assert [t.name for t in eng.cases.get(number).open_tasks] == ["determine_responsibility"]
    assert eng.cases.get(number).escalation_tier == 0


def test_a_supervisor_sees_the_case_escalated_after_the_clock_moves_2_hours(page: Page, eng, served):
    number = urgent_case(eng)
    token = httpx.post(f"{served}/api/v1/session", json={"username": "sup1", "password": "demo"}).json()["token"]
    moved = httpx.post(f"{served}/api/v1/clock", json={"advance": "PT2H"},
                       headers={"Authorization": f"Bearer {token}"})
    assert moved.status_code == 200 and moved.json()["fired"] >= 1

    log_in(page, "sup1")
    page.goto(f"/cases/{number}")
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.locator("[data-tier]")).to_have_attribute("data-tier", "2")
    assert eng.cases.get(number).escalation_tier == 2


def test_the_case_page_shows_the_diagram_with_the_path_taken(page: Page, eng, web_clock):
    from datetime import timedelta

    number = urgent_case(eng)
    web_clock.advance(timedelta(hours=3))
    eng.timers.fire_due()
    log_in(page, "auditor1")  # auditors look too
    page.goto(f"/cases/{number}")
    expect(page.locator("#case-diagram")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#case-diagram [data-element-id=intake_stage].cf-done")).to_have_count(1)
    expect(page.locator("#case-diagram [data-element-id=dispatch_stage].cf-current")).to_have_count(1)
    # Below it, the stage the case is in now, its open step marked.
    expect(page.locator("#case-stage-diagram")).to_have_attribute("data-loaded", "true")
    open_now = {t.name for t in eng.tasks.for_case(number)}
    stage = eng.diagrams.for_case(number).stage
    marked = set(stage.current) & open_now
    assert marked
    for element in marked:
        expect(page.locator(f"#case-stage-diagram [data-element-id={element}].cf-current")).to_have_count(1)
