"""A step writes what changed: settled tasks as rows written once, the rest as a small document.

The repeat diagram (``tests/bpmn/repeat.bpmn``) is one user task done again and again, guarded
by a reminder timer: a case that lives for hundreds of steps.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event, func, select, update

import engine
from engine import history, spiff, workflow_state
from engine.casework import CaseWork, lock_case
from engine.repository import read_workflow_files
from engine.store.models import Case, Task, Timer, WorkflowTask
from tests.driver import FORM_DATA, registration

BPMN = Path(__file__).parent / "bpmn"


def with_repeat(workflows_dir: Path) -> dict[str, str]:
    files = read_workflow_files(workflows_dir)
    files["repeat.bpmn"] = (BPMN / "repeat.bpmn").read_text(encoding="utf-8")
    files["forms/repeat_step.json"] = (BPMN / "forms" / "repeat_step.json").read_text(encoding="utf-8")
    return files


@pytest.fixture
def repeat_eng(eng, workflows_dir):  # noqa: ANN001, ANN201
    eng.repository.deploy_files(with_repeat(workflows_dir), actor="owner1", note="the repeat diagram")
    return eng


def whole(workflow) -> dict:  # noqa: ANN001
    return json.loads(spiff.dump_state(workflow))


def load(eng, number: str):  # noqa: ANN001, ANN201
    """The case's workflow as stored, read by a fresh reader."""
    with eng.db.read() as session:
        case_id, deployment_id, process_id = session.execute(
            select(Case.id, Case.deployment_id, Case.process_id).where(Case.number == number)).one()
        deployment = eng.repository.load(deployment_id)
        spec, subs = deployment.specs(process_id)
        return workflow_state.load(session.connection(), case_id, spec, subs, deployment.script_engine)


def complete_step(eng, work: CaseWork, number: str, again: bool = True):  # noqa: ANN001, ANN201
    """One completion through ``CaseWork`` itself, so the test holds the workflow that was saved."""
    with eng.db.write() as session:
        case = work.open(session, lock_case(session, number=number))
        task = spiff.ready_user_tasks(case.workflow)[0]
        with work.spiff_step(case.moment) as notices:
            spiff.complete_user_task(case.workflow, task, {"again": again})
        case.notices = notices
        work.save(session, case, actor="cs1", kind="task_completed",
                  payload={"task_id": str(task.id), "element": task.task_spec.bpmn_id, "data": {"again": again}},
                  completed_task=(str(task.id), "cs1"))
    return case.workflow


def fire_due(eng, work: CaseWork, number: str):  # noqa: ANN001, ANN201
    with eng.db.write() as session:
        case = work.open(session, lock_case(session, number=number))
        with work.spiff_step(case.moment) as notices:
            spiff.fire_timers(case.workflow)
        case.notices = notices
        work.save(session, case, actor="timer", kind="timer_fired", payload={"timers": []})
    return case.workflow


def test_every_step_of_a_230_step_case_loads_back_as_the_workflow_it_saved(repeat_eng, clock):
    eng = repeat_eng
    work = CaseWork(eng.repository, eng.clock)
    number = eng.runtime.start("repeat", {"channel": "web"}, "cs1")
    for step in range(1, 231):
        if step % 7 == 0:  # let the reminder fire now and then: a boundary branch runs and settles
            clock.advance(timedelta(hours=25))
            saved = fire_due(eng, work, number)
            assert whole(load(eng, number)) == whole(saved), f"after the reminder before step {step}"
        saved = complete_step(eng, work, number)
        assert whole(load(eng, number)) == whole(saved), f"after step {step}"
    assert saved.last_task.data["rounds"] == 231
    assert len(saved.tasks) < 2 * spiff.COMPACT_ABOVE  # the history was cut off, not kept for ever


def step_complaint(eng, work: CaseWork, clock, number: str):  # noqa: ANN001, ANN201
    """The next thing the common lifecycle does (a form, the customer's confirmation or a timer), through
    ``CaseWork``; returns the workflow it saved."""
    with eng.db.write() as session:
        case = work.open(session, lock_case(session, number=number))
        wf = case.workflow
        ready = spiff.ready_user_tasks(wf)
        completed = None
        with work.spiff_step(case.moment, case.row.created_at) as notices:
            if ready:
                completed = (str(ready[0].id), "cs1")
                spiff.complete_user_task(wf, ready[0], dict(FORM_DATA[ready[0].task_spec.bpmn_id]))
            elif "plan_confirmation" in spiff.waiting_messages(wf):
                spiff.deliver_message(wf, "plan_confirmation", {"accepted": True})
            else:
                clock.set(max(min(t.due_at for t in spiff.waiting_timers(wf)), clock.now()) + timedelta(seconds=1))
                case.moment = clock.now()
                spiff.fire_timers(wf)
        case.notices = notices
        work.save(session, case, actor="cs1", kind="step", payload={}, completed_task=completed)
    return wf


def test_every_step_of_a_complaint_with_its_callbacks_subprocess_loads_back_as_saved(repeat_eng, clock):
    eng = repeat_eng
    work = CaseWork(eng.repository, eng.clock)
    number = eng.runtime.start("complaint", registration(channel="web"), "cs1")
    subprocess_rows = False
    for step in range(100):
        saved = step_complaint(eng, work, clock, number)
        assert whole(load(eng, number)) == whole(saved), f"after step {step}"
        subprocess_rows = subprocess_rows or bool(saved.subprocesses)
        if saved.completed:
            break
    assert saved.completed and saved.last_task.data["outcome"] == "resolved"
    assert subprocess_rows
    with eng.db.read() as session:
        keys = set(session.scalars(select(WorkflowTask.workflow).distinct()))
    assert "" in keys and len(keys) >= 2  # the case's own tasks and a called process's


def test_a_move_back_into_a_finished_call_activity_is_saved_though_saves_no_longer_walk_it(repeat_eng, clock):
    """A finished call activity is reused as the last save made it (``spiff._finished_fingerprint``); a move
    back into it changes its tasks' states, so the next save writes it again and it loads back as saved."""
    eng = repeat_eng
    work = eng.runtime._work  # the engine's own: its kept workflows are what the correction works on
    number = eng.runtime.start("complaint", registration(channel="web"), "cs1")

    def done_steps(wf) -> list:  # noqa: ANN001
        return [t for t in wf.tasks.values() if spiff.is_inbox_task(t.task_spec) and t.state == TaskState.COMPLETED]

    finished = None
    for _ in range(100):
        saved = step_complaint(eng, work, clock, number)
        finished = next((sp for sp in saved.subprocesses.values() if sp.completed and done_steps(sp)), None)
        if finished is not None:
            break
    assert finished is not None
    saved = step_complaint(eng, work, clock, number)  # a later save: the finished one is reused, not walked
    assert str(finished.parent_task_id) in spiff._finished[saved]
    assert whole(load(eng, number)) == whole(saved)
    target = done_steps(finished)[0].task_spec.bpmn_id
    eng.corrections.move_back(number, "sup1", target, "原因")
    with eng.db.write() as session:
        case = work.open(session, lock_case(session, number=number))
        assert case.workflow is saved  # the workflow kept between steps, with what its saves made
        kept = whole(case.workflow)
    loaded = load(eng, number)
    assert whole(loaded) == kept
    assert target in {t.task_spec.bpmn_id for t in spiff.ready_user_tasks(loaded)}


def test_a_case_of_200_steps_stays_correct_and_archives(repeat_eng, clock):
    eng = repeat_eng
    number = eng.runtime.start("repeat", {"channel": "web"}, "cs1")
    for step in range(1, 201):
        (task,) = eng.tasks.for_case(number)
        eng.tasks.complete(task.id, task.assignee, {"again": step < 200, "note": f"round {step}"})
        if step % 50 == 0 and step < 200:
            clock.advance(timedelta(hours=25))
            assert eng.timers.fire_due() == 1
    case = eng.cases.get(number)
    assert case.status == "archived"
    with eng.db.read() as session:
        completed = session.scalar(select(func.count()).select_from(Task).where(
            Task.case_id == select(Case.id).where(Case.number == number).scalar_subquery(),
            Task.state == "completed"))
        fired = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "fired"))
        pending = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "pending"))
    assert (completed, fired, pending) == (200, 3, 0)
    assert [n.subject for n in case.notifications] == ["step_overdue"] * 3
    stored = load(eng, number)
    assert stored.completed and stored.last_task.data["rounds"] == 200
    assert {"initialise", "count", "step", "remind", "end_event"} <= spiff.done_elements(stored)
    assert eng.replay.run(number).ok
    assert eng.history.verify().ok


def test_the_diagram_of_a_long_case_still_shows_the_steps_done_before_the_history_was_cut(repeat_eng):
    eng = repeat_eng
    number = eng.runtime.start("repeat", {"channel": "web"}, "cs1")
    for _ in range(60):
        (task,) = eng.tasks.for_case(number)
        eng.tasks.complete(task.id, task.assignee, {"again": True})
    stored = load(eng, number)
    assert "initialise" not in {t.task_spec.bpmn_id for t in stored.tasks.values()}  # cut off
    diagram = eng.diagrams.for_case(number)
    assert {"start_event", "initialise", "round_gateway", "count", "step", "again_gateway"} <= set(diagram.done)
    assert diagram.current == ("step", "step_reminder")


def test_a_step_writes_only_the_tasks_that_settled_not_the_whole_workflow(repeat_eng):
    eng = repeat_eng
    number = eng.runtime.start("repeat", {"channel": "web"}, "cs1")
    written: list[int] = []

    def count_rows(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.startswith("INSERT INTO workflow_task"):
            written.append(len(parameters) if executemany else 1)

    event.listen(eng.db.engine, "before_cursor_execute", count_rows)
    sizes = []
    try:
        for _ in range(40):
            written.clear()
            (task,) = eng.tasks.for_case(number)
            eng.tasks.complete(task.id, task.assignee, {"again": True})
            with eng.db.read() as session:
                sizes.append(session.scalar(select(func.length(Case.state)).where(Case.number == number)))
            assert sum(written) <= 12, written  # one round's tasks, whatever the case's age
    finally:
        event.remove(eng.db.engine, "before_cursor_execute", count_rows)
    assert max(sizes[20:]) <= max(sizes[:5]) * 1.5, sizes  # the document does not grow with the history
    with eng.db.read() as session:
        assert session.scalar(select(func.count()).select_from(WorkflowTask)) > 100  # the settled history


SAVE_BUDGET = 9  # CaseWork.save for a completion that opens a task and a timer, its history event included: the
#                 event is the save's own insert and the case's update moves the head (before: 7 + 2 for the append)
STEP_BUDGET = 11  # the whole completion (the caller's lock and checks, the check that no deadline passed meanwhile,
#                   and save) (before: 12 with the history append; the case is locked by the task's id, with
#                   no read before, and the task read and the deadline check are one statement)


def test_a_completion_stays_within_its_statement_budget_at_step_10_and_at_step_200(repeat_eng, monkeypatch):
    """The history is written by the save itself: no separate append on a completion's path."""
    eng = repeat_eng
    number = eng.runtime.start("repeat", {"channel": "web"}, "cs1")
    where: list[str] = []  # the innermost of "save" and "history" running now
    counted: dict[str, int] = {}

    def inside(name: str, function):  # noqa: ANN001, ANN202
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            where.append(name)
            try:
                return function(*args, **kwargs)
            finally:
                where.pop()
        return wrapper

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        key = where[-1] if where else "caller"
        counted[key] = counted.get(key, 0) + 1

    monkeypatch.setattr(CaseWork, "save", inside("save", CaseWork.save))
    monkeypatch.setattr("engine.casework.history.append_at", inside("history", history.append_at))
    event.listen(eng.db.engine, "before_cursor_execute", count)
    try:
        for step in range(1, 201):
            (task,) = eng.tasks.for_case(number)
            counted.clear()
            eng.tasks.complete(task.id, task.assignee, {"again": True})
            if step in (10, 200):
                assert counted["save"] <= SAVE_BUDGET, counted
                assert counted["save"] + counted["caller"] <= STEP_BUDGET, counted
                assert "history" not in counted, counted
    finally:
        event.remove(eng.db.engine, "before_cursor_execute", count)


def test_a_case_saved_as_one_whole_document_before_the_upgrade_loads_and_moves_into_rows(repeat_eng, database_url,
                                                                                        workflows_dir, clock):
    eng = repeat_eng
    number = eng.runtime.start("repeat", {"channel": "web"}, "cs1")
    for _ in range(5):
        (task,) = eng.tasks.for_case(number)
        eng.tasks.complete(task.id, task.assignee, {"again": True})
    before = whole(load(eng, number))
    with eng.db.write() as session:  # what the engine wrote before migration 0010: everything in case.state
        case_id = session.scalar(select(Case.id).where(Case.number == number))
        session.execute(update(Case).where(Case.id == case_id).values(state=json.dumps(before)))
        session.execute(WorkflowTask.__table__.delete())
    assert whole(load(eng, number)) == before
    with engine.open(database_url, workflows_dir, clock=clock) as fresh:  # nothing cached
        (task,) = fresh.tasks.for_case(number)
        fresh.tasks.complete(task.id, task.assignee, {"again": False})
        assert fresh.cases.get(number).status == "archived"
        assert fresh.replay.run(number).ok
    with eng.db.read() as session:
        rows = session.scalar(select(func.count()).select_from(WorkflowTask).where(WorkflowTask.case_id == case_id))
        document = json.loads(session.scalar(select(Case.state).where(Case.id == case_id)))
    assert rows > 30 and len(document["tasks"]) < 10


def test_a_purged_case_leaves_no_workflow_rows(repeat_eng, clock):
    eng = repeat_eng
    number = eng.runtime.start("repeat", {"channel": "web"}, "cs1")
    (task,) = eng.tasks.for_case(number)
    eng.tasks.complete(task.id, task.assignee, {"again": False})
    clock.advance(timedelta(days=4 * 365))
    eng.retention.purge(actor="owner1")
    with eng.db.read() as session:
        assert session.scalar(select(func.count()).select_from(WorkflowTask)) == 0
