"""People administration (issue 13): dated absences decide who gets a task, a disabled account's work goes
back to its role and it can no longer log in, and every change is an event in the history naming who did it.

The clock starts on Monday 2 March 2026, 09:00 in Shanghai: "next week" is 9 to 15 March.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.errors import NotAllowed, NotFound
from engine.history import SYSTEM
from engine.people_admin import PeopleRefused
from engine.store.enums import EventKind
from tests.driver import complete, registration, task

NEXT_MONDAY, NEXT_SUNDAY = date(2026, 3, 9), date(2026, 3, 15)


def system_events(eng, kind: EventKind) -> list:
    return [e for e in eng.history.events(SYSTEM) if e.kind == kind]


def refused(code: str, call) -> PeopleRefused:  # noqa: ANN001
    with pytest.raises(PeopleRefused) as caught:
        call()
    assert caught.value.code == code
    assert caught.value.text("zh") != caught.value.text("en")
    return caught.value


def test_an_absence_next_week_sends_that_weeks_new_tasks_to_the_backup(eng, clock):
    eng.people_admin.add_absence("owner1", "cs1", "2026-03-09", "2026-03-15", note="年假")
    this_week = eng.runtime.start("complaint", registration(), "cs1")
    assert task(eng, this_week, "first_response").assignee == "cs1", "not away yet"
    clock.advance(timedelta(days=7))  # Monday 9 March, 09:00 in Shanghai
    next_week = eng.runtime.start("complaint", registration(), "cs1")
    assert task(eng, next_week, "first_response").assignee == "cs2"
    assert eng.people.get("cs1").absent
    clock.advance(timedelta(days=6, hours=14, minutes=59))  # Sunday 15 March, 23:59: still away
    assert task(eng, eng.runtime.start("complaint", registration(), "cs1"), "first_response").assignee == "cs2"
    clock.advance(timedelta(minutes=2))  # Monday 16 March, 00:01 in Shanghai: back
    assert task(eng, eng.runtime.start("complaint", registration(), "cs1"), "first_response").assignee == "cs1"
    [added] = system_events(eng, EventKind.ABSENCE_ADDED)
    assert added.actor == "owner1"
    assert (added.payload["username"], added.payload["first_day"], added.payload["last_day"]) == (
        "cs1", "2026-03-09", "2026-03-15")


def test_an_absence_from_today_moves_the_open_tasks_at_once(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    assert first.assignee == "cs1"
    eng.people_admin.add_absence("owner1", "cs1", "2026-03-02", "")  # until further notice
    assert task(eng, number, "first_response").assignee == "cs2"
    moved = [e for e in eng.history.events(number) if e.kind == EventKind.TASK_REASSIGNED]
    assert [(e.actor, e.payload["from"], e.payload["to"], e.payload["reason"]) for e in moved] == [
        ("owner1", "cs1", "cs2", "absent")]
    [added] = system_events(eng, EventKind.ABSENCE_ADDED)
    assert added.payload["tasks_moved"] == 1 and added.payload["last_day"] is None
    [period] = eng.people_admin.account("cs1").absences
    eng.people_admin.remove_absence("owner1", "cs1", period.id)
    assert not eng.people.get("cs1").absent
    [removed] = system_events(eng, EventKind.ABSENCE_REMOVED)
    assert (removed.actor, removed.payload["first_day"]) == ("owner1", "2026-03-02")


def test_the_on_off_absence_is_a_period_from_today(eng, clock):
    eng.people.set_absent("cs1", True)
    [period] = eng.people_admin.account("cs1").absences
    assert (period.first_day, period.last_day) == (date(2026, 3, 2), None)
    clock.advance(timedelta(days=3))
    eng.people.set_absent("cs1", False)  # back on Thursday: the period ends on Wednesday
    assert eng.people_admin.account("cs1").absences == ()
    assert task(eng, eng.runtime.start("complaint", registration(), "cs1"), "first_response").assignee == "cs1"


def test_absence_dates_are_checked(eng):
    admin = eng.people_admin
    admin.add_absence("owner1", "cs1", NEXT_MONDAY, NEXT_SUNDAY)
    refused("people_dates_inverted", lambda: admin.add_absence("owner1", "cs1", "2026-03-20", "2026-03-19"))
    error = refused("people_dates_overlap", lambda: admin.add_absence("owner1", "cs1", "2026-03-15", "2026-03-18"))
    assert error.params == {"first": "2026-03-09", "last": "2026-03-15"}
    refused("people_dates_overlap", lambda: admin.add_absence("owner1", "cs1", "2026-03-01", ""))
    refused("people_date_invalid", lambda: admin.add_absence("owner1", "cs1", "2026-02-30", ""))
    refused("people_date_invalid", lambda: admin.add_absence("owner1", "cs1", "20260316", ""))
    refused("people_date_missing", lambda: admin.add_absence("owner1", "cs1", "", "2026-03-18"))
    refused("people_absence_too_long", lambda: admin.add_absence("owner1", "cs1", "2026-04-01", "2027-04-02"))
    admin.add_absence("owner1", "cs1", "2026-03-16", "2026-03-16")  # the day after: no overlap
    assert [(a.first_day, a.last_day) for a in admin.account("cs1").absences] == [
        (NEXT_MONDAY, NEXT_SUNDAY), (date(2026, 3, 16), date(2026, 3, 16))]
    assert len(system_events(eng, EventKind.ABSENCE_ADDED)) == 2
    with pytest.raises(NotFound):
        admin.remove_absence("owner1", "cs2", admin.account("cs1").absences[0].id)


def test_disabling_returns_open_tasks_to_the_role_ends_sessions_and_tokens_and_refuses_login(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    eng.tasks.claim(first.id, "cs1")
    session = eng.sessions.start("cs1")
    token = eng.sessions.issue_token("cs1", "crm", timedelta(hours=12))
    assert eng.people.authenticate("cs1", "demo") is not None

    counts = eng.people_admin.disable("owner1", "cs1")

    assert counts == {"sessions": 1, "tokens": 1, "tasks": 1}
    back = task(eng, number, "first_response")
    assert back.assignee is None, "back to the role's group: nobody holds it"
    assert eng.people.authenticate("cs1", "demo") is None
    assert eng.sessions.check(session, idle=timedelta(minutes=30), lifetime=timedelta(hours=12)) is None
    assert eng.sessions.token_user(token.token) is None
    [row] = eng.sessions.of("cs1")
    assert (row.ended_by, row.end_reason) == ("owner1", "disabled")
    [disabled] = system_events(eng, EventKind.PERSON_DISABLED)
    assert (disabled.actor, disabled.payload) == ("owner1", {"username": "cs1", "sessions": 1, "tokens": 1,
                                                             "tasks": 1})
    moved = [e for e in eng.history.events(number) if e.kind == EventKind.TASK_REASSIGNED]
    assert [(e.actor, e.payload["to"], e.payload["reason"]) for e in moved] == [("owner1", None, "disabled")]
    # a disabled person gets no new work either: their backup does
    assert task(eng, eng.runtime.start("complaint", registration(), "cs2"), "first_response").assignee == "cs2"
    assert eng.people.get("cs1").disabled

    eng.people_admin.enable("owner1", "cs1")
    assert eng.people.authenticate("cs1", "demo") is not None
    assert [e.actor for e in system_events(eng, EventKind.PERSON_ENABLED)] == ["owner1"]
    eng.tasks.claim(first.id, "cs2")  # a colleague of the role takes it from the group
    complete(eng, number, "first_response", user="cs2")
    assert eng.history.verify()


def test_the_last_administrator_stays(eng):
    admin = eng.people_admin
    refused("people_disable_self", lambda: admin.disable("owner1", "owner1"))
    refused("people_last_admin", lambda: admin.set_roles("owner1", "owner1", ["auditor"]))
    assert eng.access.is_admin("owner1")
    admin.create("owner1", "root2", "第二管理员", "a long password", roles=["process_owner"])
    admin.disable("root2", "owner1")  # another administrator is left: allowed
    assert eng.people.authenticate("owner1", "demo") is None
    refused("people_disable_self", lambda: admin.disable("root2", "root2"))
    refused("people_last_admin", lambda: admin.set_roles("root2", "root2", []))


def test_accounts_are_created_with_roles_and_contact_and_checked(eng):
    admin = eng.people_admin
    created = admin.create("owner1", "wang.li", "王丽", "initial-pass-1", email="wang.li@example.cn",
                           phone="+86 138 0000 1234", roles=["cs_specialist"])
    assert created.roles == (("cs_specialist", 3),), "after the primary and the backup"
    assert eng.people.authenticate("wang.li", "initial-pass-1").display_name == "王丽"
    [event] = system_events(eng, EventKind.PERSON_CREATED)
    assert event.actor == "owner1"
    assert event.payload == {"username": "wang.li", "display_name": "王丽", "roles": ["cs_specialist"],
                             "contact": ["email", "phone"]}
    assert "initial-pass-1" not in str(event.payload) and "138" not in str(event.payload)
    refused("people_username_taken", lambda: admin.create("owner1", "WANG.LI", "x", "initial-pass-1"))
    refused("people_username_invalid", lambda: admin.create("owner1", "wang li", "x", "initial-pass-1"))
    refused("people_password_short", lambda: admin.create("owner1", "zhao", "赵", "short"))
    refused("people_role_unknown", lambda: admin.create("owner1", "zhao", "赵", "initial-pass-1", roles=["boss"]))
    refused("people_email_invalid", lambda: admin.create("owner1", "zhao", "赵", "initial-pass-1", email="zhao@"))
    refused("people_display_name_invalid", lambda: admin.create("owner1", "zhao", " ", "initial-pass-1"))
    with pytest.raises(NotAllowed):
        admin.create("sup1", "zhao", "赵", "initial-pass-1")
    assert [a.username for a in admin.accounts()].count("zhao") == 0
    admin.change("owner1", "wang.li", display_name="王丽丽", email="", phone="")
    [changed] = system_events(eng, EventKind.PERSON_CHANGED)
    assert changed.payload == {"username": "wang.li", "changed": ["display_name", "email", "phone"]}


def test_primary_and_backup_are_set_per_role(eng):
    admin = eng.people_admin
    admin.create("owner1", "cs3", "客服三", "initial-pass-1", roles=["cs_specialist"])
    assert admin.set_ranks("owner1", "cs_specialist", "cs3", "cs1") == ["cs3", "cs1", "cs2"]
    assert task(eng, eng.runtime.start("complaint", registration(), "cs1"), "first_response").assignee == "cs3"
    eng.people.set_absent("cs3", True)
    assert task(eng, eng.runtime.start("complaint", registration(), "cs1"), "first_response").assignee == "cs1"
    [event] = system_events(eng, EventKind.ROLE_RANKS_SET)
    assert (event.actor, event.payload["before"], event.payload["after"]) == (
        "owner1", ["cs1", "cs2", "cs3"], ["cs3", "cs1", "cs2"])
    refused("people_not_in_role", lambda: admin.set_ranks("owner1", "cs_specialist", "sup1"))
    refused("people_ranks_invalid", lambda: admin.set_ranks("owner1", "cs_specialist", "cs1", "cs1"))
    refused("people_role_unknown", lambda: admin.set_ranks("owner1", "nobody", "cs1"))


def test_a_dropped_role_hands_its_open_tasks_on(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    admin = eng.people_admin
    admin.set_roles("owner1", "cs1", ["cs_specialist", "auditor"])
    assert task(eng, number, "first_response").assignee == "cs1"
    admin.set_roles("owner1", "cs1", ["auditor"])
    assert task(eng, number, "first_response").assignee == "cs2"
    events = system_events(eng, EventKind.PERSON_ROLES_CHANGED)
    assert [(e.payload["added"], e.payload["removed"]) for e in events] == [
        (["auditor"], []), ([], ["cs_specialist"])]
    assert eng.people.get("cs1").roles == ("auditor",)


def test_tasks_held_when_an_absence_begins_move_to_the_backup_that_day(eng, clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    eng.tasks.claim(first.id, "cs1")
    eng.people_admin.add_absence("owner1", "cs1", NEXT_MONDAY, NEXT_SUNDAY)
    assert eng.people.hand_on_from_absent() == 0, "not away yet"
    assert task(eng, number, "first_response").assignee == "cs1"
    clock.advance(timedelta(days=7))
    assert eng.people.hand_on_from_absent() == 1
    assert task(eng, number, "first_response").assignee == "cs2"
    assert eng.people.hand_on_from_absent() == 0
    [moved] = [e for e in eng.history.events(number) if e.kind == EventKind.TASK_REASSIGNED]
    assert (moved.actor, moved.payload["from"], moved.payload["to"], moved.payload["reason"]) == (
        "system", "cs1", "cs2", "absent")
