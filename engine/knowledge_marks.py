"""The marks the deployed files use for the knowledge base (``engine.knowledge``), apart so the deploy checks
read them without the knowledge base's engine (which needs the case machinery deploy itself is part of)."""

from __future__ import annotations

from enum import StrEnum

KNOWLEDGE_MARK = "x-knowledge"  # on a form field: which part of an entry it gives
KNOWN_ISSUES_MARK = "x-known-issues"  # on a form: its step shows the known issues of the case's product
EDIT_RIGHT, EDIT_VALUE = "knowledge", "edit"  # roles.toml: who corrects and retires entries


class Part(StrEnum):
    """The parts of an entry a form field may give."""

    PROBLEM = "problem"
    CAUSE = "cause"
    SOLUTION = "solution"


def marked_fields(schema: dict | None) -> dict[Part, list[str]]:
    """The form's fields per part (``x-knowledge``), in the form's order; empty when the form makes no entry."""
    found: dict[Part, list[str]] = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        mark = prop.get(KNOWLEDGE_MARK) if isinstance(prop, dict) else None
        if mark in set(Part):
            found.setdefault(Part(mark), []).append(name)
    return found


def shows_known_issues(schema: dict | None) -> bool:
    return (schema or {}).get(KNOWN_ISSUES_MARK) is True
