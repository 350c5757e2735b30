"""A service complaint in real Chromium, registration to archive: a validity check instead of a defect
check, the department concerned instead of an engineer, one callback."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Locator, Page, expect

from tests.driver import FORM_DATA, registration
from tests.web.browser.conftest import log_in


def fill(form: Locator, data: dict) -> None:
    """Type ``data`` into a rendered form the way a person would, whatever widget each field has."""
    for name, value in data.items():
        if value is None or value == [] or value == "":
            continue
        field = form.locator(f"[data-field={name}]")
        if not field.count():  # a decision field: its buttons submit the form (see submit())
            continue
        choice = field.locator("select:not(.reply-templates)")
        if choice.count():
            choice.select_option(str(value))
        elif field.locator("input[type=radio]").count():
            choice = str(value).lower() if isinstance(value, bool) else value
            field.locator(f"input[type=radio][value='{choice}']").check()
        elif field.locator("input[type=checkbox]").count():
            field.locator("input[type=checkbox]").set_checked(bool(value))
        elif field.locator("textarea").count():
            field.locator("textarea").fill(str(value))
        else:
            field.locator("input").fill(str(value))


def submit(form: Locator, data: dict) -> None:
    """Press the form's button: Approve / Reject by the decision's value where the form has them."""
    decision = form.locator("button.decision")
    if decision.count():
        value = str(data[decision.first.get_attribute("name")]).lower()
        form.locator(f"button.decision[value='{value}']").click()
    else:
        form.locator("button[type=submit]").click()


def do_step(browser: Browser, served: str, eng, number: str, step: str, **changes: object) -> None:
    """The step's assignee logs in (a browser of their own), opens the task and submits its form."""
    [task] = [t for t in eng.tasks.for_case(number) if t.name == step]
    context = browser.new_context(base_url=served, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, task.assignee)
        page.goto(f"/tasks/{task.id}")
        form = page.locator("form.task-form")
        data = {**FORM_DATA[step], **changes}
        fill(form, data)
        submit(form, data)
        expect(page.locator(".flash").first).to_be_visible()
    finally:
        context.close()
    assert task.id not in [t.id for t in eng.tasks.for_case(number)], f"{step} was not done"


def test_a_service_complaint_walks_from_registration_to_archive(page: Page, browser: Browser, served: str, eng):
    log_in(page, "cs1")
    page.goto("/register")
    fill(page.locator("form"), {**registration(channel="store", complaint_type="service",
                                               description="门店店员态度恶劣"), "involved_staff": None})
    page.locator("form button[type=submit]").last.click()
    expect(page.locator(".flash").first).to_contain_text("STORE")
    number = re.search(r"\d{8}-STORE-\d{3}", page.locator(".flash").first.inner_text()).group(0)
    assert eng.cases.get(number).complaint_type == "service"

    do_step(browser, served, eng, number, "first_response")
    do_step(browser, served, eng, number, "check_validity", validity="complaint_valid")
    do_step(browser, served, eng, number, "start_handling_general")
    do_step(browser, served, eng, number, "determine_responsibility", responsibility="company", department="store")
    assert eng.tasks.for_case(number)[0].assignee == "store1"
    do_step(browser, served, eng, number, "department_action_store")
    do_step(browser, served, eng, number, "propose_plan", plan_type="apology", compensation_amount=0)
    do_step(browser, served, eng, number, "management_review")
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    do_step(browser, served, eng, number, "deliver_plan")
    do_step(browser, served, eng, number, "notify_result")
    do_step(browser, served, eng, number, "callback")

    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "resolved")
    done = {e.payload.get("element") for e in eng.history.events(number) if e.kind == "task_completed"}
    assert "root_cause_analysis" not in done and "verify" not in done
    page.goto(f"/cases/{number}")
    expect(page.locator("h1")).to_contain_text(number)
