"""How case facts read on the handlers' pages: labels in the person's language, local times.

The engine speaks in codes (``urgent``, ``fired``, ``first_response_overdue``); these
tables turn them into words. Codes a table does not know are shown as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g
from flask_babel import lazy_gettext as _l

from engine.errors import NotFound
from web.forms import bilingual, display_value, enum_label, field_label, form_title
from web.services import engine

GRADES = {"urgent": _l("Urgent"), "serious": _l("Serious"), "general": _l("General")}
CASE_STATUS = {"open": _l("In progress"), "archived": _l("Archived")}
# A deadline's timer: fired = the step was late; cancelled = the step finished before it.
DEADLINE_STATUS = {"pending": _l("pending"), "fired": _l("missed"), "cancelled": _l("met"), "failed": _l("failed")}
OUTCOMES = {
    "resolved": _l("Resolved"), "satisfied": _l("Customer satisfied"), "unsatisfied": _l("Customer unsatisfied"),
    "unresolved": _l("Closed unresolved"), "unreached": _l("Customer not reached"),
    "not_a_defect": _l("Not a defect"), "final_decision": _l("Final decision (tier 3)"),
}
ROLES = {
    "cs_specialist": _l("Customer-service specialist"), "cs_supervisor": _l("CS supervisor"),
    "cs_manager": _l("CS manager"), "engineer": _l("Product engineer"), "quality_lead": _l("Quality lead"),
    "management": _l("Management department"), "general_manager": _l("General manager"),
    "process_owner": _l("Process owner"), "auditor": _l("Auditor"), "customer": _l("Customer"),
}
NOTIFICATION_SUBJECTS = {
    "urgent_case": _l("Urgent complaint"),
    "first_response_overdue": _l("First response overdue"),
    "verify_overdue": _l("Verification overdue"),
    "handling_start_overdue": _l("Handling not started in time"),
    "urgent_not_started": _l("Urgent handling not started in 2 hours"),
    "responsibility_overdue": _l("Responsibility determination overdue"),
    "root_cause_overdue": _l("Root-cause analysis overdue"),
    "management_review_overdue": _l("Management review overdue"),
    "execution_overdue": _l("Execution overdue"),
    "result_notification_overdue": _l("Result notification overdue"),
    "callback_overdue": _l("Callback overdue"),
    "callback_unreached": _l("Customer not reached for the callback"),
    "escalation_tier_2": _l("Escalated to tier 2"),
    "escalation_tier_3": _l("Escalated to tier 3"),
    "tier3_overdue": _l("Tier 3 plan overdue"),
    "more_info_requested": _l("More information to ask the customer for"),
    "plan_proposed": _l("Handling plan for the customer to confirm"),
    "pending_matters_ledger": _l("Pending-matters ledger reminder"),
    "weekly_statistics_report": _l("Weekly statistics report"),
    "monthly_statistics_report": _l("Monthly statistics report"),
}
DELIVERY_CHANNELS = {
    "app": _l("in the app"), "email": _l("e-mail"), "dingtalk": _l("DingTalk group"), "wecom": _l("WeCom group"),
    "sms": _l("SMS"),
}
EVENT_KINDS = {
    "case_started": _l("Registered"), "task_completed": _l("Step completed"), "task_claimed": _l("Claimed"),
    "task_unclaimed": _l("Given back"), "task_reassigned": _l("Reassigned"), "timer_fired": _l("Deadline reached"),
    "message_received": _l("Message from the customer"), "attachment_added": _l("Attachment added"),
    "incident": _l("Incident"),
}
MESSAGES = {"customer_reply": _l("Customer's reply"), "plan_confirmation": _l("Customer's answer to the plan")}
ACTORS = {"timer": _l("deadline timer"), "system": _l("system"), "customer": _l("customer")}


def label(table: dict, code: Any) -> str:
    if code is None or code == "":
        return "—"
    return str(table.get(code, code))


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time in the business calendar's time zone."""
    if moment is None:
        return "—"
    return moment.astimezone(business_zone()).strftime(fmt)


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
        "grade_label": lambda code: label(GRADES, code),
        "status_label": lambda code: label(CASE_STATUS, code),
        "deadline_label": lambda code: label(DEADLINE_STATUS, code),
        "outcome_label": lambda code: label(OUTCOMES, code),
        "role_label": lambda code: label(ROLES, code),
        "subject_label": lambda code: label(NOTIFICATION_SUBJECTS, code),
        "channel_label": lambda code: label(DELIVERY_CHANNELS, code),
        "event_label": lambda code: label(EVENT_KINDS, code),
        "actor_label": lambda code: label(ACTORS, code),
        "message_label": lambda code: label(MESSAGES, code),
        "bilingual": lambda name: bilingual(name),
        "filesize": filesize,
    }
    for name, function in filters.items():
        bp.add_app_template_filter(function, name)
    for name, function in {"field_label": field_label, "enum_label": enum_label, "display_value": display_value,
                           "form_title": form_title}.items():
        bp.add_app_template_global(function, name)


def filesize(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
