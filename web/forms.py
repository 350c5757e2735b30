"""Forms from the process owners' JSON Schemas: fields to render, and posted text back to typed data.

One schema per user task (``workflows/forms/*.json``) with an ``x-ui`` block (order,
widgets, labels per locale). ``build`` turns a schema, the values typed so far and the
errors into ``FormView`` fields a template renders (``templates/_form.html``); ``parse``
turns a posted form into the JSON types the schema asks for (the engine then validates
it and answers per field). Nothing here knows a particular form: the handlers' task pages,
the intake and the customers' pages all use it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from engine.catalogue import bilingual_half
from engine.forms import NOT_AFTER

LIST_SEPARATORS = re.compile(r"[\r\n,，、;；]+")


@dataclass
class Field:
    """One input as a template renders it."""

    name: str
    label: str
    widget: str  # text | textarea | select | checkbox | radio | number | date | list | checklist
    required: bool
    value: Any = ""  # str for inputs, bool for a checkbox, list[str] for a checklist
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label) for select/checklist/radio
    error: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: str | None = None  # "1" for integers, "any" for numbers
    max_length: int | None = None
    replies: list[tuple[str, str]] = field(default_factory=list)  # (short label, text) to insert (x-replies)
    not_after_today: bool = False  # a date that may not lie in the future (x-not-after): the picker stops today

    @property
    def input_id(self) -> str:
        return f"field-{self.name}"


@dataclass
class FormView:
    title: str
    description: str | None
    fields: list[Field]
    form_errors: list[str]  # errors that belong to no single field (e.g. a conditional rule)
    decision: Field | None = None  # the x-decision field: Approve / Reject buttons instead of an input

    @property
    def has_errors(self) -> bool:
        return bool(self.form_errors) or any(f.error for f in self.fields)


# ------------------------------------------------------------------ labels for the current locale

def locale_key(locale: Any = None) -> str:
    """``zh_CN`` / ``Locale('zh', territory='CN', script='Hans')`` -> ``zh-CN`` (the keys of ``x-ui.labels``)."""
    chosen = locale or get_locale() or "zh_CN"
    language = getattr(chosen, "language", None)
    if language:
        territory = getattr(chosen, "territory", None)
        return f"{language}-{territory}" if territory else language
    parts = str(chosen).replace("-", "_").split("_")
    territory = next((p for p in parts[1:] if len(p) == 2 and p.isupper()), None)
    return f"{parts[0]}-{territory}" if territory else parts[0]


def _labels(schema: Mapping | None, locale: Any) -> dict:
    labels = ((schema or {}).get("x-ui") or {}).get("labels") or {}
    key = locale_key(locale)
    language = key.split("-")[0]
    found = labels.get(key) or labels.get(language)
    if not found:
        found = next((v for k, v in labels.items() if k.split("-")[0] == language), None)
    return found or {}


def form_title(schema: Mapping | None, locale: str | None = None, fallback: str = "") -> str:
    return _labels(schema, locale).get("title") or (schema or {}).get("title") or fallback


def field_label(schema: Mapping | None, name: str, locale: str | None = None) -> str:
    localized = (_labels(schema, locale).get("fields") or {}).get(name)
    if localized:
        return localized
    prop = ((schema or {}).get("properties") or {}).get(name) or {}
    return prop.get("title") or name


def enum_label(schema: Mapping | None, name: str, value: Any, locale: str | None = None) -> str:
    """The label of an enum value (``exchange`` -> 换货), or the value itself."""
    if value is None:
        return ""
    labels = ((_labels(schema, locale).get("enum") or {}).get(name)) or {}
    return str(labels.get(str(value), value))


def display_value(schema: Mapping | None, name: str, value: Any, locale: str | None = None) -> str:
    """A stored value as a person reads it: enum labels, yes/no, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, list | tuple):
        return "、".join(enum_label(schema, name, v, locale) for v in value) if value else "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return enum_label(schema, name, value, locale)


def bilingual(name: str | None, locale: str | None = None) -> str:
    """Pick one half of a diagram's ``中文 English`` name for the locale (the whole name if not split)."""
    return bilingual_half(name, "zh" if locale_key(locale).startswith("zh") else "en")


# ------------------------------------------------------------------ schema -> fields

def _types(prop: Mapping) -> list[str]:
    kind = prop.get("type", "string")
    return list(kind) if isinstance(kind, list) else [kind]


def _main_type(prop: Mapping) -> str:
    return next((t for t in _types(prop) if t != "null"), "string")


def _nullable(prop: Mapping) -> bool:
    return "null" in _types(prop)


def field_names(schema: Mapping, skip: Iterable[str] = ()) -> list[str]:
    """The properties in ``x-ui.order`` first, then any the order leaves out."""
    props = list((schema.get("properties") or {}).keys())
    order = [n for n in ((schema.get("x-ui") or {}).get("order") or []) if n in props]
    skipped = set(skip)
    return [n for n in order + [p for p in props if p not in order] if n not in skipped]


def decision_field(schema: Mapping | None) -> str | None:
    """The boolean field the form's Approve / Reject buttons set (``x-decision.field``), if any."""
    decision = (schema or {}).get("x-decision")
    return decision.get("field") if isinstance(decision, Mapping) else None


def decision_words(schema: Mapping, locale: Any = None) -> tuple[str, str]:
    """The two buttons' words: the form's own (``x-ui.labels.<locale>.decision``) or Approve / Reject."""
    words = _labels(schema, locale).get("decision") or {}
    return (str(words.get("true") or _l("Approve")), str(words.get("false") or _l("Reject")))


def _widget(schema: Mapping, name: str, prop: Mapping) -> str:
    chosen = ((schema.get("x-ui") or {}).get("widgets") or {}).get(name)
    kind = _main_type(prop)
    if kind == "boolean" and name == decision_field(schema):
        return "decision"
    if kind == "boolean":
        return "radio" if chosen == "radio" else "checkbox"
    if kind == "array":
        return "checklist" if (prop.get("items") or {}).get("enum") else "list"
    if "enum" in prop:
        return "select"
    if kind in ("integer", "number"):
        return "number"
    if prop.get("format") == "date":
        return "date"
    if chosen in ("textarea", "date", "email", "tel"):
        return chosen
    return "text"


def raw_values(schema: Mapping, data: Mapping | None) -> dict[str, Any]:
    """Typed data (a case's or defaults) as the strings a form shows."""
    raw: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        value = (data or {}).get(name, prop.get("default"))
        if value is None:
            continue
        kind = _main_type(prop)
        if kind == "boolean":
            raw[name] = "true" if value else ""
        elif kind == "array":
            raw[name] = [str(v) for v in value]
        else:
            raw[name] = str(value)
    return raw


def _get(raw: Any, name: str, many: bool = False) -> Any:
    if raw is None:
        return [] if many else ""
    if many:
        if hasattr(raw, "getlist"):
            return raw.getlist(name)
        value = raw.get(name, [])
        return list(value) if isinstance(value, list | tuple) else [value]
    value = raw.get(name, "")
    return value[0] if isinstance(value, list | tuple) and value else (value if value is not None else "")


def reply_choices(group: Any, replies: Mapping | None, locale: Any = None) -> list[tuple[str, str]]:
    """A field's reply templates (``x-replies``) in the person's language, each with a short label."""
    language = "zh" if locale_key(locale).startswith("zh") else "en"
    texts = [str(entry.get(language) or "") for entry in ((replies or {}).get(group) or {}).values()]
    return [(text if len(text) <= 36 else text[:36] + "…", text) for text in texts if text]


def build(schema: Mapping | None, raw: Any = None, errors: Mapping[str, str] | None = None,
          skip: Iterable[str] = (), locale: str | None = None, replies: Mapping | None = None) -> FormView:
    """The fields to render: labels for the locale, the values typed so far, each field's error.

    ``raw`` is what was posted (a ``MultiDict``) or ``raw_values(schema, data)``; with
    nothing, each field starts from its schema ``default``.
    """
    schema = schema or {"type": "object", "properties": {}}
    if raw is None:
        raw = raw_values(schema, None)
    errors = dict(errors or {})
    required = set(schema.get("required") or [])
    props = schema.get("properties") or {}
    fields = []
    for name in field_names(schema, skip):
        prop = props[name]
        widget = _widget(schema, name, prop)
        item = Field(name=name, label=field_label(schema, name, locale), widget=widget,
                     required=name in required and widget not in ("checkbox", "checklist"),
                     error=localize(errors.pop(name)) if name in errors else None)
        if widget == "checkbox":
            item.value = _truthy(_get(raw, name))
        elif widget in ("radio", "decision"):
            text = _get(raw, name)
            item.value = "true" if _truthy(text) else ("false" if str(text).strip().lower() == "false" else "")
            item.options = [("true", str(_l("yes"))), ("false", str(_l("no")))]
            if widget == "decision":
                approve, reject = decision_words(schema, locale)
                item.options = [("true", approve), ("false", reject)]
        elif widget == "checklist":
            item.value = [str(v) for v in _get(raw, name, many=True)]
            item.options = [(str(v), enum_label(schema, name, v, locale)) for v in prop["items"]["enum"]]
        elif widget == "list":
            item.value = "\n".join(str(v) for v in _get(raw, name, many=True) if str(v).strip())
        else:
            item.value = str(_get(raw, name))
        if widget == "select":
            item.options = [(str(v), enum_label(schema, name, v, locale)) for v in prop["enum"] if v is not None]
        if widget == "number":
            item.step = "1" if _main_type(prop) == "integer" else "any"
            item.minimum = prop.get("minimum")
            item.maximum = prop.get("maximum")
        item.max_length = prop.get("maxLength")
        item.not_after_today = prop.get(NOT_AFTER) == "today"
        if prop.get("x-replies") and widget in ("textarea", "text"):
            item.replies = reply_choices(prop["x-replies"], replies, locale)
        fields.append(item)
    decision = next((f for f in fields if f.widget == "decision"), None)
    description = (_labels(schema, locale).get("description") or schema.get("description")) or None
    return FormView(title=form_title(schema, locale), description=description,
                    fields=[f for f in fields if f is not decision],
                    form_errors=[localize(message) for message in errors.values()], decision=decision)


# ------------------------------------------------------------------ posted form -> typed data

def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "on", "1", "yes", "y")


def parse(schema: Mapping | None, posted: Any, skip: Iterable[str] = ()) -> tuple[dict, dict[str, str]]:
    """The posted strings as the schema's JSON types, and the fields that could not be converted.

    An empty optional input is left out (``null`` where the type allows it), so the
    engine's validation says "required" for a required one; a checkbox is ``True``/``False``.
    """
    schema = schema or {"type": "object", "properties": {}}
    props = schema.get("properties") or {}
    data: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name in field_names(schema, skip):
        prop = props[name]
        kind = _main_type(prop)
        widget = _widget(schema, name, prop)
        if widget == "checkbox":
            data[name] = _truthy(_get(posted, name))
            continue
        if kind == "array":
            values = _get(posted, name, many=True)
            if widget == "list":
                values = [part.strip() for v in values for part in LIST_SEPARATORS.split(str(v))]
            items = [str(v).strip() for v in values if str(v).strip()]
            if items or name in (schema.get("required") or []) or "default" in prop:
                data[name] = list(dict.fromkeys(items)) if prop.get("uniqueItems") else items
            continue
        text = str(_get(posted, name)).strip()
        if text == "":
            if _nullable(prop):
                data[name] = None
            continue
        if widget == "radio" or kind == "boolean":
            lowered = text.lower()
            if lowered in ("true", "false"):
                data[name] = lowered == "true"
            else:
                problems[name] = "choose yes or no"
        elif kind == "integer":
            try:
                data[name] = int(text)
            except ValueError:
                problems[name] = "enter a whole number"
        elif kind == "number":
            try:
                number = float(text)
            except ValueError:
                problems[name] = "enter a number"
            else:
                if number != number or number in (float("inf"), float("-inf")):
                    problems[name] = "enter a number"
                else:
                    data[name] = int(number) if number.is_integer() and re.fullmatch(r"[+-]?\d+", text) else number
        else:
            data[name] = text
    return data, problems


# ------------------------------------------------------------------ messages in the person's language

_MESSAGES: list[tuple[re.Pattern, Any]] = [
    (re.compile(r"^this field is required$"), _l("This field is required.")),
    (re.compile(r"should be non-empty$|is too short$"), _l("This field is required.")),
    (re.compile(r"is too long$"), _l("This is too long.")),
    (re.compile(r"^unknown field$"), _l("This field is not part of the form.")),
    (re.compile(r"is not a 'date'$"), _l("Enter a date (YYYY-MM-DD).")),
    (re.compile(r"is after today \((\S+)\)$"), _l("The date may not be later than today (%(limit)s).")),
    (re.compile(r"is not one of "), _l("Choose one of the options.")),
    (re.compile(r"is less than the minimum of (\S+)$"), _l("Enter at least %(limit)s.")),
    (re.compile(r"is greater than the maximum of (\S+)$"), _l("Enter at most %(limit)s.")),
    (re.compile(r"is not of type 'integer'|^enter a whole number$"), _l("Enter a whole number.")),
    (re.compile(r"is not of type 'number'|^enter a number$"), _l("Enter a number.")),
    (re.compile(r"^choose yes or no$"), _l("Choose yes or no.")),
    (re.compile(r"has non-unique elements$"), _l("Each entry may appear only once.")),
    (re.compile(r"^no member of staff is called (.+): name people by their username$"),
     _l("No member of staff is called %(limit)s: name people by their username (any case).")),
    (re.compile(r"is not valid under any of the given schemas|does not match any|should not be valid"),
     _l("This combination of answers is not complete: see the note above the form.")),
]


def localize(message: str) -> str:
    """An engine or JSON-Schema message in the person's language (unknown ones as they are)."""
    for pattern, text in _MESSAGES:
        found = pattern.search(str(message))
        if found:
            with contextlib.suppress(IndexError):
                return str(text) % {"limit": found.group(1)}
            return str(text)
    return str(message)



