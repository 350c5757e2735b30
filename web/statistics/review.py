"""A review step (``reviewReport`` on its user task, e.g. seed 000's monthly quality review) opens on the
latest stored report of its period: its headline figures, top defect types and charts, each figure a
link to the cases behind it (the live list, where the viewer's involved-staff rule applies)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_login import current_user

from engine import review_reports
from engine.errors import NotFound
from engine.statistics import Period, PeriodKind, Query
from engine.tasks import TaskView
from web.cases.display import business_zone
from web.services import engine
from web.statistics import labels
from web.statistics.charts import charts
from web.statistics.query import link_args, may_see

SHOWN_CHARTS = 3  # top defect types, satisfaction, on-time rate per step


def review_panel(view: TaskView) -> dict[str, Any] | None:
    """What the step's page shows of its report, or None (not a review step, no report yet, no right)."""
    try:
        kind = engine().repository.active().catalogue.review_steps.get(view.name)
    except NotFound:
        return None
    if kind not in {k.value for k in PeriodKind} or not may_see(current_user.username):
        return None
    stored = review_reports.latest(engine().db, kind)
    if stored is None:
        return None
    zone = business_zone()
    query = Query(Period(PeriodKind(kind), stored.period_start.astimezone(zone), stored.period_end.astimezone(zone)))
    args = link_args(query)

    def drill_url(**wanted: str) -> str:
        return url_for("statistics.cases", **args, **wanted)

    return {"report": stored, "figures": stored.figures, "label": labels.label, "drill_url": drill_url,
            "charts": charts(stored.figures, labels.label, drill_url)[:SHOWN_CHARTS],
            "link": url_for("statistics.report", report_id=stored.id)}
