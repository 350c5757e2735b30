"""What a deployment changed in the roles, in words: the deployments page's "roles changed" column.

The history keeps the settings as ``roles.toml`` wrote them (``fallback = "cs_supervisor"``, ``true``,
``sees = "all"``, a list of groups). An auditor reads role names from the deployed ``roles.toml`` of the
versions on either side of the change (a removed role keeps the name it had), yes and no, what a
setting's value allows, and lists joined: never a code where the files give a word for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from engine import roles
from web import i18n
from web.services import engine

# What each roles.toml setting allows, in words.
SETTINGS = {
    "sees": _l("sees"), "contact": _l("customer contact"), "register": _l("may register complaints"),
    "read_only": _l("read only"), "deploy": _l("may deploy"), "admin": _l("administers sessions"),
    "reassign": _l("may reassign"), "intervene": _l("may step in on cases"),
    "pending_ledger": _l("pending-matters ledger"), "fallback": _l("fallback role"), "zh": _l("Chinese name"),
    "en": _l("English name"), "demo": _l("demo user names"), "backup": _l("has a backup"),
    "knowledge": _l("knowledge base"), "statistics": _l("may open the statistics"),
    roles.GROUPS: _l("identity-provider groups"),
}
# The values a setting's documentation names (roles.toml's header), in words.
VALUES = {
    ("sees", "all"): _l("every case"), ("contact", "full"): _l("unmasked"),
    ("knowledge", "edit"): _l("may correct and retire entries"),
}
ROLE_VALUED = ("fallback",)  # settings whose value names a role


@dataclass(frozen=True)
class Line:
    """One change as the page shows it; ``role`` and ``setting`` stay codes for the page's data attributes."""

    role: str
    setting: str
    text: str


def setting_label(key: str) -> str:
    return str(SETTINGS.get(key, key))


def names(*versions: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Role code -> its name in the person's language, later versions winning."""
    language = i18n.current_language()
    found: dict[str, str] = {}
    for defined in versions:
        for code, role in defined.items():
            found[code] = str(role.get(language) or role.get("en") or found.get(code) or code)
    return found


def value_words(key: str, value: Any, role_names: dict[str, str]) -> str:  # noqa: ANN401
    """A setting's value as a person reads it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, list):
        return ", ".join(value_words(key, item, role_names) for item in value) or "—"
    if key in ROLE_VALUED:
        return role_names.get(str(value), str(value))
    return str(VALUES.get((key, value), value))


def _roles_of(version: Any) -> dict[str, dict[str, Any]]:  # noqa: ANN401
    if not isinstance(version, int):
        return {}
    try:
        return roles.of_files(engine().repository.files(version))
    except Exception:  # noqa: BLE001 - a version gone from the store: its codes are shown as they are
        return {}


def lines(payload: dict[str, Any]) -> list[Line]:
    """The changes one ``roles_changed`` event records, in words."""
    added = payload.get("added") or {}
    before = _roles_of(payload.get("from_version"))
    after = _roles_of(payload.get("version")) or (added if isinstance(added, dict) else {})
    known = names(before, after, added if isinstance(added, dict) else {})
    found = [Line(role, "", str(_l("added role %(role)s", role=known.get(role, role)))) for role in added]
    found += [Line(role, "", str(_l("removed role %(role)s", role=known.get(role, role))))
              for role in payload.get("removed") or []]
    for role, settings in (payload.get("changed") or {}).items():
        for key, (old, new) in settings.items():
            found.append(Line(role, key, f"{known.get(role, role)}: {setting_label(key)} "
                                         f"{value_words(key, old, known)} → {value_words(key, new, known)}"))
    return found
