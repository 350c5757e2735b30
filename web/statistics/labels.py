"""What people read for the codes the statistics count: the deployed forms' enum labels of the field
each column is copied from (found by its ``x-meaning``), the grades of ``labels.toml``, roles by name."""

from __future__ import annotations

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
    if table == "role":
        return role_label(code)
    if table == Dimension.GRADE.value:
        return deployed_label("grades", code)
    try:
        meaning = MEANINGS.get(Dimension(table))
    except ValueError:
        return str(code)
    if meaning is None:
        return str(code)
    try:
        forms = engine().repository.active().forms
    except NotFound:
        return str(code)
    for schema in forms.values():
        name = form_field(schema, meaning)
        if name:
            return enum_label(schema, name, code, locale_key())
    return str(code)


def options(dimension: Dimension) -> list[tuple[str, str]]:
    """(code, words) of a filter's choices, from the enum of the field the column is copied from."""
    meaning = MEANINGS.get(dimension)
    try:
        forms = engine().repository.active().forms
    except NotFound:
        return []
    for schema in forms.values() if meaning else ():
        name = form_field(schema, meaning)
        if name:
            codes = (schema.get("properties") or {}).get(name, {}).get("enum") or []
            return [(str(c), enum_label(schema, name, c, locale_key())) for c in codes if c is not None]
    return []
