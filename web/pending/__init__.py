"""The pending-matters ledger (《未了事宜台帐》, seed 002): a page by month and its XLSX export.

Which cases are pending matters, and what the reason and next action are, is read by
``engine.pending`` from the deployed files (``pendingMatter`` / ``pendingReminder`` properties,
``x-meaning`` fields); these views only filter and show it. Who may open it is
``pending_ledger = true`` in ``roles.toml``; nobody sees a case they are involved in.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from openpyxl import Workbook
from openpyxl.styles import Font

from engine.pending import PendingMatter, field_label
from web.cases.display import business_zone
from web.forms import display_value, locale_key
from web.services import engine

bp = Blueprint("pending", __name__, template_folder="templates", url_prefix="/pending-matters")
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
RISKY = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would read as a formula


@bp.before_request
@login_required
def ledger_roles_only() -> None:
    if not engine().pending.may_see(current_user.username):
        abort(403, description=_("Only account managers, CS supervisors and managers, management and the "
                                 "general manager may open the pending-matters ledger."))


def _filters() -> tuple[str | None, str | None]:
    month = request.args.get("month", "").strip() or None
    if month and not MONTH.fullmatch(month):
        abort(400, description=_("A month is written YYYY-MM."))
    holder = request.args.get("holder", "").strip() or None
    return month, holder


def last_reminder_text(matter: PendingMatter) -> str:
    """The newest reminder as a line: when, who, and what the account manager recorded."""
    reminder = matter.last_reminder
    if reminder is None:
        return ""
    schema = matter.form_labels.get(reminder.form or "") or {}
    language = locale_key()
    parts = [f"{field_label(schema, name, language)}: {display_value(schema, name, value)}"
             for name, value in reminder.data.items() if value not in (None, "")]
    when = reminder.at.astimezone(business_zone()).strftime("%Y-%m-%d")
    return f"{when} {reminder.by} · " + "; ".join(parts)


@bp.get("/")
def index() -> str:
    month, holder = _filters()
    everyone = engine().pending.ledger(current_user.username)
    matters = [m for m in everyone if (not month or m.month == month) and (not holder or m.holder == holder)]
    groups: dict[str, list[PendingMatter]] = {}
    for matter in matters:
        groups.setdefault(matter.month, []).append(matter)
    return render_template(
        "pending/index.html", groups=sorted(groups.items(), reverse=True), month=month or "", holder=holder or "",
        months=sorted({m.month for m in everyone}, reverse=True),
        holders=sorted({m.holder for m in everyone if m.holder}), language=locale_key(),
        last_reminder_text=last_reminder_text, count=len(matters))


HEADERS = {
    "case": ("投诉编号", "Complaint number"), "customer": ("客户", "Customer"), "product": ("产品", "Product"),
    "reason": ("原因", "Reason"), "since": ("未了起始", "Pending since"), "holder": ("负责人", "Held by"),
    "next": ("下一步", "Next action"), "expected": ("预计回来日期", "Expected return"),
    "reminder_count": ("提醒次数", "Reminders"), "last": ("最近提醒", "Last reminder"),
    "last_text": ("最近提醒内容", "Last reminder recorded"), "month": ("月份", "Month"),
}


def to_xlsx(matters: list[PendingMatter], month: str | None) -> bytes:
    """The ledger as a workbook: dates and counts as real cells, text that looks like a formula kept as text."""
    zh = locale_key().startswith("zh")
    book = Workbook()
    sheet = book.active
    sheet.title = month or ("未了事宜台帐" if zh else "Pending matters")
    sheet.append([words[0] if zh else words[1] for words in HEADERS.values()])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    zone = business_zone()
    language = locale_key()
    for m in matters:
        last = m.last_reminder
        sheet.append([
            m.case_number, m.customer, m.product or "", m.reason_label(language), _local(m.since, zone),
            m.holder or "", m.next_action, m.expected_return, len(m.reminders),
            _local(last.at, zone) if last else None, last_reminder_text(m), m.month,
        ])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
                if cell.value.startswith(RISKY):
                    cell.quotePrefix = True
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEFGHIJKL", (22, 12, 18, 22, 18, 10, 30, 14, 10, 18, 50, 10), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _local(moment: datetime, zone) -> datetime:  # noqa: ANN001
    """A spreadsheet date-time has no zone: the business calendar's local time, as the page shows."""
    return moment.astimezone(zone).replace(tzinfo=None)


@bp.get("/ledger.xlsx")
def ledger_xlsx() -> ResponseReturnValue:
    month, holder = _filters()
    matters = engine().pending.ledger(current_user.username, month=month, holder=holder)
    name = f"pending-matters-{month or 'all'}.xlsx"
    return Response(to_xlsx(matters, month), headers={"Content-Disposition": f'attachment; filename="{name}"'},
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

