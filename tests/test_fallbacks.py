"""Availability fallbacks (seed 002 (三), issue 11): a task whose role has nobody available goes along the
role's ``fallback`` chain in roles.toml; the person is told, the history records it, deadline notices reach
them; deploy refuses an unknown fallback role and a circle."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.errors import DeployError
from engine.people import FALLBACK_NOTICE
from engine.store.enums import EventKind
from engine.store.models import Case, Notification
from tests.driver import registration, task


def _roles(eng) -> dict[str, dict]:  # noqa: ANN001
    return eng.repository.active().roles


def _first_task(eng, number: str):  # noqa: ANN001, ANN202
    tasks = eng.tasks.for_case(number)
    assert len(tasks) == 1
    return tasks[0]


def _outbox(eng, number: str) -> list[tuple[str, str, list]]:  # noqa: ANN001
    with eng.db.read() as session:
        rows = session.execute(sa.select(Notification.role, Notification.subject, Notification.recipients)
                               .join(Case, Case.id == Notification.case_id).where(Case.number == number)
                               .order_by(Notification.id)).all()
    return [(role, subject, list(recipients or [])) for role, subject, recipients in rows]


def _members(eng, role: str) -> list[str]:  # noqa: ANN001
    with eng.db.read() as session:
        return list(session.scalars(sa.text("SELECT username FROM role_member WHERE role = :r ORDER BY rank"),
                                    {"r": role}))


def test_a_task_whose_primary_and_backup_are_away_goes_to_the_fallback_role_and_it_is_told(eng):
    intake = eng.repository.active().intake_process()
    number = eng.runtime.start(intake, registration(), "cs1")
    role = _first_task(eng, number).role
    fallback = _roles(eng)[role]["fallback"]
    for person in _members(eng, role):
        eng.people.set_absent(person, True)
    second = eng.runtime.start(intake, registration(), "sup1")
    first_step = _first_task(eng, second)
    chosen = _members(eng, fallback)[0]
    assert first_step.assignee == chosen
    assert first_step.name in [t.name for t in eng.tasks.for_user(chosen)]
    kinds = [e for e in eng.history.events(second) if e.kind == EventKind.TASK_TO_FALLBACK]
    assert len(kinds) == 1
    assert kinds[0].payload["to"] == chosen and kinds[0].payload["role"] == role
    assert kinds[0].payload["fallback_role"] == fallback
    assert (fallback, FALLBACK_NOTICE, [chosen]) in _outbox(eng, second)
    # The fallback person may open the case and complete the step.
    assert eng.cases.get(second, viewer=chosen).number == second


def test_deadline_notices_to_a_role_with_nobody_available_reach_its_fallback(eng, clock):
    intake = eng.repository.active().intake_process()
    number = eng.runtime.start(intake, registration(), "cs1")
    before = len(_outbox(eng, number))
    clock.advance(eng.timers.next_due() - clock.now())
    assert eng.timers.fire_due() >= 1
    told = {role for role, _subject, _to in _outbox(eng, number)[before:]} - {"customer"}
    assert told, "the first step's deadline tells someone"
    # The same deadline on a new case, with every member of the told roles away: their fallback reads it.
    for role in told:
        for person in _members(eng, role):
            eng.people.set_absent(person, True)
    second = eng.runtime.start(intake, registration(), "cs1")
    before = len(_outbox(eng, second))
    clock.advance(eng.timers.next_due() - clock.now())
    eng.timers.fire_due()
    for role in told:
        want = [_members(eng, _roles(eng)[role]["fallback"])[0]]
        notices = [to for r, _subject, to in _outbox(eng, second)[before:] if r == role]
        assert notices and all(to[:1] == want for to in notices)


def test_involved_primary_and_absent_backup_fall_back(eng):
    intake = eng.repository.active().intake_process()
    number = eng.runtime.start(intake, registration(), "cs1")
    role = _first_task(eng, number).role
    primary, backup = _members(eng, role)[:2]
    eng.people.set_absent(backup, True)
    second = eng.runtime.start(intake, registration(involved_staff=[primary]), "sup1")
    fallback = _roles(eng)[role]["fallback"]
    chosen = _members(eng, fallback)[0]
    assert _first_task(eng, second).assignee == chosen
    assert any(e.kind == EventKind.TASK_TO_FALLBACK for e in eng.history.events(second))
    assert (fallback, FALLBACK_NOTICE, [chosen]) in _outbox(eng, second)


def test_a_person_going_away_passes_their_task_to_the_fallback_when_the_backup_is_away_too(eng):
    intake = eng.repository.active().intake_process()
    number = eng.runtime.start(intake, registration(), "sup1")
    step = _first_task(eng, number)
    primary, backup = _members(eng, step.role)[:2]
    eng.people.set_absent(backup, True)
    assert eng.people.set_absent(primary, True) == 1
    chosen = _members(eng, _roles(eng)[step.role]["fallback"])[0]
    assert task(eng, number, step.name).assignee == chosen
    assert any(s == FALLBACK_NOTICE and r == [chosen] for _role, s, r in _outbox(eng, number))


def test_a_fallback_chain_goes_on_while_each_role_has_nobody(eng):
    intake = eng.repository.active().intake_process()
    number = eng.runtime.start(intake, registration(), "cs1")
    role = _first_task(eng, number).role
    first = _roles(eng)[role]["fallback"]
    second_fallback = _roles(eng)[first]["fallback"]
    for person in _members(eng, role) + _members(eng, first):
        eng.people.set_absent(person, True)
    later = eng.runtime.start(intake, registration(), "owner1")
    assert _first_task(eng, later).assignee == _members(eng, second_fallback)[0]


def _deploy_with_roles(eng, workflows_dir, change) -> DeployError:  # noqa: ANN001
    path = workflows_dir / "roles.toml"
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(workflows_dir, actor="owner1")
    return refused.value


def test_deploy_refuses_a_fallback_naming_an_unknown_role(eng, workflows_dir):
    refused = _deploy_with_roles(eng, workflows_dir, lambda text: text.replace(
        'fallback = "cs_supervisor"', 'fallback = "cs_boss"', 1))
    found = [p for p in refused.problems if p.code == "fallback_unknown_role"]
    assert [(p.file, p.element) for p in found] == [("roles.toml", "cs_specialist")]
    assert "cs_boss" in found[0].text("en") and "cs_boss" in found[0].text("zh")


def test_deploy_refuses_a_fallback_cycle(eng, workflows_dir):
    refused = _deploy_with_roles(eng, workflows_dir, lambda text: text.replace(
        'fallback = "general_manager"', 'fallback = "cs_specialist"', 1))
    found = [p for p in refused.problems if p.code == "fallback_cycle"]
    assert found and all(p.file == "roles.toml" for p in found)
    assert "cs_specialist" in found[0].text("en") and "cs_specialist" in found[0].text("zh")


def test_the_deadline_notices_of_a_task_held_by_a_fallback_reach_its_holder(eng, clock, workflows_dir):
    """Whatever role the deadline's notice names, the fallback person holding the task is told too."""
    intake = eng.repository.active().intake_process()
    number = eng.runtime.start(intake, registration(), "cs1")
    role = _first_task(eng, number).role
    # A chain whose fallback is not the role the first deadline tells: the holder must still hear of it.
    before = len(_outbox(eng, number))
    clock.advance(eng.timers.next_due() - clock.now())
    eng.timers.fire_due()
    told = {r for r, _s, _to in _outbox(eng, number)[before:]} - {"customer"}
    other = next(r for r in _roles(eng) if r not in told and r != role and _members(eng, r)
                 and r not in ("auditor", "process_owner"))
    path = workflows_dir / "roles.toml"
    text = path.read_text(encoding="utf-8")
    old = f'fallback = "{_roles(eng)[role]["fallback"]}"'
    path.write_text(text.replace(old, f'fallback = "{other}"', 1), encoding="utf-8")
    eng.repository.deploy(actor="owner1", note="another fallback")
    for person in _members(eng, role):
        eng.people.set_absent(person, True)
    second = eng.runtime.start(intake, registration(), "owner1")
    holder = _first_task(eng, second).assignee
    assert holder == _members(eng, other)[0]
    before = len(_outbox(eng, second))
    clock.advance(eng.timers.next_due() - clock.now())
    eng.timers.fire_due()
    raised = [(r, to) for r, _s, to in _outbox(eng, second)[before:] if r != "customer"]
    assert raised and all(holder in to for _r, to in raised)
