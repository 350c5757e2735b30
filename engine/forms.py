"""Form validation with per-field messages, and the masking of contact data."""

from __future__ import annotations

import threading
from datetime import date, datetime, tzinfo
from typing import Any

import jsonschema

from engine.errors import FormInvalid

_FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
_CACHE_SIZE = 256
# Building a validator costs more than running it on a small form, and every completion validates:
# one validator per schema object (a deployment's forms live as long as the deployment is loaded).
_validators: dict[int, tuple[dict, jsonschema.Draft202012Validator]] = {}
_validators_lock = threading.Lock()


CONTACT_LAST4 = "contact_last4"  # the engine's key in a case summary for the last 4 digits of the contact

def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    """The schema's validator, built once; keyed by identity and checked, so a new dict never gets a stale one."""
    entry = _validators.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    validator = jsonschema.Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    with _validators_lock:
        if len(_validators) >= _CACHE_SIZE:
            _validators.clear()
        _validators[id(schema)] = (schema, validator)
    return validator


NOT_AFTER = "x-not-after"  # on a date field: the latest date it may hold ("today": the case's day)
NOT_AFTER_VALUES = ("today",)


def validate(schema: dict | None, data: Any, today: date | None = None) -> dict:
    """Return a clean copy of ``data`` or raise ``FormInvalid`` with one message per field.

    ``today`` is the day in the calendar's zone as the step's clock reads it: a date field marked
    ``"x-not-after": "today"`` (a purchase date, a visit made) may not be later. The engine's steps always
    give it, so a replay checks against the day the step ran; without it that keyword is not checked.
    """
    if not isinstance(data, dict):
        raise FormInvalid({"_form": "the submission must be an object of field values"})
    private = [key for key in data if str(key).startswith("_")]
    if private:
        raise FormInvalid({key: "field names may not start with '_'" for key in private})
    if schema is None:
        return dict(data)
    validator = _validator(schema)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
        for field, message in _field_messages(error, data):
            errors.setdefault(field, message)
    if today is not None:
        for field, message in _after_today(schema, data, today):
            errors.setdefault(field, message)
    if errors:
        raise FormInvalid(errors)
    return dict(data)


def rule_breaks(schema: dict, data: dict) -> set[tuple[str, str, str]]:
    """Every (rule, field, message) ``data`` breaks in ``schema``: the rule is where it sits in the schema
    (``then/required``, ``allOf/0/then/required``...), the field the one it finds wrong (``_form``: none).

    Corrections compare the set before and after a change: only what the change breaks is refused.
    """
    found: set[tuple[str, str, str]] = set()
    for error in _validator(schema).iter_errors(data):
        rule = "/".join(str(part) for part in error.schema_path)
        if error.validator == "dependentRequired" and not error.path:
            wanted = error.validator_value if isinstance(error.validator_value, dict) else {}
            for name, needs in wanted.items():
                if name in data:
                    found |= {(rule, str(need), "this field is required") for need in needs if need not in data}
            continue
        found |= {(rule, field, message) for field, message in _field_messages(error, data)}
    return found


def _after_today(schema: dict, data: dict, today: date) -> list[tuple[str, str]]:
    """The date fields marked ``x-not-after: today`` whose value lies after ``today``."""
    found = []
    for field, prop in (schema.get("properties") or {}).items():
        value = data.get(field)
        if not isinstance(prop, dict) or prop.get(NOT_AFTER) != "today" or not isinstance(value, str):
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            continue  # "format": "date" says what is wrong with it
        if day > today:
            found.append((field, f"is after today ({today.isoformat()})"))
    return found


def day_of(moment: datetime, zone: tzinfo) -> date:
    """The calendar day of ``moment`` in the deployed calendar's zone: what "today" means to a form."""
    return moment.astimezone(zone).date()


def _field_messages(error: jsonschema.ValidationError, data: dict) -> list[tuple[str, str]]:
    if error.validator == "required" and not error.path:
        missing = [name for name in error.validator_value if name not in data]
        return [(name, "this field is required") for name in missing]
    if error.validator == "additionalProperties" and not error.path:
        allowed = set(error.schema.get("properties", {}))
        return [(name, "unknown field") for name in data if name not in allowed]
    field = str(error.path[0]) if error.path else "_form"
    return [(field, error.message)]


def mask_name(name: str) -> str:
    """张三 -> 张*, John Smith -> J*********: enough to greet, not to identify."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def last4(contact: str) -> str:
    digits = "".join(ch for ch in str(contact or "") if ch.isdigit())
    return digits[-4:]
