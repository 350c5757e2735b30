"""The deadline compliance report as a spreadsheet: the audit page's download and the reports e-mailed
to management by the diagram's weekly and monthly timers are the same file.

Numbers are written as numbers; text is always text, even when it looks like a formula (a step title
or a case field starting with ``=``, ``+``, ``-`` or ``@`` would otherwise run in the reader's
spreadsheet program).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine import spreadsheets
from engine.reports import ComplianceReport

COLUMNS = ["step", "role", "case", "deadline", "due_at", "outcome", "done_at", "margin_minutes", "title"]
SUMMARY_COLUMNS = ["step", "title", "role", "met", "missed", "pending", "on_time_rate", "worst_late_minutes"]


def outcome_rows(found: ComplianceReport) -> list[list[object]]:
    """One line per deadline, the figures' cases included: what an auditor re-counts in a spreadsheet."""
    lines = []
    for row in found.rows:
        for o in [*row.met, *row.missed, *row.pending]:
            lines.append([row.step, row.role or "", o.case_number, o.deadline, o.due_at.isoformat(), o.outcome,
                          o.done_at.isoformat() if o.done_at else "", round(o.margin.total_seconds() / 60, 1),
                          row.step_title])
    return lines


def to_csv(found: ComplianceReport) -> str:
    return spreadsheets.to_csv(COLUMNS, outcome_rows(found))


def to_xlsx(found: ComplianceReport) -> bytes:
    summary = [[row.step, row.step_title, row.role or "", len(row.met), len(row.missed), len(row.pending),
                row.on_time_rate, round(row.worst_late.total_seconds() / 60, 1) if row.worst_late else None]
               for row in found.rows]
    return spreadsheets.to_xlsx([("summary", SUMMARY_COLUMNS, summary), ("deadlines", COLUMNS, outcome_rows(found))])


def last_period(kind: str, moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of the last full week (Monday to Sunday) or calendar month before ``moment``."""
    today = moment.astimezone(zone).date()
    if kind == "week":
        end_day = today - timedelta(days=today.weekday())
        start_day = end_day - timedelta(days=7)
    else:
        end_day = today.replace(day=1)
        start_day = (end_day - timedelta(days=1)).replace(day=1)
    return _midnight(start_day, zone), _midnight(end_day, zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)
