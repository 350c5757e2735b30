"""Seed 000's monthly quality review in a real browser: on the 2nd the monthly timer stores March's
report and opens the review for the quality lead, who sees its charts drawn, drills from the top defect
type to its complaints, and records the decisions."""

from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import expect

from engine import review_reports
from tests.conftest import SHANGHAI
from tests.driver import registration
from tests.test_statistics import through_root_cause
from tests.web.browser.conftest import log_in


def test_the_quality_lead_reviews_the_month_from_its_stored_report(page, eng, web_clock):
    [reminders] = eng.runtime.start_standing()
    web_clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI))
    overheating = []
    for defect in ("overheating", "overheating", "battery_swelling"):
        number = eng.runtime.start("complaint", registration(), "cs1")
        through_root_cause(eng, number, defect)
        if defect == "overheating":
            overheating.append(number)
    web_clock.set(datetime(2026, 4, 2, 9, 1, tzinfo=SHANGHAI))
    eng.timers.fire_due()
    [march] = [r for r in review_reports.listed(eng.db) if r.kind == "month"]
    assert march.figures["defect_types"][0] == {"key": "overheating", "count": 2, "share": round(2 / 3, 4)}
    [review] = [t for t in eng.tasks.for_case(reminders) if t.role == "quality_lead"]

    log_in(page, "ql1")
    page.goto(f"/tasks/{review.id}")
    panel = page.locator("#review-report")
    expect(panel).to_contain_text("2026-03-01")
    for chart in ("chart-defect-types", "chart-satisfaction", "chart-on-time"):
        expect(page.locator(f"canvas#{chart}")).to_have_attribute("data-rendered", re.compile(r"\d+"))
    assert page.locator("canvas#chart-defect-types").evaluate("c => c.width > 0 && c.height > 0")
    assert page.locator("canvas#chart-defect-types").get_attribute("data-rendered") == "2"

    page.locator("#review-top-defects li[data-key=overheating] a").click()
    page.wait_for_url("**/statistics/cases**")
    expect(page.locator("#drill-cases tr[data-case]")).to_have_count(2)
    assert sorted(page.locator("#drill-cases tr[data-case]").evaluate_all(
        "rows => rows.map(r => r.dataset.case)")) == sorted(overheating)

    page.go_back()
    page.check("input[name=top_defects_reviewed]")
    page.fill("textarea[name=common_problems]", "过热集中在电水壶底座")
    page.check("input[name=review_decisions][value=design_change]")
    page.fill("textarea[name=decision_details]", "研发部月底前更换温控器")
    page.click("form.task-form button[type=submit]")
    page.wait_for_url("**/inbox**")
    done = [e for e in eng.history.events(reminders) if e.kind == "task_completed"
            and e.payload.get("task_id") == review.id]
    assert len(done) == 1
    assert done[0].payload["data"]["review_decisions"] == ["design_change"]
    assert done[0].payload["data"]["common_problems"] == "过热集中在电水壶底座"

    # The stored report is listed and opens as the whole statistics page, its charts drawn too.
    page.goto("/statistics/reports")
    page.locator(f"#stored-reports tr[data-report='{march.id}'] a").click()
    expect(page.locator("#statistics-title")).to_contain_text("2026-03-01")
    expect(page.locator("canvas#chart-product_name")).to_have_attribute("data-rendered", re.compile(r"\d+"))
    expect(page.locator("#figure-volume .value")).to_have_text("3")
