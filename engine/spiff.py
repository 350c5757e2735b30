"""Everything the engine needs from SpiffWorkflow, in one place.

The rest of the engine talks to this module, never to SpiffWorkflow's internals:
parsing deployed files, the restricted script environment (``working_days``,
``notify``), saving a workflow's state without its spec, and reading which user
tasks and timers a workflow is waiting on.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import UserTask
from SpiffWorkflow.util.task import TaskState

from engine import clock as clock_module
from engine.calendar import BusinessCalendar

# ---------------------------------------------------------------- restricted expressions

SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in [
        "abs", "all", "any", "bool", "dict", "enumerate", "filter", "float", "frozenset", "int", "isinstance",
        "len", "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum",
        "tuple", "zip", "True", "False", "None",
    ]
}
FORBIDDEN_NAMES = frozenset([
    "eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "input", "breakpoint", "help", "exit", "quit", "memoryview", "type", "object", "super",
    "classmethod", "staticmethod", "property",
])


class UnsafeExpression(ValueError):
    """An expression or script uses something deployed files may not use."""


@lru_cache(maxsize=4096)
def check_restricted(source: str, mode: str = "eval") -> None:
    """Refuse imports, dunder or private attributes, and escape-hatch builtins.

    Deployed expressions run inside the engine process: this plus the reduced
    builtins is what stops a diagram from reaching the file system or the interpreter.
    """
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise UnsafeExpression(f"not valid Python: {exc.msg} (line {exc.lineno})") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise UnsafeExpression("imports are not allowed")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise UnsafeExpression(f"attribute '{node.attr}' is not allowed (no private or dunder names)")
        if isinstance(node, ast.Name) and (node.id.startswith("__") or node.id in FORBIDDEN_NAMES):
            raise UnsafeExpression(f"name '{node.id}' is not allowed")
        if isinstance(node, ast.Global | ast.Nonlocal | ast.Lambda | ast.AsyncFunctionDef | ast.ClassDef):
            raise UnsafeExpression(f"{type(node).__name__} is not allowed in a deployed script")


@dataclass
class Notice:
    role: str
    subject: str
    element_id: str | None


_notices: ContextVar[list[Notice] | None] = ContextVar("complaintflow_notices", default=None)
_running_element: ContextVar[str | None] = ContextVar("complaintflow_element", default=None)


@contextlib.contextmanager
def collecting_notices() -> Iterator[list[Notice]]:
    """Gather the ``notify(...)`` calls the diagram makes, to write them in the same transaction."""
    notices: list[Notice] = []
    token = _notices.set(notices)
    try:
        yield notices
    finally:
        _notices.reset(token)


def _notify(role: str, subject: str) -> None:
    notices = _notices.get()
    if notices is None:
        raise RuntimeError("notify() called outside an engine step")
    notices.append(Notice(str(role), str(subject), _running_element.get()))


class RestrictedEnvironment(TaskDataEnvironment):
    """Python expressions and scripts with reduced builtins and an AST guard."""

    def evaluate(self, expression, context, external_context=None):  # noqa: ANN001, ANN201
        check_restricted(expression, "eval")
        return super().evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):  # noqa: ANN001, ANN201
        check_restricted(script, "exec")
        return super().execute(script, context, external_context)


def make_script_engine(calendar: BusinessCalendar) -> PythonScriptEngine:
    def working_days(days: int) -> str:
        """ISO datetime ``days`` working days from now (the engine's clock)."""
        return calendar.add_working_days(clock_module.current().now(), int(days)).isoformat()

    def next_day_of_month(day: int, hour: int = 9) -> str:
        """ISO datetime of the next ``day``-th of a month at ``hour``:00 (schedules such as a monthly report)."""
        return calendar.next_day_of_month(clock_module.current().now(), int(day), int(hour)).isoformat()

    def next_weekday(weekday: int, hour: int = 9) -> str:
        """ISO datetime of the next ISO ``weekday`` (1 = Monday) at ``hour``:00."""
        return calendar.next_weekday(clock_module.current().now(), int(weekday), int(hour)).isoformat()

    env = RestrictedEnvironment({
        "__builtins__": SAFE_BUILTINS, "working_days": working_days, "next_day_of_month": next_day_of_month,
        "next_weekday": next_weekday, "notify": _notify,
    })
    return PythonScriptEngine(environment=env)


# ---------------------------------------------------------------- serialization


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Saves a workflow without its spec: every deployed version's spec is stored once."""

    def to_dict(self, workflow):  # noqa: ANN001, ANN201
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
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


def _make_registry():  # noqa: ANN202
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    return BpmnWorkflowSerializer.configure(config)


_registry = _make_registry()
_spec_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def spec_to_dict(spec: Any) -> dict:
    return _spec_serializer.to_dict(spec)


def spec_from_dict(dct: dict) -> Any:
    return _spec_serializer.from_dict(json.loads(json.dumps(dct)))


def dump_state(workflow: BpmnWorkflow) -> str:
    _registry._encoder_mode = True
    try:
        return json.dumps(_registry.convert(workflow), separators=(",", ":"), default=str)
    finally:
        _registry._encoder_mode = False


def load_state(state: str, spec: Any, subprocess_specs: dict, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    return _registry.restore(
        json.loads(state), spec=spec, subprocess_specs=subprocess_specs, script_engine=script_engine
    )


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


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    return [t for t in live_tasks(workflow) if t.state == TaskState.READY and isinstance(t.task_spec, UserTask)]


@dataclass(frozen=True)
class Snapshot:
    """What the engine mirrors from a workflow after a step, read in one pass."""

    ready_user_tasks: list
    timers: list[WaitingTimer]
    messages: set[str]
    data: dict


def snapshot(workflow: BpmnWorkflow) -> Snapshot:
    live = live_tasks(workflow)
    ready = [t for t in live if t.state == TaskState.READY and isinstance(t.task_spec, UserTask)]
    waiting = [t for t in live if t.state == TaskState.WAITING]
    return Snapshot(ready, _timers_of(waiting), _messages_of(waiting), _data_of(workflow, live))


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
    return _messages_of([t for t in live_tasks(workflow) if t.state == TaskState.WAITING])


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
            if isinstance(value, dict):  # a cycle timer: the next firing
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
            if isinstance(task_spec, UserTask):
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
                what = ", ".join(sorted(diff_changes(registry, task.task_spec, diff.alignment[task])))
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
