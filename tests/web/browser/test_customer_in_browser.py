"""A customer, in real Chromium: files a complaint on the public page and finds it on the status page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_a_customer_files_a_complaint_and_finds_it_on_the_status_page(page: Page):
    page.goto("/c/complaint")
    page.select_option("select[name=complaint_type]", "product_quality")
    page.fill("input[name=customer_name]", "王小明")
    page.fill("input[name=contact]", "139-1234-8765")
    page.fill("input[name=product_name]", "智能电水壶")
    page.fill("input[name=product_model]", "K-200")
    page.fill("textarea[name=description], input[name=description]", "底座漏电 <script>alert(1)</script>")
    page.select_option("select[name=expectation]", "exchange")
    page.click("button[type=submit]")

    number = page.locator(".complaint-number").inner_text().strip()
    assert re.fullmatch(r"\d{8}-WEB-\d{3}", number), number

    page.goto("/c/status")
    page.fill("input[name=number]", number)
    page.fill("input[name=last4]", "8765")
    page.click("button[type=submit]")
    expect(page.locator("dl.status")).to_contain_text(number)
    expect(page.locator("dd.description")).to_contain_text("<script>alert(1)</script>")  # shown as text
    assert page.locator("script:has-text('alert(1)')").count() == 0


def test_a_wrong_last_4_digits_shows_the_neutral_message(page: Page):
    page.goto("/c/status")
    page.fill("input[name=number]", "20260302-WEB-001")
    page.fill("input[name=last4]", "0000")
    page.click("button[type=submit]")
    expect(page.locator(".flash.error")).to_be_visible()


def test_the_language_switch_turns_the_page_into_english_and_back(page: Page):
    page.goto("/c/complaint")
    chinese_title = page.locator("h1").inner_text()
    page.click("a[data-lang=en]")
    expect(page.locator("h1")).not_to_have_text(chinese_title)
    english_title = page.locator("h1").inner_text()
    assert re.search(r"[A-Za-z]", english_title) and not re.search(r"[\u4e00-\u9fff]", english_title)
    page.click("a[data-lang=zh_CN]")
    expect(page.locator("h1")).to_have_text(chinese_title)
    assert re.search(r"[\u4e00-\u9fff]", chinese_title)
