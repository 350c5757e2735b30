"""The roles of a deployed version: ``roles.toml`` as deployed, never the copy on the server's disk.

Who may see every case, read full contact details, register, deploy or only look is part of the
process owners' files. Reading it from the active deployed version means a change of rights is
a new version with an author, a note and a ``roles_changed`` history event; a file edited on the
server's disk grants nothing.
"""

from __future__ import annotations

import tomllib
from typing import Any

ROLES_FILE = "roles.toml"


def parse(text: str | None) -> dict[str, dict[str, Any]]:
    """The ``[roles.*]`` tables of a roles file (empty for none or an unreadable one: deploy refuses those)."""
    if not text:
        return {}
    try:
        found = tomllib.loads(text).get("roles", {})
    except tomllib.TOMLDecodeError:
        return {}
    return {key: dict(value) for key, value in found.items() if isinstance(value, dict)}


def of_files(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The roles of a deployment's files."""
    return parse(files.get(ROLES_FILE))


def changes(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """What a new version changes in the roles, for the history; None when nothing does.

    ``changed`` lists, per role present in both, each setting with its old and new value
    (``None`` for a setting that was absent), so an auditor reads who gained or lost which right.
    """
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed: dict[str, dict[str, list[Any]]] = {}
    for role in sorted(set(before) & set(after)):
        old, new = before[role], after[role]
        settings = {key: [old.get(key), new.get(key)] for key in sorted(set(old) | set(new))
                    if old.get(key) != new.get(key)}
        if settings:
            changed[role] = settings
    if not (added or removed or changed):
        return None
    return {"added": {role: after[role] for role in added}, "removed": removed, "changed": changed}


GROUPS = "groups"  # a role's setting: the identity provider's groups whose members hold the role
GROUPS_MAX, GROUP_NAME_MAX = 100, 200


def groups_problem(value: Any) -> bool:
    """True when a role's ``groups`` is not a list of 1 to 100 non-empty names of at most 200 characters."""
    return not (isinstance(value, list) and 0 < len(value) <= GROUPS_MAX
                and all(isinstance(name, str) and name.strip() and len(name) <= GROUP_NAME_MAX for name in value))


def for_groups(roles: dict[str, dict[str, Any]], groups: set[str]) -> set[str]:
    """The roles whose ``groups`` name one of ``groups`` (a malformed setting grants nothing)."""
    return {role for role, info in roles.items()
            if not groups_problem(info.get(GROUPS)) and groups & set(info[GROUPS])}
