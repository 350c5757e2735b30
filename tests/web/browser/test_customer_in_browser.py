"""A customer, in real Chromium: files a complaint on the public page and finds it on the status page
with the one-time code the SMS gateway (a real HTTP peer on loopback) got for the contact."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from engine.notify import ChannelSettings
from tests.notify_peers import WebhookPeer


@pytest.fixture
def sms(eng) -> Iterator[WebhookPeer]:  # noqa: ANN001
    with WebhookPeer("sms") as peer:
        eng.notifications.settings = ChannelSettings(sms_url=peer.url, timeout=5)
        yield peer


def sent_code(sms: WebhookPeer) -> str:
    deadline = time.monotonic() + 10
    while not sms.bodies and time.monotonic() < deadline:
        time.sleep(0.05)
    return re.search(r"\b(\d{6})\b", sms.bodies[-1]["text"]).group(1)


def test_a_customer_files_a_complaint_and_finds_it_on_the_status_page(page: Page, sms: WebhookPeer):
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
    page.fill("input[name=address]", "139 1234 8765")
    page.click("button[type=submit]")
    page.fill("input[name=code]", sent_code(sms))
    page.click("button[type=submit]")
    expect(page.locator("dl.status")).to_contain_text(number)
    expect(page.locator("dd.description")).to_contain_text("<script>alert(1)</script>")  # shown as text
    assert page.locator("script:has-text('alert(1)')").count() == 0


def test_a_wrong_contact_gets_the_neutral_answer_and_a_guessed_code_is_refused(page: Page, sms: WebhookPeer):
    page.goto("/c/status")
    page.fill("input[name=number]", "20260302-WEB-001")
    page.fill("input[name=address]", "13900000000")
    page.click("button[type=submit]")
    expect(page.locator("p.flash[role=status]")).to_be_visible()
    page.fill("input[name=code]", "123456")
    page.click("button[type=submit]")
    expect(page.locator(".flash.error")).to_be_visible()
    assert sms.bodies == []


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
