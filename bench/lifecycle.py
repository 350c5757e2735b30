"""One complete complaint lifecycle in bare, in-memory SpiffWorkflow: the benchmark baseline.

Nothing of the product runs here (no database, no history, no restricted expressions, no
form validation): only SpiffWorkflow executing ``workflows/`` with the same business
calendar. The lifecycle is the common case, driven by the same sample form data as the
tests (``engine.demo.FORM_DATA``): a general-grade product-quality complaint, the company
at fault, an exchange the customer confirms online, two satisfied callbacks 3 days apart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.spiff.specs.defaults import UserTask
from SpiffWorkflow.util.task import TaskState

from engine import decision_checks, decision_tasks, spiff
from engine.calendar import BusinessCalendar, CalendarConfig
from engine.clock import ManualClock, using
from engine.demo import from_folder
from engine.spiff import _catching

SHIPPED = from_folder(Path(__file__).resolve().parent.parent / "workflows")
FORM_DATA = SHIPPED.forms
registration = SHIPPED.registration

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
INTAKE = registration(channel="web", complaint_type="product_quality")
PLAN_CONFIRMATION = {"accepted": True}


def _refused(file: str, element: str | None, code: str, **params: object) -> None:
    raise SystemExit(f"{file} {element}: {code} {params}")


def load_specs(workflows_dir: str | Path) -> tuple[Any, dict, BusinessCalendar]:
    """Parse the BPMN and DMN files once (XSD-validated), as the engine's deployment cache does."""
    folder = Path(workflows_dir)
    # Decisions as the engine evaluates them (DMN semantics SpiffWorkflow's own DMN engine lacks), over plain
    # task data: the baseline measures the workflow engine, not how decisions are read.
    decided: dict[str, dict] = {}
    for path in sorted(folder.glob("*.dmn")):
        decided |= decision_checks.read_file(_refused, path.name, etree.parse(str(path)).getroot())
    parser = decision_tasks.DecisionParser(decided)
    parser.validator = VALIDATOR
    parser.add_bpmn_files([str(path) for path in sorted(folder.glob("*.bpmn"))])  # every stage file
    calendar = BusinessCalendar(CalendarConfig.from_dir(folder))
    return parser.get_spec("complaint"), parser.get_subprocess_specs("complaint"), calendar


def _next_due(workflow: BpmnWorkflow) -> datetime | None:
    """When the earliest waiting timer (boundary, catch event or after a gateway) falls due."""
    due = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        value = task.internal_data.get("event_value")
        if isinstance(value, str) and any(isinstance(d, TimerEventDefinition) for d, _ in _catching(task)):
            due.append(TimerEventDefinition.get_datetime(value))
    return min(due) if due else None


def _waiting_message(workflow: BpmnWorkflow, name: str) -> Any | None:
    for task in workflow.get_tasks(state=TaskState.WAITING):
        for definition, _ in _catching(task):
            if getattr(definition, "name", None) == name and type(definition).__name__ == "MessageEventDefinition":
                return definition
    return None


def run_bare(spec: Any, subprocess_specs: dict, calendar: BusinessCalendar) -> dict:
    """Run the lifecycle to the archive end event and return the final data; fail loudly otherwise."""
    clock = ManualClock(START)
    notices: list[tuple[str, str]] = []

    def notify(role: str, subject: str) -> None:
        notices.append((role, subject))

    def count_recurrence(group_by: Any, threshold: int) -> None:  # what the engine's save acts on, collected
        notices.append(("recurrence", str(group_by)))

    def open_improvement(source: str, data: dict | None = None) -> None:
        notices.append(("improvement", source))

    # The engine's own functions (calendar dates, case_started, after ...), run unguarded here.
    environment = TaskDataEnvironment({**spiff.engine_functions(calendar), "notify": notify,
                                       "count_recurrence": count_recurrence, "open_improvement": open_improvement})
    with using(clock), spiff.case_started_at(START):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=PythonScriptEngine(environment=environment))
        workflow.get_tasks(state=TaskState.READY)[0].data.update(INTAKE)
        workflow.do_engine_steps()
        for _ in range(100):
            if workflow.completed:
                break
            ready = workflow.get_tasks(state=TaskState.READY, spec_class=UserTask)
            if ready:
                ready[0].data.update(FORM_DATA[ready[0].task_spec.bpmn_id])
                ready[0].run()
            elif (definition := _waiting_message(workflow, "plan_confirmation")) is not None:
                workflow.catch(BpmnEvent(definition, PLAN_CONFIRMATION))
            else:
                due = _next_due(workflow)
                assert due is not None, "the workflow waits for nothing this lifecycle can give"
                clock.set(max(due, clock.now()) + timedelta(seconds=1))
                workflow.refresh_timers()
            workflow.do_engine_steps()
    assert workflow.completed, "the lifecycle did not reach the archive"
    data = workflow.last_task.data
    assert data["outcome"] == "resolved", data.get("outcome")
    assert ("customer", "plan_proposed") in notices
    return data


_lifecycles = iter(range(1, 10**9))


def run_persisted(eng: Any, clock: ManualClock) -> str:
    """The same lifecycle through the persisted engine's API, as handlers, the customer and the
    scheduler would drive it; returns the archived case's number.

    Each lifecycle is about a product of its own: a run of identical complaints would be a recurring
    problem (``recurrence.dmn``) and open improvement items, processes the bare side never runs. The
    recurring-problem count itself still runs at every root-cause analysis.
    """
    intake = registration(channel="web", complaint_type="product_quality",
                          product_name=f"{INTAKE['product_name']} #{next(_lifecycles)}")
    number = eng.runtime.start("complaint", intake, "cs1")
    for _ in range(100):
        tasks = eng.tasks.for_case(number)
        if tasks:
            eng.tasks.complete(tasks[0].id, tasks[0].assignee, FORM_DATA[tasks[0].name])
            continue
        case = eng.cases.get(number)
        if case.status == "archived":
            assert case.outcome == "resolved", case.outcome
            return number
        if "plan_confirmation" in case.waiting_for:
            eng.runtime.message(number, "plan_confirmation", PLAN_CONFIRMATION, "customer")
        else:
            pending = [d.due_at for d in case.deadlines if d.status == "pending"]
            assert pending, f"case {number} waits for nothing this lifecycle can give"
            clock.set(max(min(pending), clock.now()) + timedelta(seconds=1))
            eng.timers.fire_due()
    raise AssertionError(f"case {number} did not reach the archive")
