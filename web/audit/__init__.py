"""The auditor's pages: find cases, check the history chain, the deadline compliance report.

Open to auditors and to roles that oversee every case (roles.toml ``sees = "all"``); nothing
here changes anything, so read-only roles are welcome.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.history import SYSTEM
from engine.report_files import Wording, to_csv, to_xlsx
from engine.store.enums import EventKind
from web import i18n
from web.audit import role_changes
from web.cases.display import deployed_label, grades
from web.services import engine

bp = Blueprint("audit", __name__, template_folder="templates", url_prefix="/audit")


@bp.before_request
@login_required
def overseers_only() -> None:
    if not engine().access.sees_all(current_user.username):
        abort(403, description=_("Only auditors and roles that oversee every case may open the audit pages."))


def zone() -> ZoneInfo:
    return engine().repository.active().calendar.zone


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)  # wider than any case; far dates overflow time zones


def day_arg(name: str, default: datetime) -> datetime:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        abort(400, description=_("Dates are written YYYY-MM-DD."))
    if not FIRST_DAY <= day <= LAST_DAY:
        abort(400, description=_("Dates run from %(first)s to %(last)s.", first=FIRST_DAY.isoformat(),
                                 last=LAST_DAY.isoformat()))
    return datetime.combine(day, time(), tzinfo=zone())


@bp.get("/")
def index() -> str:
    args = request.args
    searched = any(args.get(k) for k in ("number", "product", "grade", "outcome", "status", "from", "to"))
    hits = engine().reports.search(
        number=args.get("number", ""), product=args.get("product", ""), grade=args.get("grade", ""),
        outcome=args.get("outcome", ""), status=args.get("status", ""),
        created_from=day_arg("from", None) if args.get("from") else None,
        created_to=day_arg("to", None) + timedelta(days=1) if args.get("to") else None,
        viewer=current_user.username,
    ) if searched else []
    return render_template("audit/index.html", hits=hits, searched=searched, args=args, zone=zone(),
                           grades=list(grades().items()), outcomes=outcomes())


def outcomes() -> list[tuple[str, str]]:
    """The outcomes the deployed ``labels.toml`` names, with their words: the search's outcome list."""
    codes = engine().repository.active().catalogue.labels.get("outcomes", {})
    return [(code, deployed_label("outcomes", code)) for code in codes]


@bp.get("/deployments")
def deployments() -> str:
    """Every deployed version with who deployed it, and what each changed in the roles (who may do what)."""
    eng = engine()
    changes = {e.payload.get("version"): role_changes.lines(e.payload) for e in eng.history.events(SYSTEM)
               if e.kind == EventKind.ROLES_CHANGED}
    return render_template("audit/deployments.html", versions=list(reversed(eng.repository.versions())),
                           changes=changes, zone=zone())


@bp.post("/verify")
def verify() -> str:
    result = engine().history.verify()
    return render_template("audit/verify.html", result=result)


def period() -> tuple[datetime, datetime]:
    today = engine().clock.now().astimezone(zone()).date()
    first = datetime.combine(today.replace(day=1), time(), tzinfo=zone())
    start = day_arg("from", first)
    end = day_arg("to", datetime.combine(today, time(), tzinfo=zone())) + timedelta(days=1)
    if end <= start:
        abort(400, description=_("The end of the period must not be before its start."))
    return start, end


@bp.get("/report")
def report() -> Response | str:
    start, end = period()
    kind = request.args.get("format", "html")
    if kind not in ("csv", "xlsx"):
        rows = engine().reports.compliance_summary(start, end, viewer=current_user.username)
        return render_template("audit/report.html", rows=rows, start=start, end=end - timedelta(days=1), zone=zone())
    found = engine().reports.compliance(start, end, viewer=current_user.username)
    words = Wording(i18n.current_language(), zone(), engine().repository.active().roles)
    name = f"deadline-compliance-{start:%Y%m%d}-{(end - timedelta(days=1)):%Y%m%d}"
    if kind == "csv":
        return Response(to_csv(found, words), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(to_xlsx(found, words), headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


