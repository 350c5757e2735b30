"""An auditor in real Chromium: finds a case, sees its timeline and path, verifies the chain,
downloads the deadline compliance report."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.driver import complete, registration
from tests.web.browser.conftest import log_in


def test_an_auditor_checks_a_case_and_downloads_the_compliance_report(page: Page, eng, web_clock, tmp_path):
    number = eng.runtime.start("complaint", registration(channel="phone", product_name="空气炸锅"), "cs1")
    web_clock.advance(timedelta(minutes=25))
    eng.timers.fire_due()
    complete(eng, number, "first_response")

    log_in(page, "auditor1")
    page.goto("/audit/")
    page.fill("#case-search input[name=product]", "空气炸锅")
    page.click("#case-search button[type=submit]")
    page.click(f"#hits a:text('{number}')")

    expect(page.locator("#case-diagram")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#case-diagram [data-element-id=intake_stage].cf-current")).to_have_count(1)
    expect(page.locator("[data-deadline=first_response_deadline]")).to_have_attribute("data-outcome", "missed")
    expect(page.locator("body")).to_contain_text("cs1")  # the timeline says who did it
    page.click("#replay-link")
    expect(page.locator("#replay-result")).to_have_attribute("data-ok", "true")
    expect(page.locator("#replay-steps tr.ok")).not_to_have_count(0)

    page.goto("/audit/")
    page.click("#verify")
    expect(page.locator("#verify-result")).to_have_attribute("data-ok", "true")

    page.goto("/audit/report?from=2026-03-01&to=2026-03-31")
    expect(page.locator("#compliance [data-step=first_response]")).to_contain_text(number)
    with page.expect_download() as download:
        page.click("a:text('XLSX')")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx" and saved.stat().st_size > 1000
