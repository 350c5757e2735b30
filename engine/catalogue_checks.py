"""Deploy checks of the catalogue's properties: a process owner learns at deploy, naming the file and
the element or field, when a property the web relies on is wrong, instead of a customer's link failing.

Checked: ``customerLinkDays`` (a whole number of days, 1 to 365), ``customerMayAnswer`` (on a user
task), ``customerAnswers`` and ``customerReplies`` (on a message catch event), ``intake`` and
``caseGrade`` / ``caseTier`` / ``caseOutcome`` (on a start event), ``pendingMatter`` / ``pendingReminder``
(on a user task, true or false), ``customerVerification`` (on a user task of the improvement process),
``x-meaning`` (a known meaning, once per form), ``x-customer`` (true or false), ``x-decision`` (a boolean
field, an optional text field for the reason and optional button words), ``x-show`` (a list of field
names), ``x-default-from`` (a case-data field name), a counted amount (``compensation-paid``: a number,
one field name in every form), ``x-knowledge`` / ``x-known-issues`` (``engine.knowledge_checks``),
``labels.toml`` (TOML with ``zh`` and ``en`` per code) and ``demo.json`` (JSON).
"""

from __future__ import annotations

import json
import re
import tomllib

from lxml import etree

from engine import improvement_checks, knowledge_checks, reply_templates
from engine.catalogue import (
    CASE_MEANINGS,
    CUSTOMER_VERIFICATION,
    DEFAULT_FROM,
    DEMO_FILE,
    FIELD_MEANINGS,
    LABELS_FILE,
    NUMBER_MEANINGS,
    PENDING_MATTER,
    PENDING_REMINDER,
)
from engine.errors import Problem

MAX_LINK_DAYS = 365
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_ON = {  # property -> the element kinds it belongs on
    "customerMayAnswer": ("userTask",),
    "customerAnswers": ("intermediateCatchEvent", "boundaryEvent", "startEvent", "receiveTask"),
    "customerReplies": ("intermediateCatchEvent", "boundaryEvent", "startEvent", "receiveTask"),
    "intake": ("startEvent",),
    **{name: ("startEvent",) for name in CASE_MEANINGS},
    PENDING_MATTER: ("userTask",),
    PENDING_REMINDER: ("userTask",),
}
_FLAGS = (PENDING_MATTER, PENDING_REMINDER)  # true or false, nothing else


def check(files: dict[str, str], forms: dict[str, dict]) -> list[Problem]:
    """Every problem with the catalogue's properties in a deployment's files (empty when fine)."""
    problems: list[Problem] = []
    for name, text in sorted(files.items()):
        if name.endswith(".bpmn"):
            problems += _diagram(name, text)
    for name, schema in sorted(forms.items()):
        problems += _form(f"forms/{name}", schema)
    problems += _same_field(forms)
    problems += _labels(files.get(LABELS_FILE))
    problems += reply_templates.check(files, forms)
    problems += knowledge_checks.check(files, forms)
    problems += improvement_checks.check(files)
    if DEMO_FILE in files:
        try:
            json.loads(files[DEMO_FILE])
        except ValueError as exc:
            problems.append(Problem.of(DEMO_FILE, None, "demo_invalid", line=getattr(exc, "lineno", "?")))
    return problems


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _diagram(file: str, text: str) -> list[Problem]:
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError:
        return []  # the BPMN checks report a file that is not XML
    problems = []
    for prop in root.iter(f"{{{SPIFF}}}property"):
        name, value = prop.get("name"), (prop.get("value") or "").strip()
        owner = next((a for a in prop.iterancestors() if _local(a) not in ("properties", "extensionElements")), None)
        if owner is None:
            continue
        kind, element = _local(owner), owner.get("id")
        if name in _FLAGS and kind not in _ON[name]:
            problems.append(Problem.of(file, element, "pending_property_not_user_task", property=name, kind=kind))
        elif name in _ON and kind not in _ON[name]:
            problems.append(Problem.of(file, element, "property_misplaced", property=name, kind=kind,
                                       allowed=", ".join(_ON[name])))
        elif name in _FLAGS and value not in ("true", "false"):
            problems.append(Problem.of(file, element, "pending_property_not_flag", property=name, value=value))
        elif name == "customerLinkDays" and not (value.isdigit() and 1 <= int(value) <= MAX_LINK_DAYS):
            problems.append(Problem.of(file, element, "link_days_invalid", value=value, most=MAX_LINK_DAYS))
        elif name in ("customerAnswers", "customerReplies") and not (re.fullmatch(r"[A-Za-z_]\w*", value) and
                                                 any(_local(c) == "messageEventDefinition" for c in owner)):
            problems.append(Problem.of(file, element, "customer_answers_invalid", property=name, value=value))
        elif name == CUSTOMER_VERIFICATION and not (kind == "userTask" and value in ("true", "false") and any(
                improvement_checks.serves_improvement(p) for p in owner.iterancestors(f"{{{BPMN}}}process"))):
            problems.append(Problem.of(file, element, "customer_verification_invalid"))
        elif name in CASE_MEANINGS and not re.fullmatch(r"[A-Za-z_]\w*", value):
            problems.append(Problem.of(file, element, "case_field_invalid", property=name, value=value))
    return problems


def _form(file: str, schema: dict) -> list[Problem]:
    problems, seen = [], {}
    for field, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        meaning = prop.get("x-meaning")
        if meaning is not None:
            if meaning not in FIELD_MEANINGS:
                problems.append(Problem.of(file, field, "meaning_unknown", value=meaning,
                                           meanings=", ".join(sorted(FIELD_MEANINGS))))
            elif meaning in seen:
                problems.append(Problem.of(file, field, "meaning_twice", value=meaning, other=seen[meaning]))
            else:
                seen[meaning] = field
            if meaning in NUMBER_MEANINGS and prop.get("type") not in ("number", "integer"):
                problems.append(Problem.of(file, field, "meaning_not_number", value=meaning,
                                           kind=str(prop.get("type"))))
        if DEFAULT_FROM in prop and not (isinstance(prop[DEFAULT_FROM], str) and
                                         re.fullmatch(r"[A-Za-z_]\w*", prop[DEFAULT_FROM])):
            problems.append(Problem.of(file, field, "default_from_invalid", value=str(prop[DEFAULT_FROM])))
        if "x-customer" in prop and not isinstance(prop["x-customer"], bool):
            problems.append(Problem.of(file, field, "customer_mark_invalid"))
    return problems + _decision(file, schema)


def _same_field(forms: dict[str, dict]) -> list[Problem]:
    """A counted amount (``compensation-paid``) is read from one field name: every form marking it must use it."""
    problems, first = [], {}
    for name, schema in sorted(forms.items()):
        for field, prop in (schema.get("properties") or {}).items():
            meaning = prop.get("x-meaning") if isinstance(prop, dict) else None
            if meaning not in NUMBER_MEANINGS:
                continue
            if meaning not in first:
                first[meaning] = (name, field)
            elif first[meaning][1] != field:
                problems.append(Problem.of(f"forms/{name}", field, "meaning_field_differs", value=meaning,
                                           field=first[meaning][1], other=f"forms/{first[meaning][0]}"))
    return problems


def _decision(file: str, schema: dict) -> list[Problem]:
    """``x-decision``: which boolean field the Approve / Reject buttons set and which text field holds the
    reason a rejection needs; ``x-show``: the case's fields shown above the form (e.g. the plan)."""
    problems = []
    props = schema.get("properties") or {}
    decision = schema.get("x-decision")
    if decision is not None:
        field = decision.get("field") if isinstance(decision, dict) else None
        reason = decision.get("reason") if isinstance(decision, dict) else None
        if not (isinstance(props.get(field), dict) and props[field].get("type") == "boolean"):
            problems.append(Problem.of(file, "x-decision", "decision_field_invalid", value=str(field)))
        if reason is not None and not (isinstance(props.get(reason), dict) and props[reason].get("type") == "string"):
            problems.append(Problem.of(file, "x-decision", "decision_reason_invalid", value=str(reason)))
    shown = schema.get("x-show")
    if shown is not None and not (isinstance(shown, list) and all(isinstance(n, str) and n for n in shown)):
        problems.append(Problem.of(file, "x-show", "show_invalid"))
    return problems


def _labels(text: str | None) -> list[Problem]:
    if text is None:
        return []
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        return [Problem.of(LABELS_FILE, None, "toml_invalid", line=found.group(1) if found else "?")]
    problems = []
    for section, codes in table.items():
        for code, entry in (codes.items() if isinstance(codes, dict) else []):
            if not (isinstance(entry, dict) and entry.get("zh") and entry.get("en")):
                problems.append(Problem.of(LABELS_FILE, f"{section}.{code}", "label_needs_words"))
    return problems
