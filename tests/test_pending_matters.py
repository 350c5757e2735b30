"""Pending matters (未了事宜, seed 002): responsibility that cannot be settled now, the GM's approval, the
account manager's visit for a major complaint, the monthly reminder and the ledger, through the engine
API with a manual clock on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from engine.errors import DeployError, FormInvalid, NotAllowed
from tests.conftest import SHANGHAI
from tests.driver import advance, complete, open_tasks, registration, task, to_responsibility

pytestmark = pytest.mark.spec  # seed 002's route and the 4th of the month, as shipped


def names(eng, number: str) -> list[str]:
    return sorted(t.name for t in open_tasks(eng, number))


def to_pending(eng, number: str, grade: str = "general", reason: str = "parts_delayed") -> None:
    """Responsibility cannot be determined → the account manager tells the customer → the GM approves."""
    to_responsibility(eng, number, grade)
    complete(eng, number, "determine_responsibility", responsibility="not_determinable", pending_reason=reason)
    complete(eng, number, "notify_customer_pending", pending_next_action="配件到货后通知客户")
    complete(eng, number, "approve_pending_matter", pending_approved=True)


def test_responsibility_not_determinable_becomes_a_pending_matter_after_gm_approval(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="not_determinable",
             pending_reason="customer_absent")
    assert task(eng, number, "notify_customer_pending").assignee == "am1"
    complete(eng, number, "notify_customer_pending", pending_next_action="客户方便时回店")
    assert task(eng, number, "approve_pending_matter").assignee == "gm1"
    assert eng.pending.ledger("gm1") == []  # not a pending matter until the GM approves
    complete(eng, number, "approve_pending_matter", pending_approved=True)
    assert names(eng, number) == ["wait_pending_matter"]
    [matter] = eng.pending.ledger("am1")
    assert (matter.case_number, matter.holder, matter.reason, matter.next_action) == (
        number, "am1", "customer_absent", "客户方便时回店")
    assert matter.reason_label("zh-CN") == "客户不在场" and matter.reason_label("en") == "Customer absent"
    assert matter.since == datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI) and matter.month == "2026-03"
    assert matter.product == "智能电水壶" and matter.customer == "张三"  # the account manager calls customers
    assert eng.pending.ledger("mgmt1")[0].customer == "张*"  # management reads it masked


def test_the_general_manager_rejecting_a_pending_matter_sends_it_back_to_responsibility(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="not_determinable", pending_reason="parts_delayed")
    complete(eng, number, "notify_customer_pending")
    with pytest.raises(FormInvalid):
        complete(eng, number, "approve_pending_matter", pending_approved=False, pending_opinion="")
    complete(eng, number, "approve_pending_matter", pending_approved=False, pending_opinion="质量问题可以判定")
    assert names(eng, number) == ["determine_responsibility"]
    assert eng.pending.ledger("gm1") == []


def test_a_major_pending_matter_gets_the_account_managers_visit(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_pending(eng, number, grade="serious")
    assert names(eng, number) == ["visit_pending_customer"]
    assert task(eng, number, "visit_pending_customer").assignee == "am1"
    complete(eng, number, "visit_pending_customer", pending_next_action="上门后约定下周回店")
    assert names(eng, number) == ["wait_pending_matter"]
    assert eng.pending.ledger("am1")[0].next_action == "上门后约定下周回店"
    general = eng.runtime.start("complaint", registration(), "cs1")
    to_pending(eng, general, grade="general")
    assert names(eng, general) == ["wait_pending_matter"]  # no visit for a general complaint


def test_on_the_4th_each_open_pending_matter_gives_the_account_manager_a_reminder_task(eng, clock):
    first = eng.runtime.start("complaint", registration(), "cs1")
    second = eng.runtime.start("complaint", registration(), "cs1")
    to_pending(eng, first)
    to_pending(eng, second, reason="customer_no_time")
    settled = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, settled)
    complete(eng, settled, "determine_responsibility", responsibility="customer_misunderstanding")
    # Seed 002: on the 4th the account manager reminds the customers of last month's pending matters.
    clock.advance(datetime(2026, 3, 4, 9, 1, tzinfo=SHANGHAI) - clock.now())
    eng.timers.fire_due()
    assert "remind_pending_customer" not in names(eng, first)  # pending since 2 March: this month's
    clock.advance(datetime(2026, 4, 4, 8, 59, tzinfo=SHANGHAI) - clock.now())
    eng.timers.fire_due()
    assert "remind_pending_customer" not in names(eng, first)
    advance(eng, clock, minutes=2)  # the 4th, 09:00 local time
    for number in (first, second):
        assert names(eng, number) == ["remind_pending_customer", "wait_pending_matter"]
    assert "remind_pending_customer" not in names(eng, settled)
    inbox = [t for t in eng.tasks.for_user("am1") if t.name == "remind_pending_customer"]
    assert sorted(t.case_number for t in inbox) == sorted([first, second])
    complete(eng, first, "remind_pending_customer", reminder_contacted=True, reminder_answer="下周二回店",
             pending_next_action="预约下周二", expected_return="2026-04-14")
    events = [e for e in eng.history.events(first) if e.payload.get("element") == "remind_pending_customer"]
    assert events[-1].payload["data"]["reminder_answer"] == "下周二回店"
    row = next(m for m in eng.pending.ledger("am1") if m.case_number == first)
    assert row.last_reminder.data["reminder_contacted"] is True
    assert row.last_reminder.at == datetime(2026, 4, 4, 9, 1, tzinfo=SHANGHAI)
    assert (row.next_action, row.expected_return) == ("预约下周二", date(2026, 4, 14))
    # Next month again, for the matter still open; the unanswered reminder of April stays open beside it.
    clock.advance(datetime(2026, 5, 4, 9, 1, tzinfo=SHANGHAI) - clock.now())
    eng.timers.fire_due()
    assert names(eng, first) == ["remind_pending_customer", "wait_pending_matter"]
    assert [t.name for t in open_tasks(eng, second)].count("remind_pending_customer") == 1


def test_a_customer_coming_back_resumes_responsibility(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_pending(eng, number)
    clock.advance(datetime(2026, 4, 4, 10, 0, tzinfo=SHANGHAI) - clock.now())
    eng.timers.fire_due()  # April's reminder of March's matter is open
    assert "remind_pending_customer" in names(eng, number)
    complete(eng, number, "wait_pending_matter", pending_outcome="resume", pending_note="客户回店了")
    assert names(eng, number) == ["determine_responsibility"]  # the open reminder ends with the matter
    assert eng.pending.ledger("am1") == []
    assert eng.timers.next_due() is not None
    advance(eng, clock, days=40)
    assert "remind_pending_customer" not in names(eng, number)  # no more reminders
    complete(eng, number, "determine_responsibility", responsibility="customer_misunderstanding")
    assert names(eng, number) == ["provide_guidance"]
    assert eng.replay.run(number).ok


def test_a_closed_pending_matter_leaves_the_ledger_with_its_outcome(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_pending(eng, number)
    complete(eng, number, "wait_pending_matter", pending_outcome="closed", pending_note="客户放弃")
    assert eng.pending.ledger("am1") == []
    assert "wait_pending_matter" not in names(eng, number)
    assert eng.replay.run(number).ok


def test_the_ledger_never_shows_a_case_to_a_person_involved_in_it(eng):
    number = eng.runtime.start("complaint", registration(involved_staff=["mgmt1"]), "cs1")
    to_pending(eng, number)
    assert [m.case_number for m in eng.pending.ledger("mgmt2")] == [number]
    assert eng.pending.ledger("mgmt1") == []
    with pytest.raises(NotAllowed):
        eng.pending.ledger("cs1")  # roles.toml gives the CS specialists no pending_ledger right


@pytest.mark.parametrize(("element_kind", "value", "code"), [
    ("scriptTask", "true", "pending_property_not_user_task"),
    ("userTask", "yes", "pending_property_not_flag"),
])
def test_a_pending_matter_property_off_a_user_task_or_not_a_flag_is_refused(
        eng, workflows_dir: Path, element_kind: str, value: str, code: str):
    path = workflows_dir / "responsibility.bpmn"
    text = path.read_text(encoding="utf-8")
    marked = '<spiffworkflow:property name="pendingMatter" value="true"/>'
    assert marked in text
    text = text.replace(marked, f'<spiffworkflow:property name="pendingMatter" value="{value}"/>')
    if element_kind == "scriptTask":
        opening = '<bpmn:scriptTask id="close_pending_matter" name="未了事宜了结 Pending matter closed">'
        assert opening in text
        text = text.replace(opening, opening + '<bpmn:extensionElements><spiffworkflow:properties>'
                            f'{marked}</spiffworkflow:properties></bpmn:extensionElements>')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(actor="owner1")
    [problem] = [p for p in refused.value.problems if p.code == code]
    assert problem.file == "responsibility.bpmn"
    assert "pendingMatter" in problem.text("zh") and "pendingMatter" in problem.text("en")


def test_a_timer_counting_from_registration_with_a_bad_duration_is_refused_at_deploy(eng, workflows_dir: Path):
    path = workflows_dir / "responsibility.bpmn"
    text = path.read_text(encoding="utf-8")
    assert 'after(responsibility_clock_from, "PT48H")' in text
    path.write_text(text.replace('after(responsibility_clock_from, "PT48H")', 'after(case_started(), "48 hours")'),
                    encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(actor="owner1")
    [problem] = refused.value.problems
    assert problem.element.startswith("responsibility_deadline") and problem.code == "timer_not_evaluable"


def test_a_pending_matter_coming_back_months_later_gets_24_hours_from_its_return(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_pending(eng, number)
    clock.advance(datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI) - clock.now())
    eng.timers.fire_due()
    complete(eng, number, "wait_pending_matter", pending_outcome="resume", pending_note="客户回来了")
    assert task(eng, number, "determine_responsibility").due_at == datetime(2026, 5, 21, 10, 0, tzinfo=SHANGHAI)
    assert eng.replay.run(number).ok
