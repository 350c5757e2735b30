"""The supervisor's board: every open task they may see, by step, holder and deadline; hand tasks to a
named person of the task's role, one by one or in bulk, and claim several at once.

Who may hand tasks over, the deployed ``roles.toml`` says (``reassign = true``); every change is a
``task_reassigned`` event in the case's history with who did it. The list is paged (100 rows), the
step counts come from one grouped query.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import CaseArchived, NotAllowed, NotFound, TaskAlreadyCompleted, TaskHeldByOther, TaskNotOpen
from engine.people import Away
from web.auth import writer_required
from web.inbox import step_title
from web.services import engine, local_path

bp = Blueprint("board", __name__, template_folder="templates")
PAGE = 100
ABSENCE_WEEKS = 4  # how far ahead the board's absence calendar looks
BULK_LIMIT = 200  # tasks one submit may change: a page and then some, never the whole queue by accident


def _require_board() -> None:
    if not (current_user.may_reassign or current_user.sees_all):
        abort(403)


@bp.get("/board")
@login_required
def index():  # noqa: ANN201
    _require_board()
    eng = engine()
    args = request.args
    page = int(args["page"]) if args.get("page", "").isdigit() and 0 < int(args["page"]) < 10_000 else 1
    role, step, holder = (args.get(k, "").strip()[:100] for k in ("role", "step", "holder"))
    found = eng.tasks.board(current_user.username, sees_all=current_user.sees_all, role=role, step=step,
                            holder=holder, offset=(page - 1) * PAGE, limit=PAGE)
    briefs = eng.tasks.briefs(t.case_number for t in found.tasks)
    filters = {k: v for k, v in (("role", role), ("step", step), ("holder", holder)) if v}
    away, first, last = _absences(found.people)
    return render_template("board/index.html", found=found, briefs=briefs, page=page, filters=filters,
                           away=away, away_first=first, away_last=last, is_admin=current_user.is_admin,
                           role=role, step=step, holder=holder, step_title=step_title, now=eng.clock.now(),
                           may_reassign=current_user.may_reassign and not current_user.read_only,
                           here=url_for("board.index", **filters, **({"page": page} if page > 1 else {})))


def _absences(members: dict[str, list[str]]) -> tuple[list[tuple[Away, list[str]]], date, date]:
    """The absence calendar: who of the roles the viewer sees is away in the coming weeks, with their roles."""
    eng = engine()
    seen = set(members) if current_user.sees_all else eng.access.roles_of(current_user.username) & set(members)
    roles_of: dict[str, list[str]] = {}
    for role in sorted(seen):
        for name in members[role]:
            roles_of.setdefault(name, []).append(role)
    first = eng.people.today()
    last = first + timedelta(weeks=ABSENCE_WEEKS, days=-1)
    return [(period, roles_of[period.username]) for period in eng.people.away_between(roles_of, first, last)], \
        first, last


@bp.post("/board/reassign")
@login_required
@writer_required
def reassign():  # noqa: ANN201
    """Hand the ticked tasks to one person (or back to their group), or claim them for oneself."""
    if not current_user.may_reassign and request.form.get("action") != "claim":
        abort(403)
    ids = list(dict.fromkeys(request.form.getlist("task")))[:BULK_LIMIT]
    back = local_path(request.form.get("next"), url_for("board.index"))
    if not ids:
        flash(_("Tick the tasks to change first."), "error")
        return redirect(back, code=303)
    me = current_user.username
    to = me if request.form.get("action") == "claim" else (request.form.get("to") or "").strip() or None
    done, refused = [], []
    for task_id in ids:
        try:
            task = engine().tasks.get(task_id)
            if request.form.get("action") == "claim":
                engine().tasks.claim(task_id, me, expected_holder=task.assignee)
            else:
                engine().tasks.reassign(task_id, me, to)
            done.append(task.case_number)
        except (NotFound, NotAllowed, TaskHeldByOther, TaskAlreadyCompleted, TaskNotOpen, CaseArchived):
            refused.append(task_id)
    if done:
        who = to or _("their group")
        flash(_("%(count)s task(s) now with %(who)s: %(cases)s.", count=len(done), who=who,
                cases=", ".join(done[:10]) + (" …" if len(done) > 10 else "")), "ok")
    if refused:
        flash(_("%(count)s task(s) could not change hands (closed meanwhile, or the person does not hold the "
                "step's role or is involved in the case).", count=len(refused)), "error")
    return redirect(back, code=303)
