"""Start cases and deliver customers' messages (≈ Camunda's RuntimeService)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import deadline_rollup, forms, involved, lockstep, spiff
from engine.casework import CaseRow, CaseWork, OpenCase, lock_case
from engine.catalogue import Catalogue, Meaning
from engine.clock import Clock
from engine.errors import FormInvalid, IdempotencyKeyReused, MessageNotExpected, WorkflowFailure
from engine.repository import Repository
from engine.store.db import Database
from engine.store.enums import EventKind
from engine.store.models import Case, ComplaintCounter, CustomerContact, InvolvedPerson, RegistrationKey
from engine.store.prepared import PreparedValue

DEFAULT_CHANNEL, STANDING_CHANNEL = "other", "system"


def mask_registration(data: dict, catalogue: Catalogue) -> dict:
    """What the case keeps of the customer: a masked name and the contact's last 4 digits.

    Which fields are the name and the contact, the intake form says (``x-meaning``).
    """
    masked = dict(data)
    name, contact = catalogue.field(Meaning.CUSTOMER_NAME), catalogue.field(Meaning.CONTACT)
    if name and name in masked:
        masked[name] = forms.mask_name(masked[name])
    if contact and contact in masked:
        masked[forms.CONTACT_LAST4] = forms.last4(masked.pop(contact))
    return masked


@dataclass(frozen=True)
class Started:
    """A registration's case; ``replayed`` when an earlier request with the same key had made it."""

    number: str
    replayed: bool = False


class Runtime:
    def __init__(self, db: Database, clock: Clock, repository: Repository, work: CaseWork, timers) -> None:  # noqa: ANN001
        self._db, self._clock, self._repository, self._work, self._timers = db, clock, repository, work, timers

    def start(self, process_id: str, data: dict, actor: str, channel: str | None = None) -> str:
        """Register a case on the newest version; returns its number ``YYYYMMDD-<CHANNEL>-<NNN>``.

        The channel is the intake form's channel field (``x-meaning``) unless ``channel`` is given.
        """
        return self._start(process_id, data, actor, None, channel).number

    def start_once(self, process_id: str, data: dict, actor: str, key: str, locale: str | None = None) -> Started:
        """``start`` under the caller's idempotency key: a retry gets the case the key made, never a second one.

        The key (per ``actor``) and a hash of ``data`` are written in the registration's own
        transaction. The same key with other data is refused (``IdempotencyKeyReused``); a
        duplicate racing the first waits for it and answers with its case. ``locale`` is the language the
        customer filed in (the public form's): their notices are written in it.
        """
        if not key or len(key) > 255:
            raise FormInvalid({"idempotency_key": "an idempotency key is 1 to 255 characters"})
        request_hash = _request_hash(process_id, data)
        earlier = self._earlier(actor, key, request_hash)
        if earlier is not None:
            return earlier
        try:
            return self._start(process_id, data, actor, (key, request_hash), locale=locale)
        except IntegrityError:
            # A duplicate committed first (PostgreSQL made this insert wait for it): answer with its case.
            earlier = self._earlier(actor, key, request_hash)
            if earlier is None:
                raise
            return earlier

    def _earlier(self, actor: str, key: str, request_hash: str) -> Started | None:
        """The case an earlier request with this key made, or None; refuses a key reused for other data."""
        with self._db.read() as session:
            found = session.execute(
                select(RegistrationKey.request_hash, Case.number)
                .outerjoin(Case, Case.id == RegistrationKey.case_id)
                .where(RegistrationKey.caller == actor, RegistrationKey.key == key)
            ).first()
        if found is None:
            return None
        if found.request_hash != request_hash:
            raise IdempotencyKeyReused(key, found.number)
        return Started(found.number, replayed=True)

    def start_within(self, session: Session, process_id: str, data: dict, actor: str, channel: str) -> str:
        """``start`` inside the caller's transaction: a step that opens another case (an improvement item)
        commits or fails with it."""
        return self._start(process_id, data, actor, None, channel, within=session).number

    def _start(self, process_id: str, data: dict, actor: str, key: tuple[str, str] | None,
               channel: str | None = None, locale: str | None = None, within: Session | None = None) -> Started:
        deployment = self._repository.active()
        clean = forms.validate(deployment.start_form(process_id), data,
                               today=forms.day_of(self._clock.now(), deployment.calendar.zone))
        facts = deployment.catalogue
        channel = channel or str(facts.value(clean, Meaning.CHANNEL) or DEFAULT_CHANNEL)
        if not channel.isidentifier():
            raise FormInvalid({facts.field(Meaning.CHANNEL) or Meaning.CHANNEL.value:
                               "a channel is a single word such as phone or web"})
        staff_field = facts.field(Meaning.INVOLVED_STAFF)
        if staff_field and clean.get(staff_field):  # real staff, whatever the case of the letters typed
            with self._db.read() as session:
                clean[staff_field] = involved.resolve(session.connection(), staff_field, clean[staff_field])
        masked = mask_registration(clean, facts)
        if staff_field:
            masked.setdefault(staff_field, [])
        involved_staff = list(facts.value(masked, Meaning.INVOLVED_STAFF) or [])
        now = self._clock.now()
        # The diagram runs before the transaction, with a stand-in for the number: a failing diagram burns
        # none. The number is taken as late as the transaction allows (``save``'s ``numbering``), since the
        # daily counter's row stays locked until the commit and every registration of the day needs it; a
        # diagram that derived something from the number runs again with the real one, the number first.
        stand_in = f"pending-{uuid.uuid4().hex}"
        workflow, notices = self._run_start(deployment, process_id, {**masked, "case_number": stand_in}, now)
        late = not _derives_from(workflow, notices, stand_in)
        zone = deployment.calendar.zone
        with contextlib.nullcontext(within) if within is not None else self._db.write() as session:
            if key is not None:
                session.add(RegistrationKey(caller=actor, key=key[0], request_hash=key[1], created_at=now))
                session.flush()  # a racing duplicate's insert waits here (PostgreSQL) or was serialised (SQLite)
            if late:
                masked["case_number"] = stand_in
            else:
                masked["case_number"] = _next_number(session.connection(), channel, now, zone)
                workflow, notices = self._run_start(deployment, process_id, masked, now)
            row = Case(
                number=masked["case_number"], process_id=process_id, deployment_id=deployment.id, version=0,
                status="open", channel=channel, complaint_type=facts.value(clean, Meaning.TYPE),
                product_name=facts.value(clean, Meaning.PRODUCT), involved_staff=involved_staff, summary=masked,
                contact_key=deadline_rollup.contact_key(facts.value(clean, Meaning.CONTACT)),
                state="{}", created_by=actor, created_at=now, updated_at=now, escalation_tier=0,
            )
            session.add(row)
            session.flush()
            if key is not None:
                session.execute(update(RegistrationKey).where(
                    RegistrationKey.caller == actor, RegistrationKey.key == key[0]).values(case_id=row.id))
            session.add_all(InvolvedPerson(case_id=row.id, username=name)
                            for name in dict.fromkeys(map(str, row.involved_staff)))
            name, contact = facts.value(clean, Meaning.CUSTOMER_NAME), facts.value(clean, Meaning.CONTACT)
            if name or contact:
                session.add(CustomerContact(case_id=row.id, name=name, contact=contact,
                                            locale=(locale or "")[:10] or None))
            session.flush()
            case = OpenCase(CaseRow.of(row), deployment, workflow, now)
            case.row.head = None  # a new case's history stream has no event yet: nothing to read
            case.notices = notices

            def numbering(conn: Connection) -> dict[str, Any]:
                number = _next_number(conn, channel, now, zone)
                masked["case_number"] = case.row.number = number
                _put_number(workflow, stand_in, number)
                return {"number": number, "summary": masked}

            self._work.save(session, case, actor=actor, kind=EventKind.CASE_STARTED,
                            payload={"process": process_id, "data": masked}, numbering=numbering if late else None)
            return Started(case.row.number, replayed=False)

    def _run_start(self, deployment, process_id: str, data: dict, now: datetime) -> tuple[BpmnWorkflow, list]:  # noqa: ANN001
        """A new workflow run from its start event with the registration's data, up to its first wait."""
        spec, subs = deployment.specs(process_id)
        workflow = BpmnWorkflow(spec, subs, script_engine=deployment.script_engine)
        with self._work.spiff_step(now, now) as notices:
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(data)
            spiff.run_engine_steps(workflow)
        return workflow, list(notices)

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
                started.append(self.start(process_id, {}, actor, channel=STANDING_CHANNEL))
        return started

    def message(self, number: str, name: str, payload: dict, actor: str,
                within: Callable[[Session, CaseRow, datetime], dict] | None = None) -> None:
        """Deliver a message (e.g. the customer's reply) to a case waiting for it.

        ``within(session, case_row, now)`` runs in the delivery's own transaction once the case is held
        and known to wait for the message (spend a link, record attachments); what it returns is added
        to the payload. It may run again if a deadline falls due meanwhile (the first try rolled back).
        """
        if not isinstance(payload, dict) or any(str(k).startswith("_") for k in payload):
            raise FormInvalid({"payload": "a message payload is an object whose keys do not start with '_'"})
        try:
            lockstep.after_due_timers(lambda: self._timers.fire_due_for_case(number=number),
                                      lambda: self._deliver(number, name, payload, actor, within))
        except WorkflowFailure as failure:  # the diagram failed on it: rolled back, kept on the case's history
            self._work.record_incident(self._db, actor, failure, number=number)
            raise

    def _deliver(self, number: str, name: str, payload: dict, actor: str,
                 within: Callable[[Session, CaseRow, datetime], dict] | None = None) -> None:
        with self._db.write() as session:
            row = lock_case(session, number=number)
            now = self._clock.now()  # once the case is held: a deadline passed while waiting fires first
            lockstep.raise_if_timers_due(session, row.id, now)
            case = self._work.open(session, row, now)
            if name not in spiff.waiting_messages(case.workflow):
                raise MessageNotExpected(f"case {number} is not waiting for message {name!r} now", number, name)
            if within is not None:
                payload = {**payload, **within(session, row, now)}
            with self._work.spiff_step(now, row.created_at) as notices:
                spiff.deliver_message(case.workflow, name, payload)
            case.notices = notices
            self._work.save(session, case, actor=actor, kind=EventKind.MESSAGE_RECEIVED,
                            payload={"name": name, "payload": payload})


def _next_serial(insert):  # noqa: ANN001, ANN202
    counter = ComplaintCounter.__table__
    statement = insert(counter).values(day=bindparam("day"), channel=bindparam("channel"), last=1)
    return PreparedValue(statement.on_conflict_do_update(
        index_elements=[counter.c.day, counter.c.channel], set_={"last": counter.c.last + 1}).returning(counter.c.last))


# One round trip: count up the day's counter (creating it) and read the serial it gave.
NEXT_SERIAL = {"sqlite": _next_serial(sqlite.insert), "postgresql": _next_serial(postgresql.insert)}


def _next_number(conn: Connection, channel: str, now: datetime, zone) -> str:  # noqa: ANN001
    """The day's next number for the channel, in one statement; its counter row stays locked to the commit."""
    day = now.astimezone(zone).strftime("%Y%m%d")
    code = channel.upper()
    serial = NEXT_SERIAL[conn.dialect.name].run(conn, {"day": day, "channel": code})
    return f"{day}-{code}-{serial:03d}"


def _request_hash(process_id: str, data: dict) -> str:
    """A stable digest of what was asked (key order and spacing do not matter)."""
    text = json.dumps([process_id, data], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _derives_from(workflow: BpmnWorkflow, notices: list, stand_in: str) -> bool:
    """Whether the start run used the number otherwise than as the ``case_number`` it was given."""
    for task in workflow.get_tasks():
        if stand_in in repr({k: v for k, v in task.data.items() if not (k == "case_number" and v == stand_in)}):
            return True
    data = {k: v for k, v in workflow.data.items() if not (k == "case_number" and v == stand_in)}
    return stand_in in repr(data) or any(stand_in in repr(n) for n in notices)


def _put_number(workflow: BpmnWorkflow, stand_in: str, number: str) -> None:
    """The real number where the data carries the stand-in (``_derives_from`` said it is nowhere else)."""
    for task in workflow.get_tasks():
        if task.data.get("case_number") == stand_in:
            task.data["case_number"] = number
    if workflow.data.get("case_number") == stand_in:
        workflow.data["case_number"] = number
