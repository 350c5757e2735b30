"""The statistics page (seeds 000–003): a period's figures with charts, the previous period beside them,
a drill-down from every figure to its cases, an XLSX export and a printable layout; and the review
reports the diagram's weekly and monthly timers stored (``engine.review_reports``).

The figures are counted by ``engine.statistics`` in SQL; these views only read the request and show
them. Who may open it is ``statistics = true`` in ``roles.toml``; nobody counts or drills into a case
they are involved in. Charts are drawn by Chart.js (npm, served by ``web.vendor``) from the figures
the page carries in ``data-`` attributes: no inline script.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine import review_reports
from engine.errors import FormInvalid
from engine.statistics import SHARES, Dimension, Period, PeriodKind, Query
from engine.statistics_files import to_xlsx
from web.cases.display import business_zone, grades
from web.services import engine
from web.statistics import labels
from web.statistics.charts import charts
from web.statistics.query import drill, link_args, may_see, parse

bp = Blueprint("statistics", __name__, template_folder="templates", url_prefix="/statistics")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def statistics_roles_only() -> None:
    if not may_see(current_user.username):
        abort(403, description=_("Only the quality lead, CS supervisors and managers, management and the general "
                                 "manager may open the statistics."))


def _query() -> Query:
    try:
        return parse(request.args, current_user.username)
    except FormInvalid as exc:
        abort(400, description="; ".join(f"{k}: {v}" for k, v in exc.errors.items()))


@bp.get("/")
def index() -> Response | str:
    query = _query()
    figures = engine().statistics.figures(query)
    if request.args.get("format") == "xlsx":
        return _xlsx(figures)
    return _page(figures, query, report=None)


@bp.get("/cases")
def cases() -> str:
    query = _query()
    try:
        wanted = drill(request.args)
    except FormInvalid as exc:
        abort(400, description="; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
    found = engine().statistics.cases(query, wanted)
    return render_template("statistics/cases.html", cases=found, query=query, drill=wanted, zone=business_zone(),
                           back=url_for("statistics.index", **link_args(query)), label=labels.label)


@bp.get("/reports")
def reports() -> str:
    return render_template("statistics/reports.html", reports=review_reports.listed(engine().db), zone=business_zone())


@bp.get("/reports/<int:report_id>")
def report(report_id: int) -> Response | str:
    stored = review_reports.get(engine().db, report_id)
    if stored is None:
        abort(404)
    if request.args.get("format") == "xlsx":
        return _xlsx(stored.figures)
    query = Query(Period(PeriodKind(stored.kind), stored.period_start.astimezone(business_zone()),
                         stored.period_end.astimezone(business_zone())), viewer=current_user.username)
    return _page(stored.figures, query, report=stored)


def _xlsx(figures: dict[str, Any]) -> Response:
    period = figures["period"]
    name = f"statistics-{period['from'].replace('-', '')}-{period['to'].replace('-', '')}.xlsx"
    return Response(to_xlsx(figures, labels.label), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _page(figures: dict[str, Any], query: Query, report: Any) -> str:
    args = link_args(query)

    def drill_url(**wanted: str) -> str:
        return url_for("statistics.cases", **args, **wanted)

    return render_template(
        "statistics/index.html", figures=figures, query=query, args=args, report=report, drill_url=drill_url,
        charts=charts(figures, labels.label, drill_url),
        label=labels.label, shares=[d.value for d in SHARES], dimension=Dimension, zone=business_zone(),
        selects=[(Dimension.TYPE.value, _("Complaint type"), labels.options(Dimension.TYPE)),
                 (Dimension.CHANNEL.value, _("Channel"), labels.options(Dimension.CHANNEL)),
                 (Dimension.GRADE.value, _("Grade"), list(grades().items()))],
        product=Dimension.PRODUCT.value, last_day=query.period.end - timedelta(days=1),
        export_url=(url_for("statistics.report", report_id=report.id, format="xlsx") if report else
                    url_for("statistics.index", **args, format="xlsx")))
