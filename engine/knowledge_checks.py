"""Deploy checks of the knowledge base's marks: a process owner learns at deploy, naming the file and the
field, that ``x-knowledge`` names an unknown part, marks a field that is not text, that ``x-known-issues``
is not a flag, or that a role's ``knowledge`` right is not ``"edit"``, instead of entries going missing."""

from __future__ import annotations

from engine import roles
from engine.errors import Problem
from engine.knowledge_marks import EDIT_RIGHT, EDIT_VALUE, KNOWLEDGE_MARK, KNOWN_ISSUES_MARK, Part


def check(files: dict[str, str], forms: dict[str, dict]) -> list[Problem]:
    problems: list[Problem] = []
    for name, schema in sorted(forms.items()):
        problems += _form(f"forms/{name}", schema)
    for key, role in sorted(roles.of_files(files).items()):
        if EDIT_RIGHT in role and role[EDIT_RIGHT] != EDIT_VALUE:
            problems.append(Problem.of(roles.ROLES_FILE, key, "knowledge_right_invalid", value=role[EDIT_RIGHT]))
    return problems


def _form(file: str, schema: dict) -> list[Problem]:
    problems = []
    if KNOWN_ISSUES_MARK in schema and not isinstance(schema[KNOWN_ISSUES_MARK], bool):
        problems.append(Problem.of(file, KNOWN_ISSUES_MARK, "known_issues_mark_invalid"))
    for field, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or KNOWLEDGE_MARK not in prop:
            continue
        if prop[KNOWLEDGE_MARK] not in set(Part):
            problems.append(Problem.of(file, field, "knowledge_mark_unknown", value=prop[KNOWLEDGE_MARK],
                                       parts=", ".join(Part)))
        elif prop.get("type") != "string":
            problems.append(Problem.of(file, field, "knowledge_mark_not_text"))
    return problems
