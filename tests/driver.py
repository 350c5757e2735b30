"""Drive cases through the engine API the way handlers would, with plausible form data."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from engine.demo import from_folder
from engine.tasks import TaskView

__all__ = ["FORM_DATA", "registration"]

# The shipped workflows' sample data (workflows/demo.json): the same forms the demo and the benchmarks type.
SHIPPED = from_folder(Path(__file__).resolve().parent.parent / "workflows")
FORM_DATA = SHIPPED.forms
registration = SHIPPED.registration


def open_tasks(eng, number: str) -> list[TaskView]:
    return eng.tasks.for_case(number)


def task(eng, number: str, element: str) -> TaskView:
    matches = [t for t in eng.tasks.for_case(number) if t.name == element]
    names = [t.name for t in eng.tasks.for_case(number)]
    assert len(matches) == 1, f"expected one open {element!r} task on {number}, open tasks: {names}"
    return matches[0]


def complete(eng, number: str, element: str, user: str | None = None, **data: object) -> TaskView:
    current = task(eng, number, element)
    form = dict(FORM_DATA[element])
    form.update(data)
    eng.tasks.complete(current.id, user or current.assignee, form)
    return current


def advance(eng, clock, **delta: float) -> int:
    clock.advance(timedelta(**delta))
    return eng.timers.fire_due()


def past_next_deadline(eng, clock, by: timedelta = timedelta(minutes=1)) -> None:
    """Move the clock ``by`` past the earliest pending deadline, whatever the deployed files make it.

    Mechanism tests use this instead of a shipped duration, so a process owner's change of a
    deadline in workflows/ never breaks them (the spec tests keep the durations the seeds give).
    """
    due = eng.timers.next_due()
    assert due is not None, "no deadline is pending"
    clock.advance(due - clock.now() + by)


def fire_next(eng, clock, by: timedelta = timedelta(minutes=1)) -> int:
    """Move past the earliest pending deadline and let the scheduler fire; returns how many fired."""
    past_next_deadline(eng, clock, by)
    return eng.timers.fire_due()


def short_of_next_deadline(eng, clock, left: timedelta = timedelta(minutes=1)) -> None:
    """Move the clock to ``left`` before the earliest pending deadline: it has not passed yet."""
    due = eng.timers.next_due()
    assert due is not None, "no deadline is pending"
    clock.advance(due - clock.now() - left)


_EVENT = re.compile(r"<(?:\w+:)?(boundaryEvent|intermediateCatchEvent)\b[^>]*>.*?</(?:\w+:)?\1>", re.S)
_TIMER_VALUE = re.compile(r"(<(?:\w+:)?time(?:Duration|Date|Cycle)\b[^>]*>)(.*?)(</)", re.S)


def set_deadline(workflows_dir: Path, element: str, expression: str) -> str:
    """Set the timer on task ``element``'s boundary, or of the timer event ``element``, as in the modeler.

    Returns the expression it had, so a test states its change without assuming the shipped value.
    """
    for path in sorted(workflows_dir.glob("*.bpmn")):
        text = path.read_text(encoding="utf-8")
        for block in _EVENT.finditer(text):
            opening = block.group(0).split(">", 1)[0]
            if f'attachedToRef="{element}"' not in opening and f'id="{element}"' not in opening:
                continue
            timer = _TIMER_VALUE.search(block.group(0))
            if timer is None:
                continue
            changed = block.group(0).replace(timer.group(0), timer.group(1) + expression + timer.group(3), 1)
            path.write_text(text.replace(block.group(0), changed, 1), encoding="utf-8")
            return timer.group(2)
    raise AssertionError(f"no timer on or of {element!r} in {workflows_dir}")


def subjects(eng, number: str) -> list[tuple[str, str]]:
    return [(n.role, n.subject) for n in eng.cases.get(number).notifications]


# What the validity check of a service complaint asks instead of the defect check, and the facts that
# give the same grade there: a safety hazard has no service counterpart, public-opinion risk is urgent too.
VALIDITY = {"defect_confirmed": "complaint_valid", "not_a_defect": "not_valid", "need_more_info": "need_more_info"}
SERVICE_FACTS = {"safety_hazard": "public_opinion_risk", "core_function_failure": "customer_upset"}


def complete_open(eng, number: str, elements: tuple[str, ...], **data: object) -> TaskView:
    """Complete whichever of ``elements`` is open (the step a route by complaint type or grade chose)."""
    open_now = [t.name for t in open_tasks(eng, number) if t.name in elements]
    assert len(open_now) == 1, f"expected one of {elements} open on {number}, open: {open_now}"
    return complete(eng, number, open_now[0], **data)


def start_to_verified(eng, number: str, **verify: object) -> None:
    """First response, then the defect check (product quality) or the validity check (other complaints)."""
    complete(eng, number, "first_response")
    if "check_validity" not in {t.name for t in open_tasks(eng, number)}:
        complete(eng, number, "verify", **verify)
        return
    fields = set(FORM_DATA["check_validity"])
    data = {SERVICE_FACTS.get(k, k): v for k, v in verify.items() if SERVICE_FACTS.get(k, k) in fields}
    if "verification_outcome" in verify:
        data["validity"] = VALIDITY[str(verify["verification_outcome"])]
    complete(eng, number, "check_validity", **data)


GRADE_FACTS = {
    "urgent": {"safety_hazard": True},
    "serious": {"core_function_failure": True},
    "general": {},
}
HANDLING_STARTS = ("start_emergency_handling", "start_handling", "start_handling_service", "start_handling_general")


def to_responsibility(eng, number: str, grade: str = "general", unreachable: bool = False) -> None:
    """Register → first response → verify (defect) → graded → handling started."""
    start_to_verified(eng, number, **GRADE_FACTS[grade])
    complete_open(eng, number, HANDLING_STARTS, customer_unreachable=unreachable)


def to_plan(eng, number: str, grade: str = "general") -> None:
    to_responsibility(eng, number, grade)
    complete(eng, number, "determine_responsibility")
    cause = tuple(name for name in FORM_DATA if name == "root_cause_analysis" or name.startswith("department_action_"))
    complete_open(eng, number, cause)
    through_chain(eng, number)


# The management chain after responsibility (final_opinion.bpmn); management_chain.dmn opens some of them by grade.
CHAIN = ("review_responsibility_opinion", "consult_on_opinion", "give_gm_opinion", "carry_out_fault_handling")


def through_chain(eng, number: str, **data: object) -> list[str]:
    """Complete whichever steps of the management chain open, in order; returns their names."""
    done = []
    while open_now := [t.name for t in open_tasks(eng, number) if t.name in CHAIN]:
        complete(eng, number, open_now[0], **{k: v for k, v in data.items() if k in FORM_DATA[open_now[0]]})
        done.append(open_now[0])
    return done


def plan_through_review(eng, number: str, step: str = "propose_plan", **plan: object) -> None:
    """The plan (``propose_plan`` or an escalation tier's plan), the approvals it needs and management review."""
    complete(eng, number, step, **plan)
    names = {t.name for t in open_tasks(eng, number)}
    if "approve_compensation" in names:
        complete(eng, number, "approve_compensation")
        if "approve_compensation_manager" in {t.name for t in open_tasks(eng, number)}:
            complete(eng, number, "approve_compensation_manager")
    complete(eng, number, "management_review")


def to_callback(eng, number: str, complaint_grade: str = "general", **plan: object) -> None:
    """All the way to the first callback with an exchange the customer accepted."""
    to_plan(eng, number, complaint_grade)
    plan_through_review(eng, number, **plan)
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    complete(eng, number, "ship_exchange")
    complete(eng, number, "notify_result")


def at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together (two people clicking at the same moment); their results,
    or the exception each raised, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return results


def complaint_count(eng) -> int:  # noqa: ANN001
    with eng.db.read() as session:
        return session.scalar(sa.text("SELECT count(*) FROM \"case\" WHERE process_id = 'complaint'"))
