"""How case facts read on the handlers' pages: labels in the person's language, local times.

The engine speaks in codes. Its own (statuses, event kinds) are translated here; the codes the
process writes (grades, outcomes, notification subjects) get the words of the deployed
``labels.toml``, roles those of ``roles.toml``, messages the name of the element that catches them.
Codes nobody labelled are shown as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g
from flask_babel import lazy_gettext as _l

from engine.errors import NotFound
from engine.store.enums import CaseStatus
from web.forms import bilingual, display_value, enum_label, field_label, form_title, locale_key
from web.services import engine

CASE_STATUS = {CaseStatus.OPEN: _l("In progress"), CaseStatus.SUSPENDED: _l("Suspended"),
               CaseStatus.ARCHIVED: _l("Archived")}
# A deadline's timer: fired = the step was late; cancelled = the step finished before it.
DEADLINE_STATUS = {"pending": _l("pending"), "fired": _l("missed"), "cancelled": _l("met"), "failed": _l("failed")}
DELIVERY_CHANNELS = {
    "app": _l("in the app"), "email": _l("e-mail"), "dingtalk": _l("DingTalk group"), "wecom": _l("WeCom group"),
    "sms": _l("SMS"),
}
EVENT_KINDS = {
    "case_started": _l("Registered"), "task_completed": _l("Step completed"), "task_claimed": _l("Claimed"),
    "task_unclaimed": _l("Given back"), "task_reassigned": _l("Reassigned"), "timer_fired": _l("Deadline reached"),
    "message_received": _l("Message from the customer"), "attachment_added": _l("Attachment added"),
    "incident": _l("Incident"), "note_added": _l("Internal note"),
    "case_suspended": _l("Suspended"), "case_resumed": _l("Resumed"), "case_cancelled": _l("Cancelled"),
    "case_data_corrected": _l("Recorded data corrected"), "case_moved_back": _l("Moved back to an earlier step"),
    "migrated": _l("Moved to a newer version"), "final_state": _l("The case as stored"),
    "task_to_fallback": _l("Passed to the fallback role"), "staff_involved": _l("Staff complained about added"),
    "improvement_linked": _l("Improvement item linked"),
    "improvement_answered": _l("Customer's answer: is the problem solved?"),
    "knowledge_added": _l("Knowledge-base entry added"), "knowledge_corrected": _l("Knowledge-base entry corrected"),
    "knowledge_retired": _l("Knowledge-base entry retired"),
}
CUSTOMER = "customer"
ACTORS = {"timer": _l("deadline timer"), "system": _l("system"), CUSTOMER: _l("customer")}


def _language() -> str:
    return "zh" if locale_key().startswith("zh") else "en"


def deployed_label(section: str, code: Any) -> str:
    """The deployed ``labels.toml``'s word for a code the process writes (grade, outcome, subject...)."""
    if code is None or code == "":
        return "—"
    try:
        found = engine().repository.active().catalogue.label(section, code, _language())
    except NotFound:
        found = None
    return found or str(code)


def role_label(code: Any) -> str:
    """A role's name from the deployed ``roles.toml`` (``zh`` / ``en``); the customer is the engine's own."""
    if code == CUSTOMER:
        return str(_l("Customer"))
    if code is None or code == "":
        return "—"
    try:
        info = engine().repository.active().roles.get(str(code)) or {}
    except NotFound:
        info = {}
    return str(info.get(_language()) or info.get("en") or code)


def message_label(name: Any) -> str:
    """A message as ``labels.toml`` names it, else by the title of the element that catches it."""
    if name is None or name == "":
        return "—"
    try:
        catalogue = engine().repository.active().catalogue
    except NotFound:
        return str(name)
    title = catalogue.label("messages", name, _language()) or bilingual(catalogue.message_titles.get(str(name)))
    return title or str(name)


def grades() -> dict[str, str]:
    """The grades the deployed labels name, in their order: the inbox's grade filter."""
    try:
        table = engine().repository.active().catalogue.labels.get("grades", {})
    except NotFound:
        return {}
    return {code: deployed_label("grades", code) for code in table}


def label(table: dict, code: Any) -> str:
    if code is None or code == "":
        return "—"
    return str(table.get(code, code))


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time in the business calendar's time zone."""
    if moment is None:
        return "—"
    return moment.astimezone(business_zone()).strftime(fmt)


def today() -> str:
    """The business day now (the engine's clock in the calendar's zone): the latest a past date may be."""
    return local_time(engine().clock.now(), "%Y-%m-%d")


def business_zone() -> ZoneInfo:
    """The deployed calendar's time zone, looked up once per request."""
    if "business_zone" not in g:
        try:
            g.business_zone = engine().repository.active().calendar.zone
        except NotFound:
            g.business_zone = ZoneInfo("Asia/Shanghai")
    return g.business_zone


def register_filters(bp: Blueprint) -> None:
    """Template filters and globals for every page (the inbox, the case and task pages, the portal)."""
    filters = {
        "localtime": local_time,
        "grade_label": lambda code: deployed_label("grades", code),
        "status_label": lambda code: label(CASE_STATUS, code),
        "deadline_label": lambda code: label(DEADLINE_STATUS, code),
        "outcome_label": lambda code: deployed_label("outcomes", code),
        "role_label": role_label,
        "subject_label": lambda code: deployed_label("notifications", code),
        "channel_label": lambda code: label(DELIVERY_CHANNELS, code),
        "event_label": lambda code: label(EVENT_KINDS, code),
        "actor_label": lambda code: label(ACTORS, code),
        "message_label": message_label,
        "bilingual": lambda name: bilingual(name),
        "filesize": filesize,
        "duration": duration_text,
    }
    for name, function in filters.items():
        bp.add_app_template_filter(function, name)
    for name, function in {"field_label": field_label, "enum_label": enum_label, "display_value": display_value,
                           "form_title": form_title, "today": today}.items():
        bp.add_app_template_global(function, name)


def duration_text(minutes: int | float | None) -> str:
    """A span of time as people say it: days, hours and minutes, largest first ("2 d 3 h", "45 min")."""
    if minutes is None:
        return "—"
    total = abs(int(minutes))
    days, rest = divmod(total, 1440)
    hours, mins = divmod(rest, 60)
    parts = [_l("%(n)s d", n=days) if days else "", _l("%(n)s h", n=hours) if hours else "",
             _l("%(n)s min", n=mins) if mins and not days else ""]
    return " ".join(str(part) for part in parts if part) or str(_l("%(n)s min", n=0))


def filesize(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
