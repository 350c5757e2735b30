"""The customer's intake form, drawn from the deployed ``register.json`` schema.

The process owner edits fields and their labels in the schema; this page follows without a
code change. Customers see only the fields marked ``"x-customer": true`` (never who is complained
about) and cannot pick the channel: a complaint filed here came through the web, written into the
field the form marks ``"x-meaning": "channel"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

CHANNEL = "web"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    widget: str  # text | textarea | select | date
    required: bool
    options: tuple[tuple[str, str], ...]  # (value, label) for a select
    value: str
    error: str | None


def labels(schema: dict, locale: str) -> dict:
    """The schema's ``x-ui`` labels for a Babel locale (``zh_CN`` → ``zh-CN``), English as fallback."""
    by_language = (schema.get("x-ui") or {}).get("labels") or {}
    return by_language.get(locale.replace("_", "-")) or by_language.get("en") or {}


def customer_fields(schema: dict) -> list[str]:
    """The text fields a customer fills in, in the owner's order."""
    properties = schema.get("properties", {})
    order = (schema.get("x-ui") or {}).get("order") or list(properties)
    return [name for name in order if name in properties and properties[name].get("x-customer") is True
            and properties[name].get("type") == "string"]


def fields(schema: dict, locale: str, values: Mapping[str, object], errors: Mapping[str, str]) -> list[Field]:
    ui, widgets = labels(schema, locale), (schema.get("x-ui") or {}).get("widgets") or {}
    required = set(schema.get("required", []))
    result = []
    for name in customer_fields(schema):
        spec = schema["properties"][name]
        enum_labels = (ui.get("enum") or {}).get(name) or {}
        options = tuple((str(v), enum_labels.get(v, str(v))) for v in spec.get("enum", []) if v is not None)
        widget = "select" if options else "date" if spec.get("format") == "date" else widgets.get(name, "text")
        result.append(Field(
            name=name, label=(ui.get("fields") or {}).get(name) or spec.get("title") or name, widget=widget,
            required=name in required, options=options, value=str(values.get(name) or ""),
            error=friendly(errors[name]) if name in errors else None,
        ))
    return result


def parse(schema: dict, form: Mapping[str, str], channel_field: str | None) -> dict:
    """Posted strings → registration data: trimmed, empty optional fields left out, channel fixed."""
    data: dict = {channel_field: CHANNEL} if channel_field else {}
    for name in customer_fields(schema):
        value = (form.get(name) or "").strip()
        if value:
            data[name] = value
    return data


def friendly(message: str) -> str:
    """The engine's validator speaks to developers; a customer gets a short sentence in their language."""
    if message == "this field is required":
        return _("Please fill in this field.")
    return _("Please check this value.")
