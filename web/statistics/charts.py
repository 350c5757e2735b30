"""The charts of the statistics page as data: Chart.js draws each from its canvas's ``data-chart`` and
opens a bar's ``links`` entry (the cases behind it) when it is clicked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

from engine.statistics import SHARES, Dimension

TITLES = {
    Dimension.TYPE.value: lambda: _("By complaint type"), Dimension.CHANNEL.value: lambda: _("By channel"),
    Dimension.GRADE.value: lambda: _("By grade"), Dimension.PRODUCT.value: lambda: _("By product"),
    Dimension.DEPARTMENT.value: lambda: _("By department responsible"),
    Dimension.CUSTOMER_CLASS.value: lambda: _("By customer class"),
}


def _chart(id_: str, kind: str, title: str, rows: list[dict], labels: list[str], links: list[str],
           value: str = "count") -> dict[str, Any]:
    return {"id": id_, "type": kind, "title": title, "labels": labels, "values": [r[value] for r in rows],
            "links": links}


def charts(figures: dict[str, Any], label: Callable[[str, str], str], drill: Callable[..., str]) -> list[dict]:
    """Every chart of the page, top defect types first (what the monthly quality review starts from)."""
    def by(table: str, rows: list[dict], id_: str, title: str, kind: str = "bar") -> dict[str, Any]:
        return _chart(id_, kind, title, rows, [label(table, r["key"]) for r in rows],
                      [drill(dimension=table, value=r["key"]) for r in rows])

    found = [by(Dimension.DEFECT_TYPE.value, figures["defect_types"], "chart-defect-types", _("Top defect types")),
             by(Dimension.SATISFACTION_LEVEL.value, figures["ratings"]["levels"], "chart-satisfaction",
                _("Satisfaction"), "doughnut")]
    steps = figures["on_time"]["steps"]
    found.append(_chart("chart-on-time", "bar", _("On-time rate per step (%)"),
                        [{"rate": round((r["rate"] or 0) * 100, 1)} for r in steps],
                        [r["title"] for r in steps], [drill(missed_step=r["step"]) for r in steps], value="rate"))
    found += [by(d.value, figures["shares"][d.value], f"chart-{d.value}", str(TITLES[d.value]())) for d in SHARES]
    tiers = figures["escalations"]
    found.append(_chart("chart-escalations", "bar", _("Escalations per tier"), tiers,
                        [_("Tier %(tier)s", tier=r["key"]) for r in tiers],
                        [drill(dimension=Dimension.TIER.value, value=r["key"]) for r in tiers]))
    return found
