"""Sign-in through the company's identity provider in real Chromium: the provider's own page, then the inbox."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.driver import registration
from tests.web.oidc_peer import PASSWORD, Directory


def test_a_user_signs_in_through_the_provider_and_lands_in_the_inbox_with_the_roles_of_their_groups(
        page: Page, eng, company_directory: Directory):
    number = eng.runtime.start("complaint", registration(description="充电器无法充电"), "cs1")
    [first] = eng.cases.get(number).open_tasks  # a task of the customer-service specialists

    page.goto("/login")
    page.click("#oidc-sign-in")  # 通过Company directory登录
    page.wait_for_url(f"{company_directory.issuer}/interaction/**")  # the provider's own sign-in page
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_url("**/inbox**")
    expect(page.locator(f"tr[data-step={first.name}]:has(a:text('{number}'))")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Alice Wang")
    assert eng.people.get("alice").roles == ("cs_specialist",)  # the group cs-team gives the role
