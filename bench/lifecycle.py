"""One complete complaint lifecycle in bare, in-memory SpiffWorkflow: the benchmark baseline.

Nothing of the product runs here (no database, no history, no restricted expressions):
only SpiffWorkflow executing ``workflows/``. The product's overhead is measured against
this. The lifecycle is the common case: a general-grade product-quality complaint, the
company at fault, an exchange the customer confirms online, two satisfied callbacks
three days apart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import UserTask
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.clock import ManualClock, using

BPMN_FILES = ("complaint.bpmn", "escalation.bpmn", "callback.bpmn")
DMN_FILES = ("grading.dmn", "compensation_approval.dmn")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai

# "register" is the intake given to start; every other key is a user task id.
HAPPY_PATH: dict[str, dict] = {
    "register": {
        "channel": "web",
        "complaint_type": "product_quality",
        "customer_name": "张三",
        "contact": "13800135678",
        "product_name": "智能电水壶",
        "product_model": "K-200",
        "batch_no": "B2026-01",
        "serial_no": "SN0001",
        "purchase_date": "2026-01-15",
        "purchase_channel": "官方商城",
        "description": "外壳有裂纹，轻微漏水",
        "expectation": "exchange",
        "involved_staff": [],
        "attachments": [],
    },
    "first_response": {
        "expected_handling_time": "2 个工作日内",
        "message_to_customer": "您好，已收到您的投诉，我们会尽快核实处理。",
    },
    "verify": {
        "verification_outcome": "defect_confirmed",
        "safety_hazard": False,
        "batch_defect": False,
        "public_opinion_risk": False,
        "core_function_failure": False,
        "batch_involved": False,
        "customer_upset": False,
        "widespread": False,
        "misuse_excluded": True,
        "notes": "照片显示外壳裂纹，个案",
    },
    "start_handling_general": {"team": "客服专员组", "actions": "已联系客户取回样品", "customer_unreachable": False},
    "determine_responsibility": {"responsibility": "company", "responsibility_reason": "注塑工艺缺陷"},
    "root_cause_analysis": {
        "defect_type": "外壳裂纹",
        "responsible_department": "production",
        "corrective_actions": "更换模具",
        "preventive_actions": "加强出厂检验",
    },
    "propose_plan": {"plan_type": "exchange", "compensation_amount": 0, "plan_details": "同型号换新"},
    "management_review": {"agrees": True, "review_comment": "同意"},
    "ship_exchange": {"tracking_number": "SF1234567890"},
    "notify_result": {"result_message": "换货已发出，请注意查收。"},
    "callback": {"reached": True, "satisfaction": 5, "satisfaction_label": "very_satisfied", "comments": "满意"},
}


def load_specs(workflows_dir: str | Path) -> tuple[Any, dict]:
    """Parse the three BPMN and two DMN files (XSD-validated); return the complaint spec and its called specs."""
    folder = Path(workflows_dir)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(folder / name) for name in BPMN_FILES])
    parser.add_dmn_files([str(folder / name) for name in DMN_FILES])
    return parser.get_spec("complaint"), parser.get_subprocess_specs("complaint")


def _earliest_timer(workflow: BpmnWorkflow) -> datetime | None:
    """When the next waiting timer (boundary, catch event or event-based gateway) falls due."""
    due = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, (TimerEventDefinition, MultipleEventDefinition)):
            value = task.internal_data.get("event_value")
            if isinstance(value, str):
                due.append(TimerEventDefinition.get_datetime(value))
    return min(due) if due else None


def _waits_for_plan_confirmation(workflow: BpmnWorkflow) -> bool:
    """True when an event-based gateway (or catch event) waits for the plan_confirmation message."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        inner = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        if any(isinstance(d, MessageEventDefinition) and d.name == "plan_confirmation" for d in inner):
            return True
    return False


def run_bare(specs: Any, subprocess_specs: dict) -> None:
    """Run the HAPPY_PATH lifecycle to the archive end event; raise AssertionError if it is not reached.

    ``specs`` is the complaint spec from ``load_specs`` (a ``{"complaint": spec}`` mapping
    is accepted too). Deadlines are computed as now + n calendar days: bare mode has no
    business calendar.
    """
    spec = specs["complaint"] if isinstance(specs, dict) else specs
    clock = ManualClock(START)
    notices: list[tuple[str, str]] = []

    def working_days(days: int) -> str:
        return (clock.now() + timedelta(days=days)).isoformat()

    def notify(role: str, subject: str) -> None:
        notices.append((role, subject))

    environment = TaskDataEnvironment({"working_days": working_days, "notify": notify})
    with using(clock):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=PythonScriptEngine(environment=environment))
        workflow.get_tasks(state=TaskState.READY)[0].data.update(HAPPY_PATH["register"])
        workflow.do_engine_steps()
        for _ in range(100):
            if workflow.completed:
                break
            ready = workflow.get_tasks(state=TaskState.READY, spec_class=UserTask)
            if ready:
                task = ready[0]
                task.data.update(HAPPY_PATH[task.task_spec.bpmn_id])
                task.run()
            elif _waits_for_plan_confirmation(workflow):
                workflow.catch(BpmnEvent(MessageEventDefinition("plan_confirmation"), {"accepted": True}))
            else:
                due = _earliest_timer(workflow)
                assert due is not None, "the workflow waits for nothing this lifecycle can give"
                clock.set(max(due, clock.now()) + timedelta(seconds=1))
                workflow.refresh_timers()
            workflow.do_engine_steps()
    assert workflow.completed, "the lifecycle did not reach the archive"
    assert workflow.last_task.data["outcome"] == "resolved"
    assert workflow.last_task.data["callback_no"] == 2
    assert ("customer", "plan_proposed") in notices


if __name__ == "__main__":
    import time

    root = Path(__file__).resolve().parent.parent / "workflows"
    complaint_spec, called_specs = load_specs(root)
    began, runs = time.perf_counter(), 200
    for _ in range(runs):
        run_bare(complaint_spec, called_specs)
    elapsed = time.perf_counter() - began
    print(f"{runs} lifecycles in {elapsed:.2f} s: {runs / elapsed:.0f} per second")
