"""The handler's inbox: my tasks and my group's, soonest deadline first, filters, claim and give back.

The table refreshes itself every 30 s (``?partial=1`` returns only the table), so the
filters and anything typed in them stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.catalogue import Meaning
from engine.errors import CaseArchived, FormInvalid, NotFound, TaskAlreadyCompleted, TaskHeldByOther, TaskNotOpen
from engine.tasks import UNSET, CaseBrief, InboxQuery, TaskView
from web.auth import writer_required
from web.cases.display import grades
from web.forms import bilingual, enum_label, form_title
from web.services import engine, local_path

bp = Blueprint("inbox", __name__, template_folder="templates")

SCOPES = ("all", "mine", "group")
PAGE_SIZE = 50  # rows per page: a handler works the top of the list; thousands of rows help nobody
SORTS = ("due", "due_desc", "newest")
VIEW_KEYS = ("scope", "grade", "channel", "step", "overdue", "sort")  # what a saved view keeps
MAX_PAGE = 100_000


@bp.app_context_processor
def server_time() -> dict:
    """The engine's "now" for countdowns (a manual clock in demos and tests, the real one otherwise)."""
    return {"server_now": engine().clock.now()}


@dataclass(frozen=True)
class Row:
    task: TaskView
    step: str  # the step's title in the person's language
    mine: bool
    overdue: bool
    brief: CaseBrief = CaseBrief()

    @property
    def unassigned(self) -> bool:
        return self.task.assignee is None


@dataclass(frozen=True)
class Filters:
    scope: str = "all"
    grade: str = ""
    channel: str = ""
    step: str = ""
    overdue: bool = False
    sort: str = "due"
    page: int = 1

    @classmethod
    def from_request(cls) -> Filters:
        args = request.args
        scope = args.get("scope", "all")
        sort = args.get("sort", "due")
        page = args.get("page", "1")
        return cls(scope=scope if scope in SCOPES else "all", grade=args.get("grade", "").strip(),
                   channel=args.get("channel", "").strip(), step=args.get("step", "").strip(),
                   overdue=args.get("overdue") in ("1", "on", "true"), sort=sort if sort in SORTS else "due",
                   page=page_number(page))

    @property
    def active(self) -> bool:
        return bool(self.grade or self.channel or self.step or self.overdue or self.scope != "all")

    def query(self) -> dict:
        """The filters as URL parameters (for the auto-refresh and the links back)."""
        found = {"scope": self.scope, "grade": self.grade, "channel": self.channel, "step": self.step,
                 "overdue": "1" if self.overdue else "", "sort": self.sort, "page": str(self.page)}
        return {k: v for k, v in found.items()
                if v and (k, v) not in (("scope", "all"), ("sort", "due"), ("page", "1"))}

    def at_page(self, page: int) -> dict:
        return {**self.query(), "page": str(page)} if page > 1 else {k: v for k, v in self.query().items()
                                                                     if k != "page"}


def page_number(text: str) -> int:
    """``?page=``: a whole number from 1 to MAX_PAGE, else 400 (a huge one would overflow the database's offset)."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        abort(400, description=_("The page number must be a whole number from 1 to %(most)s.", most=MAX_PAGE))
    return int(text)


def step_title(task: TaskView) -> str:
    return form_title(task.form, fallback=bilingual(task.title)) if task.form else bilingual(task.title)


def channel_options() -> list[tuple[str, str]]:
    """The channels the intake form offers (its ``intake-channel`` field), for the inbox's channel filter."""
    try:
        active = engine().repository.active()
    except NotFound:
        return []
    schema, name = active.intake_form() or {}, active.catalogue.field(Meaning.CHANNEL)
    values = ((schema.get("properties") or {}).get(name) or {}).get("enum") or [] if name else []
    return [(v, enum_label(schema, name, v)) for v in values]


def counted(value: int, cap: int) -> str:
    """A count as shown: "1000+" once counting stopped at the cap (the engine counts no further)."""
    return f"{cap}+" if value > cap else str(value)


def row_of(task: TaskView, username: str, now: datetime, brief: CaseBrief | None = None) -> Row:
    return Row(task, step_title(task), task.assignee == username, task.due_at is not None and task.due_at <= now,
               brief or CaseBrief())


@bp.route("/inbox")
@login_required
def index():  # noqa: ANN201
    eng = engine()
    now = eng.clock.now()
    filters = Filters.from_request()
    query = InboxQuery(scope=filters.scope, grade=filters.grade, channel=filters.channel, step=filters.step,
                       overdue_at=now if filters.overdue else None, sort=filters.sort,
                       offset=(filters.page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    found = eng.tasks.inbox(current_user.username, query)
    pages = max(1, -(-min(found.matching, found.cap) // PAGE_SIZE)) + (found.matching > found.cap)
    if filters.page > pages:  # the list shrank under the person's feet: show its last page
        query = replace(query, offset=(pages - 1) * PAGE_SIZE)
        found = eng.tasks.inbox(current_user.username, query)
    briefs = eng.tasks.briefs(task.case_number for task in found.tasks)
    rows = [row_of(task, current_user.username, now, briefs.get(task.case_number)) for task in found.tasks]
    forms = eng.repository.active().forms
    steps = sorted(((element, form_title(forms.get(form_file), fallback=bilingual(title)) if form_file in forms
                     else bilingual(title)) for element, title, form_file in found.steps), key=lambda pair: pair[1])
    channels = channel_options()
    context = {"rows": rows, "total": counted(found.total, found.cap), "matching": counted(found.matching, found.cap),
               "page": min(filters.page, pages), "pages": pages,
               "pages_label": f"{pages - 1}+" if found.matching > found.cap else str(pages),
               "filters": filters, "now": now, "channel_labels": dict(channels),
               "read_only": current_user.read_only, "here": url_for("inbox.index", **filters.query())}
    if request.args.get("partial") == "1":
        return render_template("inbox/_table.html", **context)
    todos = [n for n in eng.notifications.for_user(current_user.username) if n.must_act and not n.read_at]
    return render_template("inbox/index.html", steps=steps, channels=channels, grades=grades(), todos=todos,
                           views=eng.saved_views.of(current_user.username), **context)


@bp.post("/inbox/views")
@login_required
def save_view():  # noqa: ANN201
    """Save the inbox's current filters under a name (only the inbox's own parameters are kept)."""
    query = urlencode({k: v for k, v in parse_qsl(request.form.get("query", "")) if k in VIEW_KEYS})
    try:
        engine().saved_views.save(current_user.username, request.form.get("name", ""), query)
    except FormInvalid:
        flash(_("A view needs a name of at most 60 characters; at most 20 views."), "error")
    else:
        flash(_("View saved."), "ok")
    return redirect(url_for("inbox.index") + (f"?{query}" if query else ""), code=303)


@bp.post("/inbox/views/<int:view_id>/delete")
@login_required
def delete_view(view_id: int):  # noqa: ANN201
    engine().saved_views.delete(current_user.username, view_id)
    return redirect(url_for("inbox.index"), code=303)


def _back() -> str:
    return local_path(request.form.get("next"), url_for("inbox.index"))


def _hand_over(task_id: str, change, refused: str, done: str):  # noqa: ANN001, ANN202
    """Claim or give back: the change, or a message saying why the task can no longer change hands.

    Lost to a colleague (they hold it now): 409 with the inbox and the message, so the person
    sees at once who has it.
    """
    task = engine().tasks.get(task_id)
    try:
        change(task_id, current_user.username)
    except TaskHeldByOther as held:
        flash(refused % {"reason": _("%(who)s holds it now.", who=held.holder or _("nobody"))}, "error")
        return index(), 409
    except (TaskAlreadyCompleted, TaskNotOpen, CaseArchived) as gone:
        flash(refused % {"reason": _gone(gone)}, "error")
    else:
        flash(done % {"step": step_title(task), "number": task.case_number}, "ok")
    return redirect(_back(), code=303)


@bp.post("/inbox/tasks/<task_id>/claim")
@login_required
@writer_required
def claim(task_id: str):  # noqa: ANN201
    """The form says who the person saw holding the task: the claim only wins if that is still so."""
    holder = request.form.get("holder")
    expected = UNSET if holder is None else (holder or None)

    def take(task: str, username: str) -> None:
        engine().tasks.claim(task, username, expected_holder=expected)

    return _hand_over(task_id, take, _("This task can no longer be claimed: %(reason)s"),
                      _("You now hold “%(step)s” of case %(number)s."))


@bp.post("/inbox/tasks/<task_id>/unclaim")
@login_required
@writer_required
def unclaim(task_id: str):  # noqa: ANN201
    return _hand_over(task_id, engine().tasks.unclaim, _("This task can no longer be given back: %(reason)s"),
                      _("You gave “%(step)s” of case %(number)s back to your group."))


def _gone(error: Exception) -> str:
    if isinstance(error, TaskAlreadyCompleted):
        return _("%(who)s completed it already.", who=error.by or _("the engine"))
    if isinstance(error, CaseArchived):
        return _("the case is archived.")
    return _("the step was closed (a deadline or another path ended it).")
