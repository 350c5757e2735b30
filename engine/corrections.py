"""A supervisor corrects a case, as spiff-arena and Camunda Cockpit let them: recorded data, or the step it is at.

- **Correct recorded data**: new values for fields the case holds, each a field some form of the case's
  deployed version defines and valid against that form's JSON Schema for it. Every live branch of the
  workflow gets the new value (the case's data is their merge), so what runs next sees it.
- **Move back**: a completed user task of the case is made ready again with SpiffWorkflow's
  ``reset_from_task_id`` (the data as it was before that step, everything after it undone). Steps and
  timers of the undone part are cancelled; the timers the diagram arms on the way back are armed
  again from now; the task re-opens for its role.

Each is one transaction, refused while the case is suspended or archived, and an event in the case's
history (with the reason, and the values before and after) that replay redoes. Which step to go back
to is named by its element: the last completed run of it, which the replay finds alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update

from engine import deadline_rollup, forms, lockstep, spiff, workflow_state
from engine.casework import CLOSE_TIMER, CaseWork, Mirror, OpenCase, lock_case
from engine.catalogue import Meaning
from engine.clock import Clock
from engine.errors import CorrectionBreaksForm, FormInvalid, NotFound, StepNotDone
from engine.intervention import required_reason
from engine.repository import LoadedDeployment, Repository
from engine.store.db import Database
from engine.store.enums import EventKind, TimerStatus
from engine.store.models import Case, CustomerContact, Task

# Fields the engine keeps itself: the people complained about (their own rules and events), the channel
# (the case number carries it).
MANAGED = (Meaning.INVOLVED_STAFF, Meaning.CHANNEL)


@dataclass(frozen=True)
class Field:
    """A field of the case that may be corrected: its schema and the first form defining it (whose labels
    name it), and the value the case holds."""

    name: str
    schema: dict
    form: dict
    value: Any


@dataclass(frozen=True)
class DoneStep:
    """A completed user task the case may go back to: its element, name and role."""

    element: str
    title: str
    role: str | None


def field_schemas(deployment: LoadedDeployment) -> dict[str, list[tuple[dict, dict]]]:
    """Each field the deployed forms define -> [(its schema, the whole form)], in the forms' order."""
    found: dict[str, list[tuple[dict, dict]]] = {}
    for name in sorted(deployment.forms):
        form = deployment.forms[name]
        for field, schema in (form.get("properties") or {}).items():
            if isinstance(schema, dict):
                found.setdefault(field, []).append((schema, form))
    return found


def _one_field(field: str, schema: dict, form: dict) -> dict:
    """A form of this field alone, with the definitions its schema may refer to."""
    alone: dict = {"type": "object", "properties": {field: schema}, "required": [field]}
    for key in ("$defs", "definitions"):
        if key in form:
            alone[key] = form[key]
    return alone


def last_completed(workflow: Any, element: str) -> Any:
    """The last completed run of user task ``element`` in the workflow or its subprocesses (None: none)."""
    done = [t for wf in (workflow, *workflow.subprocesses.values()) for t in wf.tasks.values()
            if t.state == TaskState.COMPLETED and spiff.is_inbox_task(t.task_spec)
            and t.task_spec.bpmn_id == element and t.parent is not None]
    return max(done, key=lambda t: t.last_state_change, default=None)


def undone_steps(workflow: Any, target: Any) -> list[str]:
    """The user tasks completed after ``target`` that a move back to it undoes, called processes included.

    A step inside a called process takes its caller back too (SpiffWorkflow resets the call activity):
    what followed the call in each calling process is undone as well.
    """
    below = [t for t in target if t is not target]
    inside = target.workflow
    while inside.parent_task_id is not None:
        call = workflow.get_task_from_id(inside.parent_task_id)
        below.extend(t for t in call if t is not call)
        inside = call.workflow
    ids = {t.id for t in below}
    pending = [wf for key, wf in workflow.subprocesses.items() if key in ids]
    while pending:  # a process called from the undone part, and those it calls in turn
        wf = pending.pop()
        below.extend(wf.tasks.values())
        ids |= set(wf.tasks)
        pending.extend(sub for key, sub in workflow.subprocesses.items() if key in wf.tasks)
    return sorted({t.task_spec.bpmn_id for t in below
                   if t.state == TaskState.COMPLETED and spiff.is_inbox_task(t.task_spec)})


def apply_values(workflow: Any, values: dict) -> None:
    """Every live branch gets the values: the case's data is their merge (``spiff._data_of``)."""
    for task in spiff.live_tasks(workflow):
        task.data.update(copy.deepcopy(values))


def move_back(workflow: Any, task: Any) -> None:
    """SpiffWorkflow's reset to ``task`` (its data as before it ran), then run on to the waits."""
    workflow.reset_from_task_id(task.id)
    # SpiffWorkflow 3.2 drops the undone tasks from the tree but not from the events waited on: an undone
    # timer would be looked at again (and fail) on the next run.
    kept = {t for wf in (workflow, *workflow.subprocesses.values()) for t in wf.tasks}
    for task_id, waiting in list(workflow.event_manager.tasks.items()):
        if task_id not in kept:
            workflow.event_manager.remove_task(waiting)
    # It also leaves a workflow's last task on an undone one: the saved form names a task that is gone, which
    # loads as none, so the kept workflow must hold none too (they would differ, at the next history cut too).
    for wf in (workflow, *workflow.subprocesses.values()):
        if wf.last_task is not None and wf.tasks.get(wf.last_task.id) is not wf.last_task:
            wf.last_task = None
    spiff.run_engine_steps(workflow)


def _fields(deployment: LoadedDeployment, workflow: Any) -> list[Field]:
    data = spiff.snapshot(workflow).data
    managed = {deployment.catalogue.field(m) for m in MANAGED}
    return [Field(name, defined[0][0], defined[0][1], data[name])
            for name, defined in field_schemas(deployment).items() if name in data and name not in managed]


def _done_steps(wf: Any) -> list[DoneStep]:
    done = [t for w in (wf, *wf.subprocesses.values()) for t in w.tasks.values()
            if t.state == TaskState.COMPLETED and spiff.is_inbox_task(t.task_spec) and t.parent is not None]
    seen: dict[str, DoneStep] = {}
    for task in sorted(done, key=lambda t: t.last_state_change, reverse=True):
        spec = task.task_spec
        seen.setdefault(spec.bpmn_id, DoneStep(spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, spec.lane))
    return list(seen.values())


def check_form_rules(deployment: LoadedDeployment, data: dict, changed: dict) -> None:
    """Refuse a correction that breaks a whole-form rule of a form defining a changed field.

    Each field is valid on its own already; a form's rules across fields (``if``/``then``/``else``,
    ``allOf``, ``dependentRequired``...) are checked on what the case holds of that form's fields, before
    and after: only a rule the change breaks is refused (a form the case never filled breaks its
    ``required`` alike before and after, and is no reason to refuse).
    """
    after = {**data, **changed}
    for name in sorted(deployment.forms):
        form = deployment.forms[name]
        fields = form.get("properties") or {}
        if not isinstance(fields, dict) or not set(changed) & set(fields):
            continue
        held = {key: data[key] for key in fields if key in data}
        broken = forms.rule_breaks(form, {key: after[key] for key in fields if key in after}) \
            - forms.rule_breaks(form, held)
        if broken:
            rule, field, problem = min(broken)
            raise CorrectionBreaksForm(f"forms/{name}", rule, field, problem, form)


class Corrections:
    def __init__(self, db: Database, clock: Clock, repository: Repository, work: CaseWork,
                 timers: Any) -> None:  # noqa: ANN401
        self._db, self._clock, self._repository, self._work, self._timers = db, clock, repository, work, timers

    # ------------------------------------------------------------ what may be corrected

    def _read(self, number: str) -> tuple[LoadedDeployment, Any]:
        """The case's deployment and workflow as stored (read only: nothing locked, no cache taken)."""
        with self._db.read() as session:
            row = session.execute(select(Case.id, Case.deployment_id, Case.process_id)
                                  .where(Case.number == number)).first()
            if row is None:
                raise NotFound(f"no case {number}")
            deployment = self._repository.load(row.deployment_id)
            spec, subs = deployment.specs(row.process_id)
            return deployment, workflow_state.load(session.connection(), row.id, spec, subs,
                                                   deployment.script_engine)

    def choices(self, number: str) -> tuple[list[Field], list[DoneStep]]:
        """What a supervisor may correct on the case (one read of it): its fields and its completed steps."""
        deployment, workflow = self._read(number)
        return _fields(deployment, workflow), _done_steps(workflow)

    def fields(self, number: str) -> list[Field]:
        """The fields of the case a supervisor may correct: held in its data, defined by a deployed form."""
        return _fields(*self._read(number))

    def done_steps(self, number: str) -> list[DoneStep]:
        """The user tasks the case completed (the last run of each), most recent first."""
        return _done_steps(self._read(number)[1])

    # ------------------------------------------------------------ the changes

    def correct(self, number: str, by: str, values: dict, reason: str) -> dict[str, dict]:
        """Set ``values`` (field -> new value) on the case; returns field -> {"before", "after"}."""
        reason = required_reason(reason)
        if not isinstance(values, dict) or not values:
            raise FormInvalid({"_form": "name at least one field to correct"})
        return lockstep.after_due_timers(lambda: self._timers.fire_due_for_case(number=number),
                                         lambda: self._correct(number, by, values, reason))

    def _correct(self, number: str, by: str, values: dict, reason: str) -> dict[str, dict]:
        with self._db.write() as session:
            case = self._open(session, number)
            # the product or type columns may move: the deadlines counted under them move too (read before, after)
            with deadline_rollup.kept(session.connection(), case.row.id, case.deployment.calendar.zone):
                case.recounted = True
                data = spiff.snapshot(case.workflow).data
                facts = case.deployment.catalogue
                clean = self._checked(case.deployment, data, values,
                                      forms.day_of(case.moment, case.deployment.calendar.zone))
                name_field = facts.field(Meaning.CUSTOMER_NAME)
                stored = {key: forms.mask_name(value) if key == name_field else value for key, value in clean.items()}
                changes = {key: {"before": data.get(key), "after": value} for key, value in stored.items()
                           if data.get(key) != value}
                if not changes:
                    raise FormInvalid({key: "this is the value the case holds already" for key in clean})
                check_form_rules(case.deployment, data, {key: change["after"] for key, change in changes.items()})
                with self._work.spiff_step(case.moment, case.row.created_at):
                    apply_values(case.workflow, {key: change["after"] for key, change in changes.items()})
                self._work.save(session, case, actor=by, kind=EventKind.CASE_DATA_CORRECTED,
                                payload={"reason": reason, "changes": changes})
                self._mirror_registration(session, case, stored, clean.get(name_field) if name_field else None)
            return changes

    @staticmethod
    def _checked(deployment: LoadedDeployment, data: dict, values: dict, today: date) -> dict:
        """The values, each valid for every form defining its field; refused field by field otherwise."""
        defined = field_schemas(deployment)
        managed = {deployment.catalogue.field(m) for m in MANAGED}
        errors: dict[str, str] = {}
        for key, value in values.items():
            if key not in defined or key in managed:
                errors[str(key)] = "no deployed form defines this field: it cannot be corrected"
            elif key not in data:
                errors[str(key)] = "the case holds no value for this field yet"
            else:
                for schema, form in defined[key]:
                    try:
                        forms.validate(_one_field(key, schema, form), {key: value}, today=today)
                    except FormInvalid as exc:
                        errors.setdefault(key, exc.errors.get(key) or next(iter(exc.errors.values())))
        if errors:
            raise FormInvalid(errors)
        return dict(values)

    def _mirror_registration(self, session: Any, case: OpenCase, stored: dict, name: str | None) -> None:  # noqa: ANN401
        """The case row's copy of the registration (the summary, product and type columns searches read) and
        the customer's name follow the correction."""
        row = session.get(Case, case.row.id)
        facts = case.deployment.catalogue
        summary = dict(row.summary or {})
        summary.update({key: value for key, value in stored.items() if key in summary})
        changed: dict[Any, Any] = {Case.summary: summary}
        for meaning, column in ((Meaning.PRODUCT, Case.product_name), (Meaning.TYPE, Case.complaint_type)):
            key = facts.field(meaning)
            if key and key in stored:
                changed[column] = stored[key]
        session.execute(update(Case).where(Case.id == row.id).values(changed))
        if name is not None:
            session.execute(update(CustomerContact).where(CustomerContact.case_id == row.id).values(name=name))

    def move_back(self, number: str, by: str, element: str, reason: str) -> list[str]:
        """Go back to the last completed run of user task ``element``; returns the steps open afterwards."""
        reason = required_reason(reason)
        return lockstep.after_due_timers(lambda: self._timers.fire_due_for_case(number=number),
                                         lambda: self._move_back(number, by, element, reason))

    def _move_back(self, number: str, by: str, element: str, reason: str) -> list[str]:
        with self._db.write() as session:
            case = self._open(session, number)
            target = last_completed(case.workflow, element)
            if target is None:
                raise StepNotDone(number, str(element))
            undone = undone_steps(case.workflow, target)
            # a completed step's row goes and timers are re-armed: the deadlines judged again (read before, after)
            with deadline_rollup.kept(session.connection(), case.row.id, case.deployment.calendar.zone):
                case.recounted = True
                before = case.mirrored
                with self._work.spiff_step(case.moment, case.row.created_at) as notices:
                    move_back(case.workflow, target)
                case.notices = notices
                conn = session.connection()
                # The re-opened step keeps its SpiffWorkflow id: its completed row gives way to the open one.
                conn.execute(delete(Task).where(Task.id == str(target.id), Task.case_id == case.row.id))
                # A timer re-armed under the same SpiffWorkflow task (a boundary timer of the step) is a new
                # deadline: the old one is cancelled, not fired.
                waiting = {t.spiff_task_id: t.due_at for t in spiff.waiting_timers(case.workflow)}
                rearmed = {tid for tid, (_element, due) in before.timers.items()
                           if tid in waiting and waiting[tid] != due}
                if rearmed:
                    CLOSE_TIMER.run_many(conn, [{"case": case.row.id, "spiff_task": tid, "at": case.moment,
                                                 "new_status": TimerStatus.CANCELLED} for tid in rearmed])
                case.mirrored = Mirror({tid: due for tid, due in before.tasks.items() if tid != str(target.id)},
                                       {tid: entry for tid, entry in before.timers.items() if tid not in rearmed})
                self._work.save(session, case, actor=by, kind=EventKind.CASE_MOVED_BACK,
                                payload={"reason": reason, "element": element, "undone": undone})
            return sorted(t.task_spec.bpmn_id for t in spiff.ready_user_tasks(case.workflow))

    def _open(self, session: Any, number: str) -> OpenCase:  # noqa: ANN401
        """The case, locked, as of now; refused while suspended or archived (``CaseWork.open``)."""
        row = lock_case(session, number=number)
        now = self._clock.now()
        lockstep.raise_if_timers_due(session, row.id, now)
        return self._work.open(session, row, now)
