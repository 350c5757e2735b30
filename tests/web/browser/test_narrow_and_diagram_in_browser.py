"""Staff pages on a phone and the case diagram's view tools, in real Chromium (issue 15)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.driver import complete, registration, start_to_verified
from tests.web.browser.conftest import log_in

PHONE = {"width": 390, "height": 844}


def test_staff_pages_fit_a_390_px_screen_without_horizontal_scrolling(page: Page, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    for _ in range(3):
        eng.runtime.start("complaint", registration(channel="phone", product_name="超长的产品名称" * 4), "cs1")
    page.set_viewport_size(PHONE)
    log_in(page, "sup1")
    for path in ("/inbox", f"/cases/{number}", "/board", "/notices", f"/cases?q={number[:8]}"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow} px"
    page.goto("/inbox")
    page.screenshot(path="test-output/screenshots/inbox_390px.png", full_page=True)
    nav_height = page.evaluate("document.querySelector('header nav, header').getBoundingClientRect().height")
    assert nav_height < 300, "the navigation wraps one character per line"


def test_the_case_diagram_zooms_fits_and_goes_to_the_current_step(page: Page, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number)
    complete(eng, number, "start_handling_general")
    log_in(page, "cs1")
    page.goto(f"/cases/{number}")
    diagram = page.locator("#case-diagram")
    expect(diagram).to_have_attribute("data-loaded", "true")
    viewport = diagram.locator("g.viewport")

    def scale() -> float:
        return float(page.evaluate("""() => document.querySelector('#case-diagram g.viewport')
                                         .transform.baseVal.consolidate().matrix.a"""))

    before = scale()
    page.locator("[data-zoom=in]").click()
    assert scale() > before
    page.locator("[data-zoom=fit]").click()
    fitted = scale()
    page.locator("[data-zoom=current]").click()
    current = diagram.locator(".cf-current").first
    box, frame = current.bounding_box(), diagram.bounding_box()
    assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1
    assert scale() >= fitted
    expect(viewport).to_have_count(1)


def test_the_inbox_is_worked_with_j_k_o_and_c(page: Page, eng):
    numbers = [eng.runtime.start("complaint", registration(channel="phone"), "cs1") for _ in range(2)]
    eng.tasks.reassign(eng.tasks.for_case(numbers[1])[0].id, "sup1", None)  # the second: nobody holds it
    log_in(page, "cs2")
    page.goto("/inbox")
    rows = page.locator("#tasks tbody tr[data-task]")
    expect(rows).to_have_count(2)
    page.keyboard.press("j")
    expect(page.locator("#tasks tr.selected")).to_have_count(1)
    page.keyboard.press("j")
    selected = page.locator("#tasks tr.selected")
    task_id = selected.get_attribute("data-task")
    page.keyboard.press("c")  # claim the selected row
    expect(page.locator(".flash.ok")).to_be_visible()
    assert eng.tasks.get(task_id).assignee == "cs2"
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("o")
    page.wait_for_url("**/tasks/*")


def test_the_task_page_is_worked_with_keys(page: Page, eng):
    """c claims, s goes to the first field, Shift+S submits once confirmed, ? shows the keys, Esc leaves."""
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    [first] = eng.tasks.for_case(number)
    eng.tasks.reassign(first.id, "sup1", None)  # nobody holds it: cs2 claims it with a key
    log_in(page, "cs2")
    page.goto(f"/tasks/{first.id}")
    expect(page.locator("#task-keys-help")).to_be_hidden()
    page.keyboard.press("?")
    expect(page.locator("#task-keys-help")).to_be_visible()
    page.keyboard.press("c")
    expect(page.locator(".flash.ok")).to_be_visible()
    assert eng.tasks.get(first.id).assignee == "cs2"
    page.keyboard.press("s")
    focused = page.evaluate("document.activeElement.closest('form.task-form') !== null && document.activeElement.name")
    assert focused == "expected_handling_time", "s puts the cursor in the form's first field"
    page.keyboard.type("2 个工作日内")
    page.fill("form.task-form textarea, form.task-form [name=message_to_customer]", "您好，已收到您的投诉")
    page.locator("h1").click()  # out of the field: keys act again
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.keyboard.press("Shift+S")
    assert eng.tasks.get(first.id).state == "open"  # dismissed: nothing sent
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Shift+S")
    expect(page.locator(".flash.ok")).to_be_visible()
    assert eng.tasks.get(first.id).state == "completed"
    [verify] = eng.tasks.for_case(number)
    page.goto(f"/tasks/{verify.id}")
    page.keyboard.press("Escape")
    page.wait_for_url("**/inbox**")
