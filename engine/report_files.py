"""The deadline compliance report as a spreadsheet: the audit page's download and the reports e-mailed
to management by the diagram's weekly and monthly timers are the same file.

Numbers are written as numbers; text is always text, even when it looks like a formula (a step title
or a case field starting with ``=``, ``+``, ``-`` or ``@`` would otherwise run in the reader's
spreadsheet program): ``engine.spreadsheets`` writes every cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from engine import spreadsheets
from engine.catalogue import bilingual_half
from engine.reports import ComplianceReport

COLUMNS = ["step", "role", "case", "deadline", "due_at", "outcome", "done_at", "margin_hours", "margin", "title"]
SUMMARY_COLUMNS = ["step", "title", "role", "met", "missed", "pending", "on_time_rate", "worst_late_hours",
                   "worst_late"]
# What a reader sees: headers, sheet names and outcomes in zh-CN or English (the engine's own words).
HEADERS = {
    "zh": {"step": "环节编号", "title": "环节", "role": "角色", "case": "案件编号", "deadline": "时限编号",
           "due_at": "到期时间", "outcome": "结果", "done_at": "完成时间", "margin_hours": "提前/超时（小时）",
           "margin": "提前/超时", "met": "按时", "missed": "超时", "pending": "未到期", "on_time_rate": "按时率",
           "worst_late_hours": "最长超时（小时）", "worst_late": "最长超时"},
    "en": {"step": "step id", "title": "step", "role": "role", "case": "case", "deadline": "deadline id",
           "due_at": "due", "outcome": "outcome", "done_at": "done", "margin_hours": "early/late (hours)",
           "margin": "early/late", "met": "met", "missed": "missed", "pending": "pending",
           "on_time_rate": "on-time rate", "worst_late_hours": "worst delay (hours)", "worst_late": "worst delay"},
}
OUTCOMES = {"zh": {"met": "按时", "missed": "超时", "pending": "未到期"},
            "en": {"met": "met", "missed": "missed", "pending": "pending"}}
SHEETS = {"zh": ("汇总", "时限明细"), "en": ("summary", "deadlines")}
UNITS = {"zh": ("{n}天", "{n}小时", "{n}分钟", ""), "en": ("{n} d", "{n} h", "{n} min", " ")}


@dataclass(frozen=True)
class Wording:
    """How the report reads: the language (``zh``/``en``), the calendar's zone for times, the deployed
    ``roles.toml`` for role names."""

    language: str = "zh"
    zone: tzinfo = ZoneInfo("Asia/Shanghai")
    roles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        return "en" if self.language == "en" else "zh"

    def role(self, code: str | None) -> str:
        info = self.roles.get(code or "") or {}
        return str(info.get(self.lang) or info.get("en") or code or "")

    def time(self, moment: datetime | None) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    def duration(self, span: timedelta | None) -> str:
        """Days and hours (minutes only under a day), as people say it."""
        if span is None:
            return ""
        days, rest = divmod(abs(int(span.total_seconds() // 60)), 1440)
        hours, minutes = divmod(rest, 60)
        day, hour, minute, gap = UNITS[self.lang]
        parts = [day.format(n=days) if days else "", hour.format(n=hours) if hours else "",
                 minute.format(n=minutes) if minutes and not days else ""]
        return gap.join(p for p in parts if p) or minute.format(n=0)

    def header(self, columns: list[str]) -> list[str]:
        return [HEADERS[self.lang][c] for c in columns]


def _hours(span: timedelta | None) -> float | None:
    return round(span.total_seconds() / 3600, 1) if span is not None else None


def outcome_rows(found: ComplianceReport, words: Wording) -> list[list[object]]:
    """One line per deadline, the figures' cases included: what an auditor re-counts in a spreadsheet."""
    lines = []
    for row in found.rows:
        for o in [*row.met, *row.missed, *row.pending]:
            lines.append([row.step, words.role(row.role), o.case_number, o.deadline, words.time(o.due_at),
                          OUTCOMES[words.lang].get(o.outcome, o.outcome), words.time(o.done_at), _hours(o.margin),
                          words.duration(o.margin), bilingual_half(row.step_title, words.lang)])
    return lines


def to_csv(found: ComplianceReport, words: Wording | None = None) -> str:
    words = words or Wording()
    return spreadsheets.to_csv(words.header(COLUMNS), outcome_rows(found, words))


def to_xlsx(found: ComplianceReport, words: Wording | None = None) -> bytes:
    words = words or Wording()
    summary = [[row.step, bilingual_half(row.step_title, words.lang), words.role(row.role), len(row.met),
                len(row.missed), len(row.pending), row.on_time_rate, _hours(row.worst_late),
                words.duration(row.worst_late)] for row in found.rows]
    first, second = SHEETS[words.lang]
    return spreadsheets.to_xlsx([(first, words.header(SUMMARY_COLUMNS), summary),
                                 (second, words.header(COLUMNS), outcome_rows(found, words))])


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
