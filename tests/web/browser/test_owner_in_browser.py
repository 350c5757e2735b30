"""A process owner in real Chromium: change the urgent deadline in the modeler and deploy it;
a broken timer is shown on its element and deploys nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.driver import complete, registration
from tests.web.browser.conftest import log_in

DEADLINE = "emergency_start_deadline"  # the urgent case's "not started in 2 hours" boundary timer


def urgent_case(eng) -> str:
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    complete(eng, number, "verify", safety_hazard=True)
    return number


def open_deadline_in_modeler(page: Page) -> None:
    log_in(page, "owner1")
    page.goto("/owner/")
    page.locator("#files a", has_text="dispatch.bpmn").first.click()
    expect(page.locator("#modeler")).to_have_attribute("data-loaded", "1")
    page.fill("#find-element", DEADLINE)
    page.press("#find-element", "Enter")  # brings it into view (and selects it)
    page.locator("g.djs-element[data-element-id=start_emergency_handling]").click()  # the task it guards
    expect(page.locator("#element-panel")).to_have_attribute("data-element", "start_emergency_handling")
    page.locator(f"g.djs-element[data-element-id={DEADLINE}]").click()
    expect(page.locator("#element-panel")).to_have_attribute("data-element", DEADLINE)


def set_timer(page: Page, expression: str) -> None:
    field = page.locator("#element-panel input[name=timer_expression]")
    expect(field).to_have_value('"PT2H"')
    field.fill(expression)
    field.press("Enter")  # commits the change to the diagram


def deploy(page: Page, note: str) -> None:
    page.fill("#deploy textarea[name=note]", note)
    page.click("#deploy button[type=submit]")


def test_an_owner_changes_the_urgent_deadline_and_only_new_cases_get_it(page: Page, eng, web_clock) -> None:
    older = urgent_case(eng)  # started on version 1: keeps its 2 hours
    open_deadline_in_modeler(page)
    set_timer(page, '"PT3H"')
    deploy(page, "紧急案件启动时限改为3小时 urgent start: 3 hours")

    result = page.locator("#deploy-result")
    expect(result).to_have_attribute("data-deployed-version", "2")
    result.locator("a").click()
    row = page.locator(f"#v2 table.deadlines-changed tr[data-element={DEADLINE}]")
    expect(row).to_contain_text('"PT2H"')
    expect(row).to_contain_text('"PT3H"')
    expect(page.locator("#v2")).to_contain_text("urgent start: 3 hours")

    assert [v.version for v in eng.repository.versions()] == [1, 2]
    diff = eng.repository.diff(2)
    assert diff.files_changed == ["dispatch.bpmn"]
    assert [e.element for e in diff.elements_changed] == [DEADLINE]  # the modeler's round trip loses nothing
    assert [(d.element, d.before, d.after) for d in diff.deadlines_changed] == [(DEADLINE, '"PT2H"', '"PT3H"')]

    newer = urgent_case(eng)  # started on version 2
    web_clock.advance(timedelta(hours=2))
    eng.timers.fire_due()
    assert eng.cases.get(older).escalation_tier == 2
    assert eng.cases.get(newer).escalation_tier == 0
    web_clock.advance(timedelta(hours=1))
    eng.timers.fire_due()
    assert eng.cases.get(newer).escalation_tier == 2


def test_a_broken_timer_is_shown_on_its_element_and_deploys_nothing(page: Page, eng) -> None:
    open_deadline_in_modeler(page)
    set_timer(page, "PT2H")  # the quotes forgotten
    deploy(page, "forgot the quotes")

    problem = page.locator(f"#problems li[data-element={DEADLINE}]")
    expect(problem).to_contain_text("PT2H")
    expect(page.locator(f"g.djs-element[data-element-id={DEADLINE}]")).to_have_class(re.compile(r"\bproblem\b"))
    assert [v.version for v in eng.repository.versions()] == [1]


def edit_in_panel(page: Page, element: str, field: str, before: str, after: str) -> None:
    page.fill("#find-element", element)
    page.press("#find-element", "Enter")
    expect(page.locator("#element-panel")).to_have_attribute("data-element", element)
    control = page.locator(f"#element-panel [name={field}]")
    expect(control).to_have_value(before)
    control.fill(after)
    control.press("Tab")  # leaving the field commits it


def test_the_panel_edits_lanes_conditions_decisions_and_forms_into_the_saved_file(page: Page) -> None:
    log_in(page, "owner1")
    page.goto("/owner/model/dispatch.bpmn")
    expect(page.locator("#modeler")).to_have_attribute("data-loaded", "1")
    edit_in_panel(page, "lane_engineer", "role", "engineer", "quality_lead")
    edit_in_panel(page, "flow_grade_gateway_to_start_handling_general", "condition",
                  'grade == "general"', 'grade in ("general", "minor")')
    edit_in_panel(page, "grade_complaint", "called_decision", "grading", "compensation_approval")
    edit_in_panel(page, "start_handling", "form_file", "start_handling.json", "first_response.json")

    xml = page.evaluate("window.complaintflowOwner.collect().then(files => files['dispatch.bpmn'])")
    assert '<bpmn:lane id="lane_engineer" name="quality_lead">' in xml
    assert '>grade in ("general", "minor")</bpmn:conditionExpression>' in xml.replace("&#34;", '"')
    assert "<spiffworkflow:calledDecisionId>compensation_approval</spiffworkflow:calledDecisionId>" in xml
    assert '<spiffworkflow:property name="formJsonSchemaFilename" value="first_response.json"' in xml
    assert '"PT2H"' in xml.replace("&#34;", '"')  # what the panel does not edit survives too


def test_an_owner_edits_a_decision_table_as_a_table_and_deploys_it(page: Page, eng):
    log_in(page, "owner1")
    page.goto("/owner/edit/grading.dmn")
    expect(page.locator("#dmn-editor")).to_have_attribute("data-loaded", "true")
    annotation = page.locator("#dmn-editor td.annotation .content-editable").first
    annotation.click()
    annotation.press("End")
    page.keyboard.type(" 安全隐患优先")
    page.wait_for_function("() => window.complaintflowOwner.dirty === true")  # the table took the edit
    page.fill("#deploy textarea[name=note]", "annotate the urgent rule")
    page.locator("#deploy button[type=submit]").click()
    expect(page.locator("#deploy")).to_contain_text("2")
    assert [v.version for v in eng.repository.versions()] == [1, 2]
    saved = eng.repository.files(2)["grading.dmn"]
    assert "安全隐患优先" in saved, saved[saved.find("rule_urgent_safety_hazard"):][:600]
    assert eng.repository.diff(2).files_changed == ["grading.dmn"]
