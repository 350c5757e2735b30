"""What people read for the codes the statistics count: the deployed forms' enum labels of the field
each column is copied from (found by its ``x-meaning``), the grades of ``labels.toml``, roles by name."""

from __future__ import annotations

from typing import Any

from flask import g

from engine.catalogue import Meaning, form_field
from engine.errors import NotFound
from engine.statistics import NONE, Dimension
from web.cases.display import deployed_label, role_label
from web.forms import enum_label, locale_key
from web.services import engine

MEANINGS = {Dimension.TYPE: Meaning.TYPE, Dimension.CHANNEL: Meaning.CHANNEL, Dimension.DEPARTMENT: Meaning.DEPARTMENT,
            Dimension.CUSTOMER_CLASS: Meaning.CUSTOMER_CLASS, Dimension.DEFECT_TYPE: Meaning.DEFECT_TYPE,
            Dimension.SATISFACTION_LEVEL: Meaning.SATISFACTION_LEVEL}


def label(table: str, code: str) -> str:
    """The words for ``code`` in ``table`` (a ``Dimension`` value or ``role``); the code when none are deployed."""
    if code in (NONE, "", None):
        return "—"
    active = _active()
    language = "zh" if locale_key().startswith("zh") else "en"
    if table == "role":
        entry = (active.roles.get(code) or {}) if active else {}
        return str(entry.get(language) or entry.get("en") or role_label(code))
    if table == Dimension.GRADE.value:
        return (active.catalogue.label("grades", code, language) if active else None) or deployed_label(
            "grades", code)
    try:
        meaning = MEANINGS.get(Dimension(table))
    except ValueError:
        return str(code)
    found = _field_of(meaning) if meaning is not None else None
    return enum_label(found[0], found[1], code, locale_key()) if found else str(code)


def _active() -> Any:
    """The active deployment, read once a request (a page labels hundreds of codes)."""
    if "statistics_active" not in g:
        try:
            g.statistics_active = engine().repository.active()
        except NotFound:
            g.statistics_active = None
    return g.statistics_active


def _field_of(meaning: Meaning) -> tuple[dict, str] | None:
    """The first deployed form with a field meaning ``meaning``, and that field (looked up once a request)."""
    cache = g.setdefault("statistics_fields", {})
    if meaning not in cache:
        active = _active()
        forms = active.forms if active else {}
        cache[meaning] = next(((schema, form_field(schema, meaning)) for schema in forms.values()
                               if form_field(schema, meaning)), None)
    return cache[meaning]


def options(dimension: Dimension) -> list[tuple[str, str]]:
    """(code, words) of a filter's choices, from the enum of the field the column is copied from."""
    meaning = MEANINGS.get(dimension)
    found = _field_of(meaning) if meaning is not None else None
    if found is None:
        return []
    schema, name = found
    codes = (schema.get("properties") or {}).get(name, {}).get("enum") or []
    return [(str(c), enum_label(schema, name, c, locale_key())) for c in codes if c is not None]
