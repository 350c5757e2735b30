"""The statistics as a workbook: one sheet per table, numbers as numbers, every cell written through
``engine.spreadsheets`` (text that looks like a formula stays text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import spreadsheets

Label = Callable[[str, str], str]  # (table, code) -> what people read


def to_xlsx(figures: dict[str, Any], label: Label = lambda _table, code: code) -> bytes:
    """The figures of ``engine.statistics`` (a live query or a stored report) as an XLSX file."""
    previous = figures.get("previous") or {}
    on_time, satisfaction = figures["on_time"], figures["ratings"]
    summary = [
        ["volume", figures["volume"], previous.get("volume")],
        ["on_time_rate", on_time["rate"], previous.get("on_time_rate")],
        ["satisfaction_average", satisfaction["average"], previous.get("satisfaction_average")],
        ["satisfaction_answered", satisfaction["answered"], None],
        ["repeat_complaints", figures["repeats"]["count"], previous.get("repeats")],
        ["compensation_total", figures["compensation"]["total"], previous.get("compensation")],
        ["compensation_cases", figures["compensation"]["cases"], None],
    ]
    period = figures["period"]
    sheets: list[tuple[str, list, list]] = [
        ("summary", ["figure", f"{period['from']}..{period['to']}", "previous period"], summary),
        ("on_time_steps", ["step", "title", "role", "met", "missed", "pending", "on_time_rate"],
         [[r["step"], r["title"], r["role"], r["met"], r["missed"], r["pending"], r["rate"]]
          for r in on_time["steps"]]),
        ("on_time_roles", ["role", "met", "missed", "pending", "on_time_rate"],
         [[r["role"], r["met"], r["missed"], r["pending"], r["rate"]] for r in on_time["roles"]]),
        ("satisfaction_scores", ["score", "cases"], [[int(r["key"]), r["count"]] for r in satisfaction["scores"]]),
        ("satisfaction_levels", ["level", "label", "cases", "share"],
         [[r["key"], label("satisfaction_level", r["key"]), r["count"], r["share"]] for r in satisfaction["levels"]]),
        ("defect_types", *_shares("defect_type", figures["defect_types"], label)),
        ("escalations", ["tier", "cases", "share"],
         [[int(r["key"]), r["count"], r["share"]] for r in figures["escalations"]]),
    ]
    sheets += [(f"by_{name}"[:31], *_shares(name, rows, label)) for name, rows in figures["shares"].items()]
    return spreadsheets.to_xlsx(sheets)


def _shares(table: str, rows: list[dict[str, Any]], label: Label) -> tuple[list, list]:
    return ([table, "label", "cases", "share"], [[r["key"], label(table, r["key"]), r["count"], r["share"]]
                                                 for r in rows])
