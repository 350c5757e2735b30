"""A process owner's legitimate change of every shipped deadline, applied to a copy of workflows/.

Mechanism tests must not depend on the durations the seeds give: with
``COMPLAINTFLOW_TEST_SHIFT_DEADLINES=1`` the ``workflows_dir`` fixture lengthens every timer of the
copy (ISO durations by half again, ``working_days(n)`` by one day), and the tests marked
``mechanism`` must still pass. Spec tests keep the shipped durations and are not run so.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

_TIMER = re.compile(r"(<(?:\w+:)?time(?:Duration|Date|Cycle)\b[^>]*>)(.*?)(</(?:\w+:)?time\w+>)", re.S)
_ISO = re.compile(r'"(R\d*/)?(P[0-9YMWDTHS.]+)"')
_PARTS = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_WORKING_DAYS = re.compile(r"working_days\((\d+)\)")


def _longer(match: re.Match[str]) -> str:
    repeat, text = match.group(1) or "", match.group(2)
    parts = _PARTS.fullmatch(text)
    if parts is None:  # months or years: left as they are
        return match.group(0)
    weeks, days, hours, minutes, seconds = (float(p or 0) for p in parts.groups())
    duration = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    longer = max(1, round(duration.total_seconds() * 1.5 / 60))
    return f'"{repeat}PT{longer}M"'


def _expression(text: str) -> str:
    text = _ISO.sub(_longer, text)
    return _WORKING_DAYS.sub(lambda m: f"working_days({int(m.group(1)) + 1})", text)


def shift_deadlines(folder: Path) -> int:
    """Lengthen every timer in the .bpmn files under ``folder``; returns how many were changed."""
    changed = 0
    for path in sorted(folder.rglob("*.bpmn")):
        source = path.read_text(encoding="utf-8")

        def rewrite(match: re.Match[str]) -> str:
            nonlocal changed
            new = _expression(match.group(2))
            changed += new != match.group(2)
            return match.group(1) + new + match.group(3)

        path.write_text(_TIMER.sub(rewrite, source), encoding="utf-8")
    return changed
