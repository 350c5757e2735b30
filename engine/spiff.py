"""Everything the engine needs from SpiffWorkflow, in one place.

The rest of the engine talks to this module, never to SpiffWorkflow's internals:
parsing deployed files, the restricted script environment (``working_days``,
``notify``), saving a workflow's state without its spec, and reading which user
tasks and timers a workflow is waiting on.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import UserTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock as clock_module
from engine import decision_tasks, sandbox
from engine.calendar import BusinessCalendar
from engine.process_checks import is_person_task
from engine.timer_values import ZonedScriptEngine

# ---------------------------------------------------------------- deployed expressions and scripts
# They run in engine.sandbox (RestrictedPython, guarded, with time and size limits); this is the glue
# between it and SpiffWorkflow's script engine, and the functions the engine offers diagrams.


@dataclass
class Notice:
    role: str
    subject: str
    element_id: str | None


_notices: ContextVar[list[Notice] | None] = ContextVar("complaintflow_notices", default=None)
_running_element: ContextVar[str | None] = ContextVar("complaintflow_element", default=None)
_case_started: ContextVar[datetime | None] = ContextVar("complaintflow_case_started", default=None)


@contextlib.contextmanager
def case_started_at(moment: datetime | None) -> Iterator[None]:
    """While a case's step runs, ``case_started()`` in its expressions is ``moment`` (its registration)."""
    token = _case_started.set(moment)
    try:
        yield
    finally:
        _case_started.reset(token)


@contextlib.contextmanager
def collecting_notices() -> Iterator[list[Notice]]:
    """Gather the ``notify(...)`` calls the diagram makes, to write them in the same transaction."""
    notices: list[Notice] = []
    token = _notices.set(notices)
    try:
        yield notices
    finally:
        _notices.reset(token)


def _notify(role: str | list[str] | tuple[str, ...], subject: str) -> None:
    """``notify("role", "subject")``, or ``notify(["role", "other"], "subject")``: one notice per role."""
    notices = _notices.get()
    if notices is None:
        raise RuntimeError("notify() called outside an engine step")
    roles = [str(r) for r in role] if isinstance(role, list | tuple) else [str(role)]
    subject = str(subject)
    if not 1 <= len(roles) <= 20 or any(len(r) > 200 for r in roles) or len(subject) > 2000:
        raise ValueError("notify() takes a role name (or a list of up to 20) and a subject of at most 2,000 "
                         "characters")
    notices.extend(Notice(r, subject, _running_element.get()) for r in roles)


@dataclass
class Opening:
    """``open_improvement(source, data)``: the step opens an improvement item linked to its case.

    Collected with the notices and carried out by the save, in the step's transaction (``engine.improvements``).
    """

    source: str
    data: dict
    element_id: str | None


@dataclass
class Recurrence:
    """``count_recurrence(group_by, threshold)``: count the case in its group of the calendar month.

    ``group_by`` names the fields by their meaning (``"x-meaning"`` of the forms, e.g. ``["product",
    "defect-type"]``), never by name; more than ``threshold`` cases in a group open one improvement item.
    """

    group_by: tuple[str, ...]
    threshold: int
    element_id: str | None


def _step_list(name: str) -> list:
    found = _notices.get()
    if found is None:
        raise RuntimeError(f"{name}() called outside an engine step")
    return found


def _open_improvement(source: str, data: dict | None = None) -> None:
    """``open_improvement("suggestion", {"product": product_name, ...})``: open an improvement item.

    ``data`` is the item's start form's data (checked against that form when the item opens)."""
    openings = _step_list("open_improvement")
    source = str(source)
    if not 1 <= len(source) <= 100 or not (data is None or isinstance(data, dict)):
        raise ValueError("open_improvement() takes a source of 1 to 100 characters and a dict of the item's data")
    openings.append(Opening(source, dict(data or {}), _running_element.get()))


def _count_recurrence(group_by: str | list[str] | tuple[str, ...] | None, threshold: int | None) -> None:
    """``count_recurrence(["product", "defect-type"], 5)``: nothing when the decision gave no group."""
    found = _step_list("count_recurrence")
    if group_by is None or threshold is None:
        return
    meanings = tuple(str(m).strip() for m in (group_by.replace(",", " ").split() if isinstance(group_by, str)
                                               else group_by) if str(m).strip())
    if not 1 <= len(meanings) <= 5 or not 0 <= int(threshold) <= 100_000:
        raise ValueError("count_recurrence() takes 1 to 5 meanings and a threshold of 0 to 100,000")
    found.append(Recurrence(meanings, int(threshold), _running_element.get()))


def notices_only(items: list) -> list[Notice]:
    """The ``notify`` calls among what a step collected (the rest are openings and recurrence counts)."""
    return [item for item in items if isinstance(item, Notice)]


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's script environment, running every expression and script in ``engine.sandbox``."""

    def __init__(self, functions: dict[str, Any] | None = None) -> None:
        super().__init__({})
        self.sandbox = sandbox.Sandbox(functions)

    def evaluate(self, expression, context, external_context=None):  # noqa: ANN001, ANN201
        return self.sandbox.evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):  # noqa: ANN001, ANN201
        self.sandbox.execute(script, context, external_context)
        return True


def engine_functions(calendar: BusinessCalendar) -> dict[str, Any]:
    """What diagrams may call besides the builtins whitelist: the calendar's dates and ``notify``.

    Their arguments come from deployed code, so each is bounded: no call loops for long.
    """

    def working_days(days: int) -> str:
        """ISO datetime ``days`` working days from now (the engine's clock)."""
        days = int(days)
        if not 0 <= days <= sandbox.MAX_CALENDAR_DAYS:
            raise ValueError(f"working_days counts 0 to {sandbox.MAX_CALENDAR_DAYS} days")
        return calendar.add_working_days(clock_module.current().now(), days).isoformat()

    def next_day_of_month(day: int, hour: int = 9) -> str:
        """ISO datetime of the next ``day``-th of a month at ``hour``:00 (schedules such as a monthly report)."""
        return calendar.next_day_of_month(clock_module.current().now(), int(day), int(hour)).isoformat()

    def next_weekday(weekday: int, hour: int = 9) -> str:
        """ISO datetime of the next ISO ``weekday`` (1 = Monday) at ``hour``:00."""
        return calendar.next_weekday(clock_module.current().now(), int(weekday), int(hour)).isoformat()

    def case_started() -> str:
        """ISO datetime the case was registered: deadlines that count from the complaint, not from a step."""
        moment = _case_started.get()
        if moment is None:
            raise ValueError("case_started() is known only while a case's step runs")
        return moment.isoformat()

    def now() -> str:
        """ISO datetime of the step (the engine's clock; a late timer's own due time)."""
        return clock_module.current().now().isoformat()

    def after(moment: Any, duration: str) -> str:
        """ISO datetime ``duration`` (ISO 8601, e.g. ``"PT24H"``, ``"P1M"``) after ``moment`` (an ISO datetime,
        e.g. ``case_started()``; without a zone, in the calendar's): a time-date timer counting from it."""
        parsed = TimerEventDefinition.parse_iso_duration(str(duration))  # a bad duration fails at deploy too
        if isinstance(moment, sandbox.Probe):
            return moment  # deploy's trial: the moment belongs to a case
        start = datetime.fromisoformat(str(moment))
        if start.tzinfo is None:
            start = start.replace(tzinfo=calendar.zone)
        return (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()

    return {"working_days": working_days, "next_day_of_month": next_day_of_month, "next_weekday": next_weekday,
            "case_started": case_started, "now": now, "after": after, "notify": _notify,
            "open_improvement": _open_improvement, "count_recurrence": _count_recurrence}


def make_script_engine(calendar: BusinessCalendar) -> PythonScriptEngine:
    return ZonedScriptEngine(calendar.zone, environment=RestrictedEnvironment(engine_functions(calendar)))


# ---------------------------------------------------------------- serialization


SETTLED = TaskState.COMPLETED | TaskState.CANCELLED
TOP = ""  # the row key of the case's own process; a subprocess's rows carry its id


@dataclass
class StateChanges:
    """What one save writes: the unsettled part as one small document, and the task rows that changed.

    A settled task (completed or cancelled, and so are all its children) never changes again in
    SpiffWorkflow's hands, so it is written once as a row instead of in every step's document.
    """

    document: str
    rows: list[dict[str, str]]  # {"task_id", "workflow", "body"}: insert or replace
    dropped: list[str]  # task ids whose rows go (their task left the tree)


# What each workflow object's rows hold, per task id: the fields of a settled task that can still
# change (a compaction re-roots the tree, a migration renames a spec). A workflow not in here has no rows yet.
_rows_written: WeakKeyDictionary[BpmnWorkflow, dict[UUID, tuple]] = WeakKeyDictionary()
# Each workflow's unsettled tasks as the last save converted them, for those whose form is fixed by their
# signature (no data of their own, no internal data: most are predicted tasks): a step changes few of them.
_converted: WeakKeyDictionary[BpmnWorkflow, dict[UUID, tuple[tuple, dict]]] = WeakKeyDictionary()
# Each workflow's finished call activities as the last save made them (``_finished_fingerprint``).
_finished: WeakKeyDictionary[BpmnWorkflow, dict[str, tuple]] = WeakKeyDictionary()
_splitting: ContextVar[_Split | None] = ContextVar("complaintflow_split", default=None)


def _signature(task) -> tuple:  # noqa: ANN001
    return task._state, task.last_state_change, task._parent, tuple(task._children), task.task_spec.name


def _bare_signature(task) -> tuple | None:  # noqa: ANN001
    """What a task's saved form depends on when it holds no data: None when it holds some (convert it afresh)."""
    if task.data or task.internal_data or task._parent is None:
        return None
    return task._state, task.last_state_change, task._parent, tuple(task._children), task.task_spec.name, \
        task.triggered


def _settled(task, tasks: dict) -> bool:  # noqa: ANN001
    if not task._state & SETTLED:
        return False
    for child_id in task._children:
        child = tasks.get(child_id)
        if child is not None and not child._state & SETTLED:
            return False
    return True


class _Split:
    """Sorts a workflow's tasks into the document (unsettled) and rows (settled, written once)."""

    def __init__(self, written: dict[UUID, tuple], converted: dict[UUID, tuple[tuple, dict]],
                 finished: dict[str, tuple]) -> None:
        self.written, self.present = written, set()
        self.reused: list[frozenset[UUID]] = []  # the settled tasks of the finished call activities reused
        self.rows: list[dict[str, str]] = []
        self.converted_before, self.converted = converted, {}
        self.finished_before, self.finished = finished, {}
        self.settled: list[UUID] = []  # the settled tasks of the workflow converted last
        self.subprocesses: list[tuple[str, str]] = []  # (key, JSON text) of each called process

    def subprocess_text(self, registry, workflow, key: str) -> str:  # noqa: ANN001
        """A called process as JSON: a finished one as the last save wrote it, when nothing changed since."""
        fingerprint = _finished_fingerprint(workflow)
        if fingerprint is not None:
            kept = self.finished_before.get(key)
            if kept is not None and kept[0] == fingerprint:
                self.reused.append(kept[2])
                self.finished[key] = kept
                return kept[1]
        text = _json(registry.convert(workflow))
        if fingerprint is not None:
            self.finished[key] = (fingerprint, text, frozenset(self.settled))
        return text

    def dropped(self) -> list[UUID]:
        """The tasks whose rows go: written before, present no more (a task is in one workflow only, so the
        counts add up when none went, which spares hashing every task id of the case at each save)."""
        if len(self.present) + sum(len(kept) for kept in self.reused) == len(self.written):
            return []
        return [task_id for task_id in self.written
                if task_id not in self.present and not any(task_id in kept for kept in self.reused)]

    def tasks_to_dict(self, converter, workflow) -> dict:  # noqa: ANN001
        unsettled, tasks, convert = {}, workflow.tasks, converter.registry.convert
        before, now, settled = self.converted_before, self.converted, []
        parent = getattr(workflow, "parent_task_id", None)  # a called process's rows carry its key
        key = TOP if parent is None else str(parent)
        for task_id, task in tasks.items():
            if not _settled(task, tasks):
                signature = _bare_signature(task)
                if signature is None:
                    unsettled[str(task_id)] = convert(task)
                    continue
                cached = before.get(task_id)
                dct = cached[1] if cached is not None and cached[0] == signature else convert(task)
                now[task_id] = signature, dct
                unsettled[str(task_id)] = dct
                continue
            self.present.add(task_id)
            settled.append(task_id)
            signature = _signature(task)
            if self.written.get(task_id) != signature:
                self.rows.append({"task_id": str(task_id), "workflow": key, "body": _json(convert(task))})
                self.written[task_id] = signature
        self.settled = settled
        return unsettled


def _finished_fingerprint(workflow) -> tuple | None:  # noqa: ANN001
    """What a finished call activity's saved form depends on, or None (a call activity still running: its live
    tasks' data may change without a change of state).

    A finished one changes only by a move back into it or a version migration: any change of a task's state
    stamps a later ``last_state_change``, a dropped or added task changes the count, a migration replaces
    the spec. So a save that finds the same fingerprint reuses the JSON the last save wrote of it (its data,
    its tasks), instead of converting and encoding it again: most of a long case's tasks and most of its
    document are in finished call activities.
    """
    if not workflow.completed:
        return None
    tasks = workflow.tasks
    return (id(workflow), id(workflow.spec), len(tasks),
            max((task.last_state_change for task in tasks.values()), default=0.0))


def _tasks_to_dict(converter, workflow) -> dict:  # noqa: ANN001
    split = _splitting.get()
    return converter.mapping_to_dict(workflow.tasks) if split is None else split.tasks_to_dict(converter, workflow)


def _workflow_to_dict(converter, workflow) -> dict:  # noqa: ANN001
    """``WorkflowConverter.to_dict`` with the tasks split off when a save asks for it."""
    return {
        "data": converter.registry.convert(converter.registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": _tasks_to_dict(converter, workflow),
        "root": str(workflow.task_tree.id),
    }


class _TaskConverter(TaskConverter):
    """SpiffWorkflow's task format, written faster for a task with no data yet (every predicted one).

    Such a task restores as empty whatever its parent holds, so it needs no delta against it.
    """

    def to_dict(self, task):  # noqa: ANN001, ANN201
        if task.data or task.parent is None:
            return super().to_dict(task)
        return {
            "id": str(task.id), "parent": str(task._parent), "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change, "state": task._state, "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data) if task.internal_data else {},
            "data": {}, "delta": {},
        }


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Saves a workflow without its spec: every deployed version's spec is stored once."""

    def to_dict(self, workflow):  # noqa: ANN001, ANN201
        dct = _workflow_to_dict(self, workflow)
        split = _splitting.get()
        if split is None:
            dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        else:  # as JSON text, spliced into the document by ``dump_changes``
            split.subprocesses = [(str(key), split.subprocess_text(self.registry, sub, str(key)))
                                  for key, sub in workflow.subprocesses.items()]
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None, script_engine=None):  # noqa: ANN001, ANN201
        workflow = self.target_class(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _SubWorkflowConverter(BpmnSubWorkflowConverter):
    def to_dict(self, workflow):  # noqa: ANN001, ANN201
        dct = _workflow_to_dict(self, workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct


def _make_registry():  # noqa: ANN202
    config = decision_tasks.configure(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    config[BpmnSubWorkflow] = _SubWorkflowConverter
    config[Task] = _TaskConverter
    return BpmnWorkflowSerializer.configure(config)


_registry = _make_registry()
_spec_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(decision_tasks.configure(SPIFF_CONFIG)))


def spec_to_dict(spec: Any) -> dict:
    return _spec_serializer.to_dict(spec)


def spec_from_dict(dct: dict) -> Any:
    return _spec_serializer.from_dict(json.loads(json.dumps(dct)))


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


@contextlib.contextmanager
def _encoding() -> Iterator[None]:
    _registry._encoder_mode = True
    try:
        yield
    finally:
        _registry._encoder_mode = False


def dump_state(workflow: BpmnWorkflow) -> str:
    """The whole state as one document (every task in it): what ``load_state`` also accepts alone."""
    with _encoding():
        return _json(_registry.convert(workflow))


def dump_changes(workflow: BpmnWorkflow) -> StateChanges:
    """The document and the rows a save writes, given what this workflow's rows already hold."""
    compact(workflow)
    written = _rows_written.setdefault(workflow, {})
    split = _Split(written, _converted.get(workflow, {}), _finished.get(workflow, {}))
    token = _splitting.set(split)
    try:
        with _encoding():
            top = _json(_registry.convert(workflow))
    finally:
        _splitting.reset(token)
    called = ",".join(f"{_json(key)}:{text}" for key, text in split.subprocesses)
    document = f'{top[:-1]},"subprocesses":{{{called}}}}}'
    _converted[workflow] = split.converted
    _finished[workflow] = split.finished
    dropped = split.dropped()
    for task_id in dropped:
        del written[task_id]
    return StateChanges(document, split.rows, [str(task_id) for task_id in dropped])


def load_state(document: str, rows: Iterable[tuple[str, str]], spec: Any, subprocess_specs: dict,
               script_engine: PythonScriptEngine) -> BpmnWorkflow:
    """The workflow from its document and its rows (``(workflow key, body)``); a whole-state document
    saved before rows existed loads alone."""
    dct = json.loads(document)
    loaded = []
    for key, body in rows:
        task = json.loads(body)
        owner = dct if key == TOP else dct["subprocesses"][key]
        owner["tasks"][task["id"]] = task
        loaded.append(UUID(task["id"]))
    for owner in (dct, *dct["subprocesses"].values()):
        owner["tasks"] = _parents_first(owner["tasks"], owner["root"])
    workflow = _registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs, script_engine=script_engine)
    everything = {task.id: task for wf in (workflow, *workflow.subprocesses.values()) for task in wf.tasks.values()}
    _rows_written[workflow] = {task_id: _signature(everything[task_id]) for task_id in loaded if task_id in everything}
    return workflow


def _parents_first(tasks: dict, root: str) -> dict:
    """The tasks in tree order: a task restores its data from its parent's, so the parent comes first."""
    ordered: dict = {}
    stack = [root]
    while stack:
        task_id = stack.pop()
        task = tasks.get(task_id)
        if task is None or task_id in ordered:
            continue
        ordered[task_id] = task
        stack.extend(reversed(task["children"]))
    for task_id, task in tasks.items():
        ordered.setdefault(task_id, task)
    return ordered


# ---------------------------------------------------------------- cutting off finished history

COMPACT_ABOVE = 200  # tasks in one (sub)workflow before its finished history is cut off
KEEP_LEVELS = 25  # levels of finished history kept above the deepest task every unsettled one descends from
DONE_KEY = "complaintflow_done"  # on the new root: the elements done in the history cut off


def compact(workflow: BpmnWorkflow) -> None:
    """Cut the finished history off a long-lived workflow (a loop done hundreds of times).

    SpiffWorkflow keeps every task it ever ran in one tree and walks it (recursively, in places)
    on every step, so a case that loops for ever gets slower each round and finally overflows
    Python's stack. Only what lies below the deepest task that every unsettled task (and the
    last completed one) descends from can matter again; ``KEEP_LEVELS`` more levels are kept
    as a margin for joins and boundary events that look at their ancestors. Ordinary cases stay
    far below ``COMPACT_ABOVE`` tasks and are never touched.
    """
    removed: set[UUID] = set()
    for wf in (workflow, *workflow.subprocesses.values()):
        if len(wf.tasks) > COMPACT_ABOVE:
            removed |= _cut_history(wf)
    while removed:  # subprocesses called from the history that was cut off go with it
        gone = [key for key in workflow.subprocesses if key in removed]
        removed = set()
        for key in gone:
            removed |= set(workflow.subprocesses.pop(key).tasks)


def _ancestry(task) -> list:  # noqa: ANN001
    chain = [task]
    while (parent := chain[-1].parent) is not None:
        chain.append(parent)
    chain.reverse()
    return chain


def _cut_history(wf: Any) -> set[UUID]:
    tasks = wf.tasks
    # Joins that merge branches (the process's end among them) wait without holding the history:
    # they are carried over below the new root, with the task each branch ended on (its data is merged).
    anchors = [t for t in tasks.values() if not t._state & SETTLED and not isinstance(t.task_spec, UnstructuredJoin)]
    if not anchors:
        return set()
    if wf.last_task is not None:
        anchors.append(wf.last_task)
    common = _ancestry(anchors[0])
    for task in anchors[1:]:
        chain = _ancestry(task)
        size = 0
        while size < min(len(common), len(chain)) and common[size] is chain[size]:
            size += 1
        common = common[:size]
    cut = len(common) - 1 - KEEP_LEVELS
    if cut <= 0:
        return set()
    new_root = common[cut]
    keep = _subtree(new_root)
    carried = [t for t in tasks.values() if t.id not in keep and isinstance(t.task_spec, UnstructuredJoin)]
    for join in carried:
        keep |= _subtree(join)
    for join in carried:
        branch_end = join.parent
        if branch_end is None or branch_end.id in keep:
            continue
        keep.add(branch_end.id)
        branch_end._children = [child for child in branch_end._children if child in keep]
        branch_end._parent = new_root.id
        new_root._children.append(branch_end.id)
    removed = [t for t in tasks.values() if t.id not in keep]
    done = set(wf.task_tree.internal_data.get(DONE_KEY, []))
    done.update(t.task_spec.bpmn_id for t in removed if t.state == TaskState.COMPLETED and t.task_spec.bpmn_id)
    for task in removed:
        del tasks[task.id]
    new_root._parent = None
    new_root.internal_data[DONE_KEY] = sorted(done)
    wf.task_tree = new_root
    return {t.id for t in removed}


def _subtree(task) -> set[UUID]:  # noqa: ANN001
    found, stack = set(), [task]
    while stack:
        current = stack.pop()
        found.add(current.id)
        stack.extend(child for child in current.children if child is not None)
    return found


def done_elements(workflow: BpmnWorkflow) -> set[str]:
    """Elements of the case's own process completed so far, including history cut off by ``compact``."""
    done = set(workflow.task_tree.internal_data.get(DONE_KEY, []))
    done.update(t.task_spec.bpmn_id for t in workflow.tasks.values()
                if t.state == TaskState.COMPLETED and t.task_spec.bpmn_id)
    return done


# ---------------------------------------------------------------- reading a running workflow


def run_engine_steps(workflow: BpmnWorkflow) -> None:
    """Advance past every automatic step, remembering which element sends each notice."""

    def will_run(task) -> None:  # noqa: ANN001
        _running_element.set(task.task_spec.bpmn_id)

    try:
        workflow.do_engine_steps(will_complete_task=will_run)
    finally:
        _running_element.set(None)


def fire_timers(workflow: BpmnWorkflow) -> None:
    workflow.refresh_timers()
    run_engine_steps(workflow)
    # A cycle timer that has fired its last repetition is only marked done by SpiffWorkflow on the next
    # look: take that look now, so the element completes (and its timer row closes as fired) at once.
    if any(_cycle_finished(t) for t in live_tasks(workflow) if t.state == TaskState.WAITING):
        workflow.refresh_timers()
        run_engine_steps(workflow)


def _cycle_finished(task) -> bool:  # noqa: ANN001
    value = task._get_internal_data("event_value")
    return isinstance(value, dict) and value.get("cycles") == 0


LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def live_tasks(workflow: BpmnWorkflow) -> list:
    """Ready, waiting and started tasks of the workflow and its subprocesses.

    Reads the task dictionaries directly: SpiffWorkflow's tree iterator walks every
    finished branch too, and this is asked after every step of every case.
    """
    found = []
    for wf in (workflow, *workflow.subprocesses.values()):
        found.extend(t for t in wf.tasks.values() if t.state & LIVE)
    return found


def is_inbox_task(task_spec: Any) -> bool:
    """A step a person completes from the inbox: a user task (with its form) or a manual or plain task (done)."""
    return isinstance(task_spec, UserTask) or is_person_task(task_spec)


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    return [t for t in live_tasks(workflow) if t.state == TaskState.READY and is_inbox_task(t.task_spec)]


@dataclass(frozen=True)
class Snapshot:
    """What the engine mirrors from a workflow after a step, read in one pass."""

    ready_user_tasks: list
    timers: list[WaitingTimer]
    messages: set[str]
    data: dict


def snapshot(workflow: BpmnWorkflow) -> Snapshot:
    live = live_tasks(workflow)
    ready = [t for t in live if t.state == TaskState.READY and is_inbox_task(t.task_spec)]
    waiting = [t for t in live if t.state == TaskState.WAITING]
    messages = _messages_of(waiting) | {d.name for d in _event_subprocess_messages(workflow)}
    return Snapshot(ready, _timers_of(waiting), messages, _data_of(workflow, live))


def _event_subprocess_messages(workflow: BpmnWorkflow) -> list:
    """The message definitions that start an event subprocess of the case's process while it runs.

    SpiffWorkflow keeps these as triggers on the process's start, not as waiting tasks.
    """
    if workflow.completed:
        return []
    found = []
    for name in getattr(workflow.spec.start, "trigger_specs", []):
        sub_spec = workflow.subprocess_specs.get(name)
        for start in getattr(sub_spec, "bpmn_start_events", []):
            if isinstance(start.event_definition, MessageEventDefinition):
                found.append(start.event_definition)
    return found


def find_task(workflow: BpmnWorkflow, task_id: str):  # noqa: ANN201
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except Exception:
        return None


def complete_user_task(workflow: BpmnWorkflow, task, data: dict) -> None:  # noqa: ANN001
    task.data.update(data)
    _running_element.set(task.task_spec.bpmn_id)
    try:
        task.run()
    finally:
        _running_element.set(None)
    run_engine_steps(workflow)


def _catching(task) -> list[tuple[Any, Any]]:  # noqa: ANN001
    """(event definition, element spec) pairs a waiting task catches.

    An event-based gateway owns the definitions of the catch events after it (SpiffWorkflow
    moves them onto the gateway), so each is paired with the catch event it came from.
    """
    spec = task.task_spec
    if isinstance(spec, EventBasedGateway):
        return list(zip(spec.event_definition.event_definitions, spec.outputs, strict=False))
    if isinstance(spec, CatchingEvent):
        return [(spec.event_definition, spec)]
    return []


def waiting_messages(workflow: BpmnWorkflow) -> set[str]:
    waiting = [t for t in live_tasks(workflow) if t.state == TaskState.WAITING]
    return _messages_of(waiting) | {d.name for d in _event_subprocess_messages(workflow)}


def _messages_of(waiting: list) -> set[str]:
    return {d.name for task in waiting for d, _ in _catching(task) if isinstance(d, MessageEventDefinition)}


def deliver_message(workflow: BpmnWorkflow, name: str, payload: dict) -> None:
    """Hand a message to the event waiting for it and run on.

    The event is built from the waiting definition itself: SpiffWorkflow matches message
    definitions by class as well as name, and the spiff parser uses its own subclass.
    """
    for task in workflow.get_tasks(state=TaskState.WAITING):
        for definition, _ in _catching(task):
            if isinstance(definition, MessageEventDefinition) and definition.name == name:
                workflow.catch(BpmnEvent(definition, payload))
                run_engine_steps(workflow)
                return
    for definition in _event_subprocess_messages(workflow):
        if definition.name == name:
            workflow.catch(BpmnEvent(definition, payload))
            run_engine_steps(workflow)
            return
    raise ValueError(f"the workflow is not waiting for message {name!r}")


@dataclass(frozen=True)
class WaitingTimer:
    spiff_task_id: str
    element_id: str
    name: str
    due_at: datetime
    attached_to: str | None  # element id of the guarded task
    attached_task_id: str | None
    interrupting: bool


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    """Every timer event the workflow waits on, with the time it falls due."""
    return _timers_of([t for t in live_tasks(workflow) if t.state == TaskState.WAITING])


def _timers_of(waiting: list) -> list[WaitingTimer]:
    timers = []
    for task in waiting:
        for definition, element in _catching(task):
            if not isinstance(definition, TimerEventDefinition):
                continue
            value = task._get_internal_data("event_value")
            if value is None:
                continue
            if isinstance(value, dict):  # a cycle timer: the next repetition, none once all have fired
                if value.get("cycles") == 0:
                    continue
                value = value.get("next")
            due = TimerEventDefinition.get_datetime(value)
            guarded, interrupting = None, False
            if task.parent is not None and isinstance(task.parent.task_spec, BoundaryEventSplit):
                guarded = _guarded_task(task)
                interrupting = bool(getattr(element, "cancel_activity", False))
            timers.append(WaitingTimer(
                str(task.id), element.bpmn_id, element.bpmn_name or element.bpmn_id, due,
                guarded.task_spec.bpmn_id if guarded else None, str(guarded.id) if guarded else None, interrupting,
            ))
    return timers


def timer_fired(workflow: BpmnWorkflow, spiff_task_id: str, element_id: str) -> bool:
    """Whether a timer that is no longer waiting fired (rather than being cancelled).

    A timer after an event-based gateway fired when the gateway went on to that timer's event.
    """
    task = find_task(workflow, spiff_task_id)
    if task is None or task.state != TaskState.COMPLETED:
        return False
    if isinstance(task.task_spec, EventBasedGateway):
        return any(child.task_spec.bpmn_id == element_id for child in task.children)
    return True


def _guarded_task(task):  # noqa: ANN001, ANN202
    """The task a boundary timer guards (its sibling under the boundary split)."""
    for sibling in task.parent.children:
        if not isinstance(sibling.task_spec, CatchingEvent):
            return sibling
    return None


def _data_of(workflow: BpmnWorkflow, live: list) -> dict:
    """The live branches' data merged, the most recently changed last.

    One branch alone is not the case: a deadline's reminder branch carries a copy taken when
    it was armed, so the newest task there may lack what the main path set since.
    """
    if workflow.completed or not live:
        return workflow.last_task.data if workflow.last_task is not None else {}
    merged: dict = {}
    for task in sorted(live, key=lambda t: t.last_state_change):
        merged.update(task.data)
    return merged


def task_property(task, name: str) -> str | None:  # noqa: ANN001
    """A ``spiffworkflow:property`` of the task's element in the diagram."""
    return (getattr(task.task_spec, "extensions", None) or {}).get("properties", {}).get(name)


def user_task_form(task) -> str | None:  # noqa: ANN001
    return task_property(task, "formJsonSchemaFilename")


def user_steps(specs: list) -> list[tuple[str, str, str | None, str | None]]:
    """(element id, title, form file, lane) of every user task in ``specs``: the steps a list can filter on."""
    found = {}
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if is_inbox_task(task_spec):
                props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
                found.setdefault(task_spec.bpmn_id, (task_spec.bpmn_id, task_spec.bpmn_name or task_spec.bpmn_id,
                                                     props.get("formJsonSchemaFilename"), task_spec.lane))
    return list(found.values())


# ---------------------------------------------------------------- moving a running workflow to a new version

RUNNING = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def migration_problems(workflow: BpmnWorkflow, spec: Any, subprocess_specs: dict) -> tuple[list[str], Any]:
    """Why ``workflow`` cannot move to ``spec`` (empty when it can), and the diffs to do it with.

    Safe means: no step that is done or under way (ready, waiting, running) was removed or
    changed; steps still ahead may change freely, which is the point of a migration.
    """
    registry = _spec_serializer.registry
    top, subs = diff_workflow(registry, workflow, spec, subprocess_specs)
    problems = []
    for name, diff in [(workflow.spec.name, top), *((sp_id, d) for sp_id, d in subs.items())]:
        if diff is None:
            called = workflow.subprocesses[name].spec.name
            problems.append(f"the called process {called!r}, which is under way, is not in the new version")
            continue
        for task in diff.removed:
            if task.state & (TaskState.COMPLETED | RUNNING):
                problems.append(f"step {task.task_spec.bpmn_id or task.task_spec.name} "
                                f"({TaskState.get_name(task.state).lower()}) is not in the new version")
        for task in diff.changed:
            if task.state & (TaskState.COMPLETED | RUNNING) and task.task_spec.bpmn_id:
                changes = diff_changes(registry, task.task_spec, diff.alignment[task])
                if set(changes) <= {"decisions", "decision_table"} and decision_tasks.same_meaning(
                        task.task_spec, diff.alignment[task]):
                    continue  # the same decisions written another way (a version stored before this engine)
                what = ", ".join(sorted(changes))
                problems.append(f"step {task.task_spec.bpmn_id} ({TaskState.get_name(task.state).lower()}) "
                                f"changed in the new version ({what})")
    return problems, (top, subs)


def diff_changes(registry: Any, old: Any, new: Any) -> list[str]:
    first, second = registry.convert(old), registry.convert(new)
    return [key for key, value in first.items() if second.get(key) != value]


def migrate(workflow: BpmnWorkflow, spec: Any, subprocess_specs: dict, diffs: Any) -> None:
    """Point the workflow (and its running subprocesses) at the new specs and run on."""
    top, subs = diffs
    migrate_workflow(top, workflow, spec)
    for sp_id, diff in subs.items():
        subprocess = workflow.subprocesses[sp_id]
        migrate_workflow(diff, subprocess, subprocess_specs[subprocess.spec.name])
    workflow.subprocess_specs = subprocess_specs
    run_engine_steps(workflow)
