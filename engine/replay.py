"""Replay a case from its history: re-run it in memory and show it reaches the recorded state.

``Replay.run(number)`` starts the case again on the definition version its ``case_started``
event names, with the data that event recorded, then feeds it every recorded workflow input
in order (form submissions, customers' messages, timer firings, migrations to a new version),
each step as of the moment it ran, through a frozen clock. After each step it compares what
the replayed workflow shows with what the event recorded: the open user tasks, the status,
the notifications sent in that step, the definition version, and for a timer firing which
timers fell due. It stops at the first difference. When every step matches, it compares the
end result with the case as stored: open tasks, messages and timers waited on, and the data.

Nothing is written: the replay reads the history, the deployments and the stored case.

A step's recorded time is when its event was written, a little after the step ran (on the
real clock). A timer the replay sets from that time therefore falls due up to that little
later than recorded; within ``DRIFT`` the replay fires it as of its own due time and counts
it as the same timer.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import clock as clock_module
from engine import corrections, forms, spiff, workflow_state
from engine.casework import FrozenClock
from engine.errors import FormInvalid, NotFound
from engine.history import History, HistoryEvent, canonical
from engine.repository import LoadedDeployment, Repository
from engine.store.db import Database
from engine.store.enums import CaseStatus, EventKind
from engine.store.models import Case, Deployment
from engine.timers import FIRING_LAG

_STATUS_AFTER = {EventKind.CASE_SUSPENDED: CaseStatus.SUSPENDED, EventKind.CASE_RESUMED: CaseStatus.OPEN,
                 EventKind.CASE_CANCELLED: CaseStatus.ARCHIVED}
WORKFLOW_INPUTS = ("case_started", "task_completed", "message_received", "timer_fired", "migrated",
                   "case_data_corrected", "case_moved_back")
DRIFT = timedelta(seconds=60)
FINAL = "final_state"
STORED = "the case as stored"  # what the closing comparison is about


@dataclass(frozen=True)
class ReplayStep:
    """One recorded event as replayed.

    ``seq`` is the event's number (``None`` for the closing comparison with the stored case);
    ``expected`` is what the event recorded, ``replayed`` what the replay got, by the same keys.
    """

    seq: int | None
    kind: str
    at: datetime | None
    element_or_name: str | None
    expected: dict
    replayed: dict
    ok: bool
    difference: str | None = None
    workflow_input: bool = True  # False: an event that does not change the workflow (a claim, ...)


@dataclass(frozen=True)
class ReplayReport:
    number: str
    ok: bool
    steps: list[ReplayStep]
    first_difference: ReplayStep | None

    def __bool__(self) -> bool:
        return self.ok


@dataclass
class _Case:
    """The replayed case: its workflow and the version it is on."""

    process_id: str
    deployment: LoadedDeployment
    workflow: BpmnWorkflow
    status: str = "open"
    started: datetime | None = None  # the registration (case_started()): the case_started event's time
    incidents: int = 0  # timers that could not fire leave due timers behind legitimately


class _Differs(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The step cannot be replayed as recorded; ``replayed`` says what the replay found instead."""

    def __init__(self, difference: str, replayed: dict | None = None) -> None:
        super().__init__(difference)
        self.difference, self.replayed = difference, replayed or {}


class Replay:
    def __init__(self, db: Database, repository: Repository) -> None:
        self._db, self._repository = db, repository
        self._history = History(db)

    def run(self, number: str, events: Sequence[HistoryEvent] | None = None) -> ReplayReport:
        """Re-run case ``number`` from ``events`` (default: its stored history) and compare step by step."""
        if events is None:
            events = self._history.events(number)
            if not events:
                raise NotFound(f"no case {number}")
        steps: list[ReplayStep] = []
        case: _Case | None = None
        for event in events:
            if event.kind not in WORKFLOW_INPUTS:
                step = self._other(event, case)
            elif case is None and event.kind != EventKind.CASE_STARTED:
                step = _step(event, _expected(event), {}, f"the replay needs the case_started event before a "
                                                          f"{event.kind} event")
            elif event.kind == EventKind.CASE_STARTED and case is not None:
                step = _step(event, _expected(event), {}, "the case was already started")
            else:
                case, step = self._replay(case, event)
            steps.append(step)
            if not step.ok:
                return ReplayReport(number, False, steps, step)
        if case is None:
            step = ReplayStep(None, FINAL, None, number, {}, {}, False, "the history holds no case_started event")
        else:
            step = self._final(number, case)
        steps.append(step)
        return ReplayReport(number, step.ok, steps, None if step.ok else step)

    # ------------------------------------------------------------ one event

    def _other(self, event: HistoryEvent, case: _Case | None) -> ReplayStep:
        if case is not None and event.kind == EventKind.INCIDENT:
            case.incidents += 1
        if case is not None and event.kind in _STATUS_AFTER:  # a supervisor's hold, resume or cancel
            case.status = _STATUS_AFTER[event.kind]
        what = event.payload.get("element") or event.payload.get("name") if isinstance(event.payload, dict) else None
        if isinstance(event.payload, dict) and {"open_tasks", "status"} <= set(event.payload):
            # Written by a state change of the workflow that the replay does not know how to redo.
            return _step(event, _expected(event), {}, f"a {event.kind} event changed the workflow and the replay "
                                                      "cannot redo it")
        return ReplayStep(event.seq, event.kind, event.at, what, {}, {}, True, None, workflow_input=False)

    def _replay(self, case: _Case | None, event: HistoryEvent) -> tuple[_Case | None, ReplayStep]:
        expected = _expected(event)
        payload = event.payload
        moment = _moment(event)
        notices: list[spiff.Notice] = []
        extra: dict = {}
        try:
            if event.kind == EventKind.CASE_STARTED:
                case = self._start(event)
            if event.kind in (EventKind.TASK_COMPLETED, EventKind.MESSAGE_RECEIVED, EventKind.MIGRATED,
                              EventKind.CASE_DATA_CORRECTED, EventKind.CASE_MOVED_BACK):
                _no_unfired_timers(case, moment)
            if event.kind == EventKind.TIMER_FIRED:
                expected["timers"] = sorted(str(t.get("element")) for t in payload.get("timers") or [])
                moment, due = _due_timers(case.workflow, payload.get("timers") or [], moment)
                extra["timers"] = due
            with _frozen(moment, case.started if case else None) as notices:
                _apply(self, case, event)
            spiff.compact(case.workflow)  # as every save does: a long case's history is cut off alike
        except _Differs as differs:
            return case, _step(event, expected, differs.replayed, differs.difference)
        except Exception as exc:  # the diagram failed: that is the difference to show
            where = getattr(getattr(getattr(exc, "task", None), "task_spec", None), "bpmn_id", None)
            return case, _step(event, expected, _observed(case, notices) if case else {},
                               f"the replay failed here: {exc}" + (f" at {where}" if where else ""))
        replayed = {**_observed(case, notices), **extra}
        return case, _step(event, expected, replayed, _compare(expected, replayed))

    def _start(self, event: HistoryEvent) -> _Case:
        payload = event.payload
        deployment = self._version(event.deployment_version)
        process_id = str(payload.get("process"))
        try:
            spec, subs = deployment.specs(process_id)
        except NotFound as exc:
            raise _Differs(str(exc)) from None
        workflow = BpmnWorkflow(spec, subs, script_engine=deployment.script_engine)
        with self._db.read() as session:  # the registration as the case row keeps it (the event is written later)
            registered = session.scalar(select(Case.created_at).where(Case.number == event.case_number))
        return _Case(process_id, deployment, workflow, started=registered or event.at)

    def _version(self, version: int | None) -> LoadedDeployment:
        with self._db.read() as session:
            deployment_id = session.scalar(select(Deployment.id).where(Deployment.version == version))
        if deployment_id is None:
            raise _Differs(f"definition version {version} is not deployed")
        return self._repository.load(deployment_id)

    # ------------------------------------------------------------ the end: the case as stored

    def _final(self, number: str, case: _Case) -> ReplayStep:
        with self._db.read() as session:
            row = session.execute(
                select(Case.id, Case.deployment_id, Case.process_id, Case.status, Case.updated_at)
                .where(Case.number == number)).first()
            if row is None:
                return ReplayStep(None, FINAL, None, number, {}, {}, False, f"no case {number} is stored")
            deployment = self._repository.load(row.deployment_id)
            spec, subs = deployment.specs(row.process_id)
            stored = workflow_state.load(session.connection(), row.id, spec, subs, deployment.script_engine)
        expected = {"version": deployment.version, "status": row.status, **_state_of(stored)}
        replayed = {"version": case.deployment.version, "status": case.status, **_state_of(case.workflow)}
        difference = _compare(expected, replayed)
        return ReplayStep(None, FINAL, row.updated_at, STORED, expected, replayed,
                          difference is None, difference)


def _apply(replay: Replay, case: _Case, event: HistoryEvent) -> None:
    """Run one recorded input on the replayed workflow (inside the step's frozen clock)."""
    payload, wf = event.payload, case.workflow
    if event.kind == EventKind.CASE_STARTED:
        data = payload.get("data") or {}
        for task in wf.get_tasks(state=TaskState.READY):
            task.data.update(copy.deepcopy(data))
        spiff.run_engine_steps(wf)
    elif event.kind == EventKind.TASK_COMPLETED:
        element = payload.get("element")
        ready = [t for t in spiff.ready_user_tasks(wf) if t.task_spec.bpmn_id == element]
        if not ready:
            open_now = sorted(t.task_spec.bpmn_id for t in spiff.ready_user_tasks(wf))
            raise _Differs(f"step {element} is not open in the replay (open: {_names(open_now)})",
                           {"open_tasks": open_now})
        data = payload.get("data") or {}
        try:
            forms.validate(case.deployment.form(spiff.user_task_form(ready[0])), data,
                           today=forms.day_of(event.at, case.deployment.calendar.zone))
        except FormInvalid as exc:
            raise _Differs(f"the {element} form refuses the recorded data: {exc}") from None
        spiff.complete_user_task(wf, ready[0], copy.deepcopy(data))
    elif event.kind == EventKind.MESSAGE_RECEIVED:
        name = payload.get("name")
        waiting = sorted(spiff.waiting_messages(wf))
        if name not in waiting:
            raise _Differs(f"the replay is not waiting for message {name!r} (waits for: {_names(waiting)})",
                           {"waiting_for": waiting})
        spiff.deliver_message(wf, name, copy.deepcopy(payload.get("payload") or {}))
    elif event.kind == EventKind.TIMER_FIRED:
        spiff.fire_timers(wf)
    elif event.kind == EventKind.MIGRATED:
        source, target_version = payload.get("from_version"), payload.get("to_version")
        if case.deployment.version != source:
            raise _Differs(f"the replay is on version {case.deployment.version}, the migration moved the case "
                           f"from version {source}", {"version": case.deployment.version})
        target = replay._version(target_version)
        try:
            spec, subs = target.specs(case.process_id)
        except NotFound as exc:
            raise _Differs(str(exc)) from None
        problems, diffs = spiff.migration_problems(wf, spec, subs)
        if problems:
            raise _Differs("the replayed case cannot move to version "
                           f"{target_version}: {'; '.join(problems)}")
        wf.script_engine = target.script_engine
        spiff.migrate(wf, spec, subs, diffs)
        case.deployment = target
    elif event.kind == EventKind.CASE_DATA_CORRECTED:  # a supervisor's correction: the values after it
        changes = payload.get("changes") or {}
        corrections.apply_values(wf, {key: change.get("after") for key, change in changes.items()})
    elif event.kind == EventKind.CASE_MOVED_BACK:  # a supervisor's move back to the step's last run
        element = str(payload.get("element"))
        target = corrections.last_completed(wf, element)
        if target is None:
            raise _Differs(f"step {element} was never completed in the replay: the case cannot move back to it")
        corrections.move_back(wf, target)
    if wf.completed:
        case.status = CaseStatus.ARCHIVED


# ---------------------------------------------------------------- the clock, timers

@contextlib.contextmanager
def _frozen(moment: datetime, started: datetime | None) -> Iterator[list[spiff.Notice]]:
    """SpiffWorkflow sees ``moment`` as now and ``started`` as the registration (as ``CaseWork.spiff_step``
    does); the notices are collected."""
    with clock_module.using(FrozenClock(moment)), spiff.case_started_at(started), \
            spiff.collecting_notices() as notices:
        yield notices


def _moment(event: HistoryEvent) -> datetime:
    if event.kind == EventKind.TIMER_FIRED and event.payload.get("as_of"):
        return datetime.fromisoformat(event.payload["as_of"])
    return event.at


def _waiting_timers(workflow: BpmnWorkflow) -> list[spiff.WaitingTimer]:
    """One timer per waiting task, as the engine's ``timer`` table mirrors them."""
    return list({t.spiff_task_id: t for t in spiff.waiting_timers(workflow)}.values())


def _due_timers(workflow: BpmnWorkflow, recorded: list[dict], as_of: datetime) -> tuple[datetime, list[str]]:
    """The moment to fire at and the timers due then (element ids).

    A recorded timer that the replay set a little later (see ``DRIFT``) is fired as of its own due time.
    """
    waiting = _waiting_timers(workflow)
    moment = as_of
    for entry in recorded:
        try:
            recorded_due = datetime.fromisoformat(str(entry.get("due_at")))
        except ValueError:
            continue
        for timer in waiting:
            late = timer.due_at - recorded_due
            if timer.element_id == entry.get("element") and timer.due_at >= as_of and timedelta(0) <= late <= DRIFT:
                moment = max(moment, timer.due_at + FIRING_LAG)
    return moment, sorted(t.element_id for t in waiting if t.due_at < moment)


def _no_unfired_timers(case: _Case, moment: datetime) -> None:
    """The engine fires a case's due timers before it takes a form, a message or a migration."""
    if case.incidents:
        return
    due = sorted((t.due_at, t.element_id) for t in _waiting_timers(case.workflow) if t.due_at < moment)
    if due:
        listed = ", ".join(f"{element} (due {at.isoformat()})" for at, element in due)
        raise _Differs(f"timers fell due before this step but the history records no firing: {listed}",
                       {"unfired_timers": [element for _, element in due]})


# ---------------------------------------------------------------- what was recorded, what the replay shows

def _expected(event: HistoryEvent) -> dict:
    payload = event.payload if isinstance(event.payload, dict) else {}
    expected: dict[str, Any] = {}
    if "open_tasks" in payload:
        expected["open_tasks"] = sorted(payload["open_tasks"])
    if "status" in payload:
        expected["status"] = payload["status"]
    if "notified" in payload:
        expected["notified"] = [{"role": n.get("role"), "subject": n.get("subject")} for n in payload["notified"]]
    if event.deployment_version is not None:
        expected["version"] = event.deployment_version
    return expected


def _observed(case: _Case, notices: list[spiff.Notice]) -> dict:
    return {
        "open_tasks": sorted(t.task_spec.bpmn_id for t in spiff.ready_user_tasks(case.workflow)),
        "status": case.status,
        "notified": [{"role": n.role, "subject": n.subject} for n in spiff.notices_only(notices)],
        "version": case.deployment.version,
    }


def _state_of(workflow: BpmnWorkflow) -> dict:
    snap = spiff.snapshot(workflow)
    timers = sorted((t.element_id, t.due_at) for t in _waiting_timers(workflow))
    return {
        "open_tasks": sorted(t.task_spec.bpmn_id for t in snap.ready_user_tasks),
        "waiting_for": sorted(snap.messages),
        "timers": [{"element": element, "due_at": due.isoformat()} for element, due in timers],
        "data": json.loads(canonical(snap.data)),
    }


def _step(event: HistoryEvent, expected: dict, replayed: dict, difference: str | None) -> ReplayStep:
    payload = event.payload if isinstance(event.payload, dict) else {}
    what = payload.get("element") or payload.get("name") or payload.get("process")
    if event.kind == EventKind.TIMER_FIRED:
        what = ", ".join(str(t.get("element")) for t in payload.get("timers") or []) or None
    elif event.kind == EventKind.MIGRATED:
        what = f"v{payload.get('from_version')} -> v{payload.get('to_version')}"
    return ReplayStep(event.seq, event.kind, event.at, what, expected, replayed, difference is None, difference)


LABELS = {
    "open_tasks": "open tasks", "status": "status", "notified": "notifications", "version": "definition version",
    "timers": "timers", "waiting_for": "messages waited for", "data": "data",
}


def _compare(expected: dict, replayed: dict) -> str | None:
    """What differs between the recorded and the replayed values, key by key (None when nothing)."""
    parts = []
    for key, value in expected.items():
        got = replayed.get(key)
        if key == "timers" and value and isinstance(value[0], dict):
            same = _same_timers(value, got or [])
        else:
            same = value == got
        if same:
            continue
        if key == "data":
            keys = sorted(k for k in set(value) | set(got or {}) if value.get(k) != (got or {}).get(k))
            detail = "; ".join(f"{k}: recorded {_show(value.get(k))}, replay {_show((got or {}).get(k))}"
                               for k in keys)
            parts.append(f"data differs in {detail}")
        else:
            parts.append(f"{LABELS.get(key, key)}: recorded {_show(value)}, replay {_show(got)}")
    return "; ".join(parts) or None


def _same_timers(recorded: list[dict], replayed: list[dict]) -> bool:
    """Same timers (element ids), each due when recorded or up to ``DRIFT`` later."""
    if [t["element"] for t in recorded] != [t["element"] for t in replayed]:
        return False
    for a, b in zip(recorded, replayed, strict=True):
        late = datetime.fromisoformat(b["due_at"]) - datetime.fromisoformat(a["due_at"])
        if not timedelta(0) <= late <= DRIFT:
            return False
    return True


def _show(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, dict) and set(v) == {"role", "subject"} for v in value):
        return _names([f"{v['role']}/{v['subject']}" for v in value])
    if isinstance(value, list) and all(isinstance(v, dict) and set(v) == {"element", "due_at"} for v in value):
        return _names([f"{v['element']}@{v['due_at']}" for v in value])
    if isinstance(value, list):
        return _names([str(v) for v in value])
    return json.dumps(value, ensure_ascii=False, default=str)


def _names(values: list[str]) -> str:
    return "[" + ", ".join(values) + "]" if values else "[]"
