"""What the web needs to know about the deployed process, read from the deployed files themselves.

The process owners name their elements, messages and fields as they like; the web never does.
It asks the active version's catalogue instead:

- the **intake process**: the process whose start event has the property ``intake = true``;
- the **steps a customer may answer** (``customerMayAnswer = true`` on a user task) and how many
  days a customer's link to one lasts (``customerLinkDays``);
- the **customer messages**: message catch events with ``customerAnswers = FIELD`` (the payload is
  ``{FIELD: true|false}``, the customer's yes or no) and ``customerLinkDays``;
- the **customer replies**: message catch events with ``customerReplies = FIELD``, answered from the
  portal's reply page (payload ``{FIELD: text, "attachments": [{"id", "filename"}, ...]}``, the
  photos the customer uploaded with it) and ``customerLinkDays``;
- what a **customer is shown** of a form: its fields marked ``"x-customer": true``; a field with
  ``"x-customer-value"`` is set to that value whenever a customer answers the form;
- the **meaning** of case-data fields: ``"x-meaning"`` on a form field of the intake form (one of
  ``Meaning``: ``customer-name``, ``customer-contact``, ``intake-channel``, ``involved-staff``,
  ``staff-named-by-customer``, ``product``, ``complaint-type``, ``case-description``, ``order-number``,
  ``customer-class``, ``defect-type``; ``involved-staff`` may also mark a field of any step's form,
  whose names are added to the people complained about) and the intake start
  event's ``caseGrade`` / ``caseTier`` / ``caseOutcome`` properties (fields set by scripts or
  decisions, which have no form);
- **pending matters** (seed 002's 未了事宜): the user tasks marked ``pendingMatter = true`` are the
  waits of open pending matters, those marked ``pendingReminder = true`` the monthly reminders; fields
  of any form marked ``"x-meaning"`` ``pending-reason``, ``next-action`` or ``expected-return`` give
  the ledger's columns (``engine.pending``);
- **labels** for codes the process writes (grades, outcomes, notification subjects):
  ``labels.toml``, ``[section.code] zh = ... en = ...`` (sections ``grades``, ``outcomes``,
  ``customer_outcomes``, ``notifications``, ``messages``, ``customer_waiting``);
- the **demo data**: ``demo.json``.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from engine import spiff

LABELS_FILE = "labels.toml"
DEMO_FILE = "demo.json"
FORM_PROPERTY = "formJsonSchemaFilename"
DEFAULT_LINK_DAYS = 7



class Meaning(StrEnum):
    """What a case-data field may mean to the engine and the web (``x-meaning`` and the start event's
    ``caseGrade`` / ``caseTier`` / ``caseOutcome``). Hyphenated, so they never pass for field names."""

    CUSTOMER_NAME = "customer-name"
    CONTACT = "customer-contact"
    CHANNEL = "intake-channel"
    INVOLVED_STAFF = "involved-staff"  # usernames; on the intake form and any step that may add people
    STAFF_NAMED = "staff-named-by-customer"  # the customer's own words for whom they complain about
    DEFECT_TYPE = "defect-type"  # a code from the process owner's defect list, counted by the statistics
    ORDER_NUMBER = "order-number"
    CUSTOMER_CLASS = "customer-class"
    PRODUCT = "product"
    TYPE = "complaint-type"
    DESCRIPTION = "case-description"
    GRADE = "case-grade"
    TIER = "escalation-tier"
    OUTCOME = "case-outcome"
    PENDING_REASON = "pending-reason"
    NEXT_ACTION = "next-action"
    EXPECTED_RETURN = "expected-return"
    IMPROVEMENT_SOURCE = "improvement-source"  # why an improvement item was opened (suggestion, recurrence, capa)
    # What the statistics count (engine/statistics.py), from any step's form: copied to indexed case columns.
    DEPARTMENT = "department-responsible"
    SATISFACTION = "satisfaction-score"  # an integer score
    SATISFACTION_LEVEL = "satisfaction-level"  # an enum whose options, in order, are the levels shown
    COMPENSATION = "compensation-amount"  # a plan's proposed amount: not counted (a plan may be rejected)
    COMPENSATION_PAID = "compensation-paid"  # on the form of the step that carries the plan out: what was paid


CASE_MEANINGS = {"caseGrade": Meaning.GRADE, "caseTier": Meaning.TIER, "caseOutcome": Meaning.OUTCOME}
# Read from any form (the ledger's columns, set along the way), not only from the intake form.
PENDING_MEANINGS = frozenset([Meaning.PENDING_REASON, Meaning.NEXT_ACTION, Meaning.EXPECTED_RETURN])
FIELD_MEANINGS = frozenset(Meaning) - set(CASE_MEANINGS.values())
# Read from any form too: the defect type is recorded at the root-cause analysis, not at the intake.
ANY_FORM_MEANINGS = PENDING_MEANINGS | {Meaning.DEFECT_TYPE}
IMPROVEMENT = "improvement"  # on a start event: ``true`` makes its process the one improvement items run
# Read from any form too: the counted facts of a case (the first form naming one decides its field).
FIGURE_MEANINGS = frozenset([Meaning.DEFECT_TYPE, Meaning.DEPARTMENT, Meaning.SATISFACTION,
                             Meaning.SATISFACTION_LEVEL, Meaning.COMPENSATION, Meaning.COMPENSATION_PAID])
# A figure counted as a number: a field marked so must be a number (deploy refuses another type).
NUMBER_MEANINGS = frozenset([Meaning.COMPENSATION_PAID])
# On a form field: it starts from the case's value of the field named there (the approved amount for the paid one).
DEFAULT_FROM = "x-default-from"
PENDING_MATTER = "pendingMatter"  # on a user task: while it is open, the case is a pending matter
PENDING_REMINDER = "pendingReminder"  # on a user task: a pending matter's reminder (the ledger's "last reminder")
REVIEW_REPORT = "reviewReport"  # on a user task: it opens on the latest stored report of that period (week | month)
# On a user task of the improvement process: the step verifying the item with its customers; it shows their
# answers, and its ``customerLinkDays`` is how long their links last (a notice whose template says
# ``link = "verify"`` sends each linked complaint's customer one).
CUSTOMER_VERIFICATION = "customerVerification"


@dataclass(frozen=True)
class CustomerStep:
    """A user task a customer may answer through a signed link, with the task's own form."""

    element: str
    title: str
    form: str | None
    link_days: int


@dataclass(frozen=True)
class CustomerMessage:
    """A message a customer answers yes or no through a signed link: ``{answer_field: bool}``."""

    name: str
    element: str
    title: str
    answer_field: str
    link_days: int


@dataclass(frozen=True)
class CustomerReply:
    """A message a customer answers with text and photos from the reply page: ``{text_field: text, ...}``."""

    name: str
    element: str
    title: str
    text_field: str
    link_days: int


REPLY_ATTACHMENTS = "attachments"  # the reply payload's list of the photos uploaded with it


@dataclass(frozen=True)
class Catalogue:
    """The process facts of one deployed version (see the module docstring for where each comes from)."""

    intake_process: str | None
    customer_steps: dict[str, CustomerStep]
    customer_messages: dict[str, CustomerMessage]
    message_titles: dict[str, str]
    meanings: dict[str, str]
    forms: dict[str, dict] = field(repr=False)
    step_forms: dict[str, str] = field(repr=False)
    labels: dict[str, dict[str, dict[str, str]]] = field(repr=False)
    demo: dict[str, Any] = field(repr=False)
    customer_replies: dict[str, CustomerReply] = field(default_factory=dict)
    pending_steps: frozenset[str] = frozenset()  # element ids marked pendingMatter = true
    reminder_steps: frozenset[str] = frozenset()  # element ids marked pendingReminder = true
    improvement_process: str | None = None  # the process whose start event has ``improvement = true``
    review_steps: dict[str, str] = field(default_factory=dict)  # element id -> reviewReport (week | month)
    verification_steps: dict[str, CustomerStep] = field(default_factory=dict)  # customerVerification = true

    def link_days(self, purpose: str, waiting: Any = (), open_steps: Any = ()) -> int:
        """How long a customer's link of ``purpose`` works: the ``customerLinkDays`` of the message the case
        waits for (confirm, reply) or of its open step (survey); the shortest of them all when none is."""
        pool: dict[str, Any] = {"confirm": self.customer_messages, "reply": self.customer_replies,
                                "survey": self.customer_steps, "verify": self.verification_steps}.get(purpose, {})
        keys = open_steps if purpose in ("survey", "verify") else waiting
        found = [pool[key] for key in keys if key in pool] or list(pool.values())
        return min((f.link_days for f in found), default=DEFAULT_LINK_DAYS)

    def field(self, meaning: Meaning) -> str | None:
        """The case-data field that means ``meaning`` (e.g. ``grade``) in this version, or None."""
        return self.meanings.get(meaning)

    def value(self, data: dict, meaning: Meaning) -> Any:
        """The value of the field meaning ``meaning`` in ``data`` (None when the version has no such field)."""
        name = self.meanings.get(meaning)
        return data.get(name) if name else None

    def customer_form(self, form_name: str | None) -> dict | None:
        """The form reduced to the fields a customer sees (``x-customer``), or None when it shows none."""
        schema = self.forms.get(form_name) if form_name else None
        if not schema:
            return None
        return customer_view(schema)

    def shown_to_customer(self, element: str) -> dict | None:
        """The customer's view of the form of step ``element`` (None when nothing of it is for customers)."""
        return self.customer_form(self.step_forms.get(element))

    def label(self, section: str, code: Any, language: str) -> str | None:
        """The process owner's word for ``code`` in ``section`` of ``labels.toml`` (``zh`` or ``en``)."""
        entry = self.labels.get(section, {}).get(str(code))
        if not entry:
            return None
        return entry.get(language) or entry.get("en") or entry.get("zh")


def bilingual_half(name: str | None, language: str) -> str:
    """One half of a diagram's ``中文 English`` name (``zh`` or ``en``); the whole name when it is not split so."""
    text = (name or "").strip()
    for index, ch in enumerate(text):
        if ch.isascii() and ch.isalpha() and index and text[index - 1] == " ":
            head = text[:index].strip()
            if any(not c.isascii() for c in head):
                return head if language == "zh" else text[index:].strip()
            break
    return text


def form_field(schema: dict | None, meaning: Meaning) -> str | None:
    """The field of ``schema`` marked ``"x-meaning": meaning`` (any form, not only the intake's), or None."""
    props = (schema or {}).get("properties") or {}
    return next((name for name, prop in props.items()
                 if isinstance(prop, dict) and prop.get("x-meaning") == meaning), None)


def customer_constants(schema: dict | None) -> dict[str, Any]:
    """The values a customer's answer to the form always carries (``x-customer-value``, e.g. reached)."""
    props = (schema or {}).get("properties") or {}
    return {name: prop["x-customer-value"] for name, prop in props.items()
            if isinstance(prop, dict) and "x-customer-value" in prop}


def customer_view(schema: dict) -> dict | None:
    """``schema`` with only its ``x-customer`` fields (order, required and labels kept for them)."""
    props = schema.get("properties") or {}
    shown = [name for name, prop in props.items() if isinstance(prop, dict) and prop.get("x-customer") is True]
    if not shown:
        return None
    ui = dict(schema.get("x-ui") or {})
    ui["order"] = [name for name in ui.get("order") or shown if name in shown]
    return {**{k: v for k, v in schema.items() if k not in ("properties", "required", "if", "then", "else",
                                                             "anyOf", "allOf", "oneOf", "x-ui")},
            "properties": {name: props[name] for name in shown},
            "required": [name for name in schema.get("required") or [] if name in shown], "x-ui": ui}


def build(specs: dict[str, tuple[Any, dict[str, Any]]], forms: dict[str, dict], files: dict[str, str]) -> Catalogue:
    """The catalogue of a deployment from its parsed specs, its forms and its other files."""
    all_specs = [s for spec, subs in specs.values() for s in (spec, *subs.values())]
    intake, improvement, meanings = None, None, {}
    other_start_forms = set()  # what starts other processes (an improvement item) is not what a complaint recorded
    for process_id in sorted(specs):
        props = _start_properties(specs[process_id][0])
        if props.get(IMPROVEMENT) == "true" and improvement is None:
            improvement = process_id
        if props.get("intake") != "true" and props.get(FORM_PROPERTY):
            other_start_forms.add(props[FORM_PROPERTY])
        if props.get("intake") == "true" and intake is None:
            intake = process_id
            meanings.update({meaning: props[key] for key, meaning in CASE_MEANINGS.items() if props.get(key)})
            meanings.update(_field_meanings(forms.get(props.get(FORM_PROPERTY) or "") or {}))
    for form_name in sorted(set(forms) - other_start_forms):
        for meaning, name in _field_meanings(forms[form_name]).items():
            if meaning in ANY_FORM_MEANINGS or meaning in FIGURE_MEANINGS:
                meanings.setdefault(meaning, name)
    steps, step_forms = {}, {}
    pending, reminders, reviews, verifying = set(), set(), {}, {}
    for spec in all_specs:
        for task_spec in spec.task_specs.values():
            props = _properties(task_spec)
            if spiff.is_inbox_task(task_spec) and task_spec.bpmn_id:
                if props.get(PENDING_MATTER) == "true":
                    pending.add(task_spec.bpmn_id)
                if props.get(PENDING_REMINDER) == "true":
                    reminders.add(task_spec.bpmn_id)
                if props.get(REVIEW_REPORT):
                    reviews[task_spec.bpmn_id] = props[REVIEW_REPORT]
                if props.get(CUSTOMER_VERIFICATION) == "true":
                    verifying[task_spec.bpmn_id] = CustomerStep(
                        task_spec.bpmn_id, task_spec.bpmn_name or task_spec.bpmn_id, props.get(FORM_PROPERTY),
                        _days(props.get("customerLinkDays")))
            if props.get(FORM_PROPERTY) and task_spec.bpmn_id:
                step_forms.setdefault(task_spec.bpmn_id, props[FORM_PROPERTY])
            if spiff.is_inbox_task(task_spec) and props.get("customerMayAnswer") == "true":
                steps.setdefault(task_spec.bpmn_id, CustomerStep(
                    task_spec.bpmn_id, task_spec.bpmn_name or task_spec.bpmn_id, props.get(FORM_PROPERTY),
                    _days(props.get("customerLinkDays"))))
    messages, titles, replies = {}, {}, {}
    for name, element in _message_catchers(all_specs):
        titles.setdefault(name, element.bpmn_name or name)
        props = _properties(element)
        if props.get("customerAnswers"):
            messages.setdefault(name, CustomerMessage(name, element.bpmn_id, element.bpmn_name or name,
                                                      props["customerAnswers"], _days(props.get("customerLinkDays"))))
        if props.get("customerReplies"):
            replies.setdefault(name, CustomerReply(name, element.bpmn_id, element.bpmn_name or name,
                                                   props["customerReplies"], _days(props.get("customerLinkDays"))))
    return Catalogue(intake, steps, messages, titles, meanings, forms, step_forms,
                     toml_sections(files.get(LABELS_FILE)), _demo(files.get(DEMO_FILE)), replies,
                     frozenset(pending), frozenset(reminders), improvement, reviews, verifying)


def _properties(task_spec: Any) -> dict[str, str]:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}


def _start_properties(spec: Any) -> dict[str, str]:
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent) and _properties(task_spec):
            return _properties(task_spec)
    return {}


def _field_meanings(schema: dict) -> dict[str, str]:
    props = schema.get("properties") or {}
    return {prop["x-meaning"]: name for name, prop in props.items()
            if isinstance(prop, dict) and prop.get("x-meaning") in FIELD_MEANINGS}


def _message_catchers(specs: list[Any]) -> list[tuple[str, Any]]:
    """(message name, catching element) of every message catch in ``specs``.

    An event-based gateway holds the definitions of the catch events after it (SpiffWorkflow
    moves them there), so those are paired with the catch event they came from.
    """
    found = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, EventBasedGateway):
                pairs = zip(task_spec.event_definition.event_definitions, task_spec.outputs, strict=False)
            elif isinstance(task_spec, CatchingEvent):
                pairs = [(task_spec.event_definition, task_spec)]
            else:
                continue
            found += [(d.name, element) for d, element in pairs if isinstance(d, MessageEventDefinition) and d.name]
    return found


def _days(text: str | None) -> int:
    try:
        return max(1, int(text)) if text else DEFAULT_LINK_DAYS
    except ValueError:
        return DEFAULT_LINK_DAYS


def toml_sections(text: str | None) -> dict[str, dict[str, dict[str, str]]]:
    """``[section.code]`` tables of a TOML file (labels, reply templates); empty for none or a broken one
    (deploy refuses a broken file)."""
    if not text:
        return {}
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    return {section: {str(code): dict(entry) for code, entry in codes.items() if isinstance(entry, dict)}
            for section, codes in table.items() if isinstance(codes, dict)}


def _demo(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
