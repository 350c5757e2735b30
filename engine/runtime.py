"""Start cases and deliver customers' messages (≈ Camunda's RuntimeService)."""

from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine import forms, spiff
from engine.casework import CaseRow, CaseWork, OpenCase, lock_case
from engine.clock import Clock
from engine.errors import FormInvalid, MessageNotExpected
from engine.repository import Repository
from engine.store.db import Database
from engine.store.models import Case, ComplaintCounter, CustomerContact, InvolvedPerson

SENSITIVE_FIELDS = ("customer_name", "contact")


def mask_registration(data: dict) -> dict:
    """What the case keeps of the customer: a masked name and the contact's last 4 digits."""
    masked = dict(data)
    if "customer_name" in masked:
        masked["customer_name"] = forms.mask_name(masked["customer_name"])
    if "contact" in masked:
        masked["contact_last4"] = forms.last4(masked.pop("contact"))
    return masked


class Runtime:
    def __init__(self, db: Database, clock: Clock, repository: Repository, work: CaseWork, timers) -> None:  # noqa: ANN001
        self._db, self._clock, self._repository, self._work, self._timers = db, clock, repository, work, timers

    def start(self, process_id: str, data: dict, actor: str) -> str:
        """Register a case on the newest version; returns its number ``YYYYMMDD-<CHANNEL>-<NNN>``."""
        deployment = self._repository.active()
        clean = forms.validate(deployment.start_form(process_id), data)
        channel = str(clean.get("channel") or "other")
        if not channel.isidentifier():
            raise FormInvalid({"channel": "a channel is a single word such as phone or web"})
        masked = mask_registration(clean)
        masked.setdefault("involved_staff", [])
        spec, subs = deployment.specs(process_id)
        now = self._clock.now()
        with self._db.write() as session:
            number = _next_number(session, self._db.dialect, channel, now, deployment.calendar.zone)
            masked["case_number"] = number
            workflow = BpmnWorkflow(spec, subs, script_engine=deployment.script_engine)
            row = Case(
                number=number, process_id=process_id, deployment_id=deployment.id, version=0, status="open",
                channel=channel, complaint_type=clean.get("complaint_type"), product_name=clean.get("product_name"),
                involved_staff=list(masked.get("involved_staff") or []), summary=masked, state="{}",
                created_by=actor, created_at=now, updated_at=now, escalation_tier=0,
            )
            session.add(row)
            session.flush()
            session.add_all(InvolvedPerson(case_id=row.id, username=name)
                            for name in dict.fromkeys(map(str, row.involved_staff)))
            if clean.get("customer_name") or clean.get("contact"):
                session.add(CustomerContact(case_id=row.id, name=clean.get("customer_name"),
                                            contact=clean.get("contact")))
            case = OpenCase(CaseRow.of(row), deployment, workflow, now)
            with self._work.spiff_step(now) as notices:
                for task in workflow.get_tasks(state=TaskState.READY):
                    task.data.update(masked)
                spiff.run_engine_steps(workflow)
            case.notices = notices
            self._work.save(session, case, actor=actor, kind="case_started",
                            payload={"process": process_id, "data": masked})
            return number

    def start_standing(self, actor: str = "system") -> list[str]:
        """Start one case of each ``startOnDeploy`` process that has none open; returns the new numbers.

        Such processes carry the schedules that belong to no complaint (the monthly ledger
        reminder, the statistics reports). A running one keeps its version when a newer one
        is deployed.
        """
        started = []
        for process_id in self._repository.active().standing_processes():
            with self._db.read() as session:
                running = session.scalar(
                    select(Case.id).where(Case.process_id == process_id, Case.status == "open").limit(1))
            if running is None:
                started.append(self.start(process_id, {"channel": "system"}, actor))
        return started

    def message(self, number: str, name: str, payload: dict, actor: str) -> None:
        """Deliver a message (e.g. the customer's reply) to a case waiting for it."""
        if not isinstance(payload, dict) or any(str(k).startswith("_") for k in payload):
            raise FormInvalid({"payload": "a message payload is an object whose keys do not start with '_'"})
        self._timers.fire_due_for_case(number=number)
        now = self._clock.now()
        with self._db.write() as session:
            row = lock_case(session, number=number)
            case = self._work.open(session, row, now)
            if name not in spiff.waiting_messages(case.workflow):
                raise MessageNotExpected(f"case {number} is not waiting for message {name!r} now")
            with self._work.spiff_step(now) as notices:
                spiff.deliver_message(case.workflow, name, payload)
            case.notices = notices
            self._work.save(session, case, actor=actor, kind="message_received",
                            payload={"name": name, "payload": payload})


def _next_number(session: Session, dialect: str, channel: str, now: datetime, zone) -> str:  # noqa: ANN001
    day = now.astimezone(zone).strftime("%Y%m%d")
    code = channel.upper()
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = (
        insert(ComplaintCounter)
        .values(day=day, channel=code, last=1)
        .on_conflict_do_update(index_elements=["day", "channel"], set_={"last": ComplaintCounter.last + 1})
    )
    session.execute(statement)
    serial = session.scalar(
        select(ComplaintCounter.last).where(ComplaintCounter.day == day, ComplaintCounter.channel == code)
    )
    return f"{day}-{code}-{serial:03d}"
