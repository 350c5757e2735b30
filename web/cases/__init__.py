"""Handler pages for one case and one task, and registering a complaint taken by phone or in store.

- ``/tasks/<id>``: the task's form (rendered from its JSON Schema) beside the case summary
  and timeline; a submission the engine refuses comes back with a message at each field
  and the values kept (422); a page gone stale meanwhile gets a clear message (409).
- ``/cases/<number>``: status, grade, tier, every deadline (met / missed / pending),
  attachments, notifications sent, the history.
- ``/register``: the intake form of SPEC step 1 for complaints taken by phone or in store.

Who may open what is the engine's ``Access`` (403 otherwise); read-only roles never write.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.attachments import ACCEPTED, MAX_BYTES, MB, clean_filename
from engine.attachments import check as check_file
from engine.cases import CaseView
from engine.catalogue import DEFAULT_FROM, Meaning, form_field
from engine.corrections import field_schemas
from engine.errors import (
    CaseArchived,
    FormInvalid,
    IdempotencyKeyReused,
    NotAllowed,
    NotFound,
    StaleCase,
    TaskAlreadyCompleted,
    TaskHeldByOther,
    TaskNotOpen,
)
from engine.forms import CONTACT_LAST4
from engine.forms import validate as validate_form
from engine.knowledge_marks import shows_known_issues
from engine.replay import FINAL, STORED
from engine.store.enums import CaseStatus, EventKind
from engine.tasks import TaskView
from web import forms, landing
from web.auth import writer_required
from web.cases.display import local_time, message_label, register_filters, role_label
from web.errors import held_by_message
from web.people import hand_on_label
from web.services import engine
from web.statistics.review import review_panel

bp = Blueprint("cases", __name__, template_folder="templates")
register_filters(bp)

UPLOAD_ENDPOINTS = {"cases.upload", "cases.register"}
# A request may carry one video at its limit plus a few photos; other form posts are small.
UPLOAD_REQUEST_LIMIT = MAX_BYTES + 20 * MB
FORM_REQUEST_LIMIT = 2 * MB
# Registration keys shown apart from the summary list (contact per role) or never, besides the fields the
# intake form marks as the customer's name and contact.
SUMMARY_HIDDEN = {CONTACT_LAST4, "case_number"}


def summary_hidden() -> set[str]:
    catalogue = engine().repository.active().catalogue
    return SUMMARY_HIDDEN | {catalogue.field(Meaning.CUSTOMER_NAME), catalogue.field(Meaning.CONTACT)} - {None}


def _limit_request_size() -> None:
    """Refuse oversized bodies (413) before anything, CSRF included, reads the form."""
    if request.blueprint in ("cases", "inbox") and request.method == "POST":
        request.max_content_length = (UPLOAD_REQUEST_LIMIT if request.endpoint in UPLOAD_ENDPOINTS
                                      else FORM_REQUEST_LIMIT)


@bp.record_once
def _install_size_limit(state) -> None:  # noqa: ANN001
    # First in line: CSRF protection (registered earlier) reads the body in its own hook.
    state.app.before_request_funcs.setdefault(None, []).insert(0, _limit_request_size)


# ------------------------------------------------------------------ shared pieces

def user() -> str:
    return current_user.username


def open_case(number: str) -> CaseView:
    """The case as this person may see it (NotAllowed -> 403, NotFound -> 404)."""
    return engine().cases.get(number, viewer=user())


def register_schema() -> dict:
    return engine().repository.active().intake_form() or {}


def tasks_by_id(number: str) -> dict[str, TaskView]:
    tasks = engine().tasks
    return {t.id: t for state in ("open", "completed", "cancelled") for t in tasks.for_case(number, state)}


def step_title(task: TaskView | None, element: str | None = None) -> str:
    if task is None:
        return element or ""
    return forms.form_title(task.form, fallback=forms.bilingual(task.title)) if task.form else \
        forms.bilingual(task.title)


def summary_rows(case: CaseView) -> list[tuple[str, str]]:
    """The registration as the case keeps it (masked), labelled in the person's language."""
    schema = register_schema()
    names = forms.field_names(schema) if schema else []
    keys = [n for n in names if n in case.summary] + [k for k in case.summary if k not in names]
    hidden = summary_hidden()
    return [(forms.field_label(schema, key), forms.display_value(schema, key, case.summary[key]))
            for key in keys if key not in hidden]


@dataclass(frozen=True)
class TimelineEntry:
    at: Any
    actor: str
    kind: str
    title: str
    details: list[tuple[str, str]]
    notified: list[tuple[str, str]]


def message_details(name: str, data: dict) -> list[tuple[str, str]]:
    """A message's payload in words: the customer's answer or words where the diagram says which field holds
    them (``customerAnswers``, ``customerReplies``); any other field as sent."""
    facts = engine().repository.active().catalogue
    answer, reply = facts.customer_messages.get(name), facts.customer_replies.get(name)
    named = {answer.answer_field: _("The customer's answer")} if answer else {}
    if reply:
        named[reply.text_field] = _("The customer's words")
    return [(named.get(k, str(k)), (_("accepted") if v else _("declined")) if answer and k == answer.answer_field
             and isinstance(v, bool) else forms.display_value(None, k, v)) for k, v in data.items()]


def timeline(case: CaseView, by_id: dict[str, TaskView]) -> list[TimelineEntry]:
    """The case's history, newest first, each event with what it changed in words."""
    schema = register_schema()
    deadline_names = {d.element_id: forms.bilingual(d.name) for d in case.deadlines}
    by_element = {t.name: t for t in by_id.values()}
    entries = []
    for event in engine().history.events(case.number):
        payload = event.payload or {}
        task = by_id.get(payload.get("task_id") or "") or by_element.get(payload.get("element") or "")
        title, details = "", []
        if event.kind == EventKind.CASE_STARTED:
            data = payload.get("data") or {}
            order = forms.field_names(schema) if schema else []
            keys = [k for k in order if k in data] + [k for k in data if k not in order]
            hidden = {"case_number", engine().repository.active().catalogue.field(Meaning.CONTACT)}
            details = [(_("Contact (last 4 digits)") if k == CONTACT_LAST4 else forms.field_label(schema, k),
                        forms.display_value(schema, k, data[k]))
                       for k in keys if k not in hidden]
        elif event.kind == EventKind.TASK_COMPLETED:
            title = step_title(task, payload.get("element"))
            form = task.form if task else None
            details = [(forms.field_label(form, k), forms.display_value(form, k, v))
                       for k, v in (payload.get("data") or {}).items()]
        elif event.kind in (EventKind.TASK_CLAIMED, EventKind.TASK_UNCLAIMED, EventKind.TASK_REASSIGNED):
            title = step_title(task, payload.get("element"))
            details = [(_("from"), payload.get("from") or "—")] if "from" in payload else []
            if "to" in payload:
                details.append((_("to"), payload.get("to") or _("nobody")))
            if payload.get("reason"):  # the engine moved it: the person was away, disabled, ...
                details.append((_("reason"), hand_on_label(str(payload["reason"]))))
        elif event.kind == EventKind.TASK_TO_FALLBACK:
            title = step_title(task, payload.get("element"))
            details = [(_("role"), role_label(payload.get("role"))),
                       (_("fallback role"), role_label(payload.get("fallback_role"))),
                       (_("to"), payload.get("to") or "")]
        elif event.kind == EventKind.STAFF_INVOLVED:
            title = step_title(task, payload.get("element"))
            details = [(_("added"), "、".join(payload.get("added") or []))]
        elif event.kind == EventKind.TIMER_FIRED:
            title = "、".join(deadline_names.get(t.get("element"), t.get("element", ""))
                             for t in payload.get("timers") or [])
        elif event.kind == EventKind.MESSAGE_RECEIVED:
            title = message_label(payload.get("name"))
            details = message_details(str(payload.get("name") or ""), payload.get("payload") or {})
        elif event.kind == EventKind.ATTACHMENT_ADDED:
            title = str(payload.get("filename") or "")
        elif event.kind == EventKind.INCIDENT:
            details = [(_("reason"), str(payload.get("reason") or ""))]
        elif event.kind == EventKind.NOTE_ADDED:
            details = [(_("note"), str(payload.get("text") or ""))]
        elif event.kind == EventKind.IMPROVEMENT_ANSWERED:
            title = str(payload.get("case") or "")
            details = [(_("Solved?"), _("Yes") if payload.get("solved") else _("No"))] + (
                [(_("Comment"), str(payload["comment"]))] if payload.get("comment") else [])
        elif event.kind == EventKind.IMPROVEMENT_LINKED:
            title = improvement_source(payload.get("source"))
            details = [(_("improvement item"), str(payload["item"]))] if payload.get("item") else [
                (_("complaints linked"), "、".join(payload.get("cases") or []))]
        elif event.kind in (EventKind.KNOWLEDGE_ADDED, EventKind.KNOWLEDGE_CORRECTED, EventKind.KNOWLEDGE_RETIRED):
            title = f"#{payload.get('entry')}"
            details = [(_("reason"), str(payload["reason"]))] if payload.get("reason") else []
        elif event.kind in (EventKind.CASE_SUSPENDED, EventKind.CASE_RESUMED, EventKind.CASE_CANCELLED):
            details = [(_("reason"), str(payload.get("reason") or ""))]
        elif event.kind == EventKind.CASE_DATA_CORRECTED:
            details = [(_("reason"), str(payload.get("reason") or ""))] + correction_rows(payload.get("changes"))
        elif event.kind == EventKind.CASE_MOVED_BACK:
            title = step_title(task, payload.get("element"))
            undone = [step_title(by_element.get(e), e) for e in payload.get("undone") or []]
            details = [(_("reason"), str(payload.get("reason") or "")), (_("undone"), "、".join(undone) or "—")]
        notified = [(n.get("role", ""), n.get("subject", "")) for n in payload.get("notified") or []]
        entries.append(TimelineEntry(event.at, event.actor, event.kind, title, details, notified))
    return list(reversed(entries))


def improvement_source(code: Any) -> str:
    """Why an improvement item was opened, in the words of the item's start form (its ``improvement-source``)."""
    deployment = engine().repository.active()
    process = deployment.catalogue.improvement_process
    form = deployment.start_form(process) if process else None
    field = form_field(form, Meaning.IMPROVEMENT_SOURCE)
    return str(forms.display_value(form, field, code)) if field and code is not None else str(code or "")


def correction_rows(changes: Any) -> list[tuple[str, str]]:
    """Each corrected field, labelled by the deployed form defining it: the value before and after."""
    defined = field_schemas(engine().repository.active())
    rows = []
    for key, change in (changes or {}).items() if isinstance(changes, dict) else ():
        form = defined[key][0][1] if key in defined else None
        rows.append((forms.field_label(form, key), _("%(before)s → %(after)s",
                                                     before=forms.display_value(form, key, change.get("before")),
                                                     after=forms.display_value(form, key, change.get("after")))))
    return rows


def deadline_rows(case: CaseView, by_id: dict[str, TaskView]) -> list[dict]:
    by_element = {t.name: t for t in by_id.values()}
    judged = engine().reports.case_deadlines(case.number)
    return [{"deadline": d, "name": forms.bilingual(d.name),
             "guards": step_title(by_element.get(d.guards), d.guards) if d.guards else "",
             "outcome": {"cancelled": "met", "fired": "missed"}.get(d.status, d.status),
             "margin_minutes": _minutes(judged.get((d.element_id, d.due_at)))}
            for d in case.deadlines]


def _minutes(outcome: Any) -> int | None:
    """How early (met) or late (missed) the guarded step was, in whole minutes."""
    if outcome is None or outcome.outcome == "pending":
        return None
    return int(outcome.margin.total_seconds() // 60)


# ------------------------------------------------------------------ the task page

def completed_by(number: str, task_id: str) -> tuple[str | None, Any]:
    for event in reversed(engine().history.events(number)):
        if event.kind == EventKind.TASK_COMPLETED and (event.payload or {}).get("task_id") == task_id:
            return event.actor, event.at
    return None, None


@dataclass(frozen=True)
class Shown:
    """A case field a form shows above itself (``x-show``): what the approver decides on, or the reason
    a planner's plan came back with, as the newest completed step recorded it."""

    label: str
    value: str
    step: str
    by: str
    at: Any


def shown_fields(form: dict | None, number: str) -> list[Shown]:
    names = [n for n in (form or {}).get("x-show") or [] if isinstance(n, str)]
    if not names:
        return []
    active = engine().repository.active()
    steps, schemas = active.catalogue.step_forms, active.forms
    found: dict[str, Shown] = {}
    for event in reversed(engine().history.events(number)):
        if event.kind != EventKind.TASK_COMPLETED:
            continue
        data, element = event.payload.get("data") or {}, event.payload.get("element")
        schema = schemas.get(steps.get(element) or "")
        for name in names:
            if name not in found and data.get(name) not in (None, ""):
                found[name] = Shown(forms.field_label(schema, name), forms.display_value(schema, name, data[name]),
                                    forms.form_title(schema, fallback=str(element or "")), event.actor, event.at)
        if len(found) == len(names):
            break
    return [found[n] for n in names if n in found]


def default_values(form: dict | None, number: str) -> dict[str, Any] | None:
    """The values a form starts from: its fields marked ``x-default-from`` take the value the newest completed
    step recorded for the case field named there (the approved amount for the amount paid); None: no such field."""
    props = (form or {}).get("properties") or {}
    wanted = {name: prop[DEFAULT_FROM] for name, prop in props.items()
              if isinstance(prop, dict) and isinstance(prop.get(DEFAULT_FROM), str)}
    if not wanted:
        return None
    found: dict[str, Any] = {}
    for event in reversed(engine().history.events(number)):
        if event.kind != EventKind.TASK_COMPLETED:
            continue
        data = event.payload.get("data") or {}
        for name, source in wanted.items():
            if name not in found and data.get(source) not in (None, ""):
                found[name] = data[source]
        if len(found) == len(wanted):
            break
    return found


def render_task(view: TaskView, case: CaseView, *, raw: Any = None, errors: dict | None = None,
                notice: str | None = None, status: int = 200) -> tuple[str, int]:
    eng = engine()
    me = user()
    read_only = current_user.read_only
    is_open = view.state == "open" and case.status == "open"
    mine = view.assignee == me
    holds_role = view.role in eng.access.roles_of(me) if view.role else False
    by_id = tasks_by_id(case.number)
    closed_by, closed_at = completed_by(case.number, view.id) if view.state == "completed" else (None, None)
    page = render_template(
        "cases/task.html", task=view, case=case, step=step_title(view),
        form=forms.build(view.form, raw if raw is not None else forms.raw_values(
            view.form or {}, default_values(view.form, case.number)), errors, replies=eng.repository.active().replies),
        can_submit=is_open and mine and not read_only, can_claim=is_open and not mine and holds_role and not read_only,
        can_unclaim=is_open and mine and not read_only, read_only=read_only, notice=notice,
        contact=eng.cases.contact(case.number, me), summary=summary_rows(case),
        deadlines=[row for row in deadline_rows(case, by_id) if row["deadline"].guards == view.name],
        events=timeline(case, by_id), closed_by=closed_by, closed_at=closed_at, now=eng.clock.now(),
        shown=shown_fields(view.form, case.number), staff_named=staff_named_by_customer(case, view),
        known_issues=eng.knowledge.known_issues(me, case.number) if shows_known_issues(view.form) else None,
        review=review_panel(view), verification=customer_answers(view, case),
    )
    return page, status


@dataclass(frozen=True)
class CustomerAnswers:
    """What the customers of the linked complaints answered, on the step verifying the item with them."""

    asked: int
    answers: list[Any]

    @property
    def solved(self) -> int:
        return sum(1 for a in self.answers if a.solved)


def customer_answers(view: TaskView, case: CaseView) -> CustomerAnswers | None:
    """On a step the diagram marks ``customerVerification = true``: the item's customers' answers so far."""
    eng = engine()
    if view.name not in eng.repository.active().catalogue.verification_steps:
        return None
    return CustomerAnswers(len(eng.improvements.links(case.number).cases), eng.verification.answers(case.number))


def staff_named_by_customer(case: CaseView, view: TaskView) -> str | None:
    """The customer's own words about whom they complain of, on a step whose form adds people complained
    about (the handler picks the real person there); None elsewhere. The forms' ``x-meaning`` say which."""
    if not form_field(view.form, Meaning.INVOLVED_STAFF):
        return None
    words = engine().repository.active().catalogue.value(case.summary or {}, Meaning.STAFF_NAMED)
    return (str(words).strip() or None) if words else None


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str):  # noqa: ANN201
    view = engine().tasks.get(task_id)
    if request.args.get(landing.LANDED):
        landing.say_landed()
    return render_task(view, open_case(view.case_number))


@bp.post("/tasks/<task_id>")
@login_required
@writer_required
def complete(task_id: str):  # noqa: ANN201
    eng = engine()
    view = eng.tasks.get(task_id)
    case = open_case(view.case_number)
    data, problems = forms.parse(view.form, request.form)
    try:
        expected = int(request.form.get("expected_version", ""))
    except ValueError:
        expected = None
    if problems:
        errors = dict(problems)
        try:
            validate_form(view.form, data)
        except FormInvalid as invalid:
            errors = {**invalid.errors, **problems}
        return render_task(view, case, raw=request.form, errors=errors, status=422)
    try:
        eng.tasks.complete(task_id, user(), data, expected_version=expected)
    except FormInvalid as invalid:
        return render_task(view, case, raw=request.form, errors=invalid.errors, status=422)
    except StaleCase:
        fresh_view, fresh_case = eng.tasks.get(task_id), open_case(view.case_number)
        if fresh_view.state == "open" and fresh_case.status == "open":
            notice = _("The case changed while you were working on it (another step or a deadline moved it on). "
                       "Your entries are kept below: check the case and submit again.")
            return render_task(fresh_view, fresh_case, raw=request.form, notice=notice, status=409)
        return task_closed(fresh_view, fresh_case)
    except TaskHeldByOther as held:  # a colleague claimed it meanwhile: keep the entries, say who has it
        return render_task(eng.tasks.get(task_id), open_case(view.case_number), raw=request.form,
                           notice=held_by_message(held), status=409)
    except (TaskAlreadyCompleted, TaskNotOpen, CaseArchived) as gone:
        return task_closed(eng.tasks.get(task_id), open_case(view.case_number), gone)
    following_steps = engine().tasks.for_case(view.case_number, "open")  # read once for the message and the way on
    flash(what_comes_next(view, following_steps), "ok")
    following = my_next_task(view.case_number, following_steps) if request.form.get("then") != "inbox" else None
    if following is not None:  # the case's next step is mine: straight to it, not back through the inbox
        return redirect(url_for("cases.task", task_id=following.id), code=303)
    return redirect(url_for("inbox.index"), code=303)


def my_next_task(number: str, open_steps: list[TaskView] | None = None) -> TaskView | None:
    """The case's open step this person holds now (the first, if several), for going on without the inbox."""
    me = user()
    steps = engine().tasks.for_case(number, "open") if open_steps is None else open_steps
    return next((t for t in steps if t.assignee == me), None)


def what_comes_next(done: TaskView, open_steps: list[TaskView]) -> dict:
    """The message after a submit: what was done, then what the case does now (the next steps and who
    holds them, what it waits for), with links, so nobody has to open the case page to learn who has it."""
    number, me = done.case_number, user()
    lines = [_("Done: “%(step)s” of case %(number)s.", step=step_title(done), number=number)]
    links: list[tuple[str, str]] = []
    try:
        case = open_case(number)
    except (NotAllowed, NotFound):
        return {"text": lines[0], "links": links}
    if case.status == CaseStatus.ARCHIVED:
        lines.append(_("The case is archived."))
    else:
        for task in open_steps:
            if task.assignee == me:
                who = _("you")
                links.append((_("Open “%(step)s”", step=step_title(task)), url_for("cases.task", task_id=task.id)))
            elif task.assignee:
                who = task.assignee
            else:
                who = _("the %(role)s group", role=role_label(task.role))
            lines.append(_("Next: “%(step)s”, held by %(who)s.", step=step_title(task), who=who))
        lines.extend(_("The case now waits for: %(what)s.", what=message_label(name)) for name in case.waiting_for)
        lines.extend(_("It waits until %(when)s (%(what)s).", when=local_time(wait.due_at),
                       what=forms.bilingual(wait.name))
                     for wait in case.deadlines if wait.guards is None and wait.status == "pending")
        if len(lines) == 1:
            lines.append(_("Nothing is open on the case right now."))
    links.append((_("See the case"), url_for("cases.case", number=number)))
    return {"text": " ".join(lines), "links": links}


def task_closed(view: TaskView, case: CaseView, error: Exception | None = None) -> tuple[str, int]:
    """A clear answer (409) when the task was finished or closed while the page was open."""
    by, at = (error.by, error.at) if isinstance(error, TaskAlreadyCompleted) else completed_by(case.number, view.id)
    if isinstance(error, TaskAlreadyCompleted) or view.state == "completed":
        reason = "completed"
    elif isinstance(error, CaseArchived) or case.status == CaseStatus.ARCHIVED:
        reason = CaseStatus.ARCHIVED.value
    else:
        reason = "closed"
    page = render_template("cases/task_closed.html", task=view, case=case, step=step_title(view), reason=reason,
                           by=by, at=at)
    return page, 409


# ------------------------------------------------------------------ the case page

MAX_QUERY = 200  # characters of a search: more is a paste accident, not a search


@bp.get("/cases")
@login_required
def find():  # noqa: ANN201
    """The header's search: a whole case number the person may open goes straight to the case; anything
    else (a fragment of the number, a name, the contact's last digits, a product, words of the problem)
    lists the matching cases they may open."""
    text = (request.args.get("q") or request.args.get("number") or "").strip()[:MAX_QUERY]
    if not text:
        return redirect(url_for("inbox.index"))
    eng = engine()
    number = text.upper()
    try:
        exact = " " not in number and eng.access.may_view(user(), number)
    except NotFound:
        exact = False
    if exact:
        return redirect(url_for("cases.case", number=number))
    return render_template("cases/search.html", text=text, hits=eng.search.find(user(), text))


def customer_link_purposes(view: CaseView) -> list[str]:
    """Which customer links make sense now: the case waits for a message a customer answers, or a step a
    customer may answer is open (the deployed version's catalogue says which)."""
    if view.status != "open" or current_user.read_only:
        return []
    catalogue = engine().repository.active().catalogue
    purposes = ["confirm"] if any(name in catalogue.customer_messages for name in view.waiting_for) else []
    if any(t.name in catalogue.customer_steps for t in view.open_tasks):
        purposes.append("survey")
    return purposes


@bp.get("/cases/<number>")
@login_required
def case(number: str):  # noqa: ANN201
    eng = engine()
    view = open_case(number)
    by_id = tasks_by_id(number)
    timed = deadline_rows(view, by_id)
    return render_template(
        "cases/case.html", case=view, contact=eng.cases.contact(number, user()), summary=summary_rows(view),
        deadlines=[row for row in timed if row["deadline"].guards],
        waits=[row for row in timed if not row["deadline"].guards],
        open_tasks=[by_id.get(t.id) for t in view.open_tasks if t.id in by_id],
        attachments=eng.attachments.list(number), events=timeline(view, by_id), now=eng.clock.now(),
        may_upload=view.status == "open" and not current_user.read_only, accept=",".join(ACCEPTED),
        step_title=step_title, link_purposes=customer_link_purposes(view),
        deliveries=eng.notifications.for_case(number),
        notes=eng.notes.for_case(number), **correction_choices(view),
        improvement=eng.improvements.links(number), improvement_source=improvement_source,
    )


def correction_choices(view: CaseView) -> dict[str, Any]:
    """What a supervisor may correct on an open case: its recorded fields and the steps it completed."""
    if not current_user.may_intervene or current_user.read_only or view.status != CaseStatus.OPEN:
        return {"correctable": [], "done_steps": []}
    fields, steps = engine().corrections.choices(view.number)
    return {"correctable": field_choices(fields), "done_steps": step_choices(steps)}


@bp.get("/cases/<number>/same-customer")
@login_required
def same_customer(number: str):  # noqa: ANN201
    """The customer's other complaints (same contact) that this person may open. A page of its own: the
    case page itself reads only its own case by index, whatever the number of cases."""
    open_case(number)
    return render_template("cases/search.html", text=number, hits=engine().search.same_customer(user(), number),
                           same_customer_of=number)


@bp.post("/cases/<number>/intervene")
@login_required
@writer_required
def intervene(number: str):  # noqa: ANN201
    """Suspend, resume or cancel the case, with a reason (``intervene = true`` roles only)."""
    if not current_user.may_intervene:
        abort(403)
    open_case(number)
    action, reason = request.form.get("action", ""), request.form.get("reason", "")
    steps = {"suspend": engine().intervention.suspend, "resume": engine().intervention.resume,
             "cancel": engine().intervention.cancel}
    if action not in steps:
        abort(400)
    try:
        steps[action](number, user(), reason)
    except FormInvalid:
        flash(_("Say why (at most 500 characters)."), "error")
    else:
        done = {"suspend": _("Case %(number)s is suspended: its deadlines are held until it is resumed."),
                "resume": _("Case %(number)s is resumed: deadlines that fell due meanwhile fire now."),
                "cancel": _("Case %(number)s is cancelled and archived.")}
        flash(done[action] % {"number": number}, "ok")
    return redirect(url_for("cases.case", number=number), code=303)


@bp.post("/cases/<number>/notes")
@login_required
@writer_required
def add_note(number: str):  # noqa: ANN201
    """An internal note; ``@username`` tells that person (their notification list and channels)."""
    open_case(number)  # 403/404 as the case page
    try:
        note = engine().notes.add(number, user(), request.form.get("note", ""))
    except FormInvalid:
        flash(_("A note needs some text (at most 2,000 characters)."), "error")
    except CaseArchived:
        flash(_("The case is archived and read-only."), "error")
    else:
        told = ", ".join("@" + name for name in note.mentioned)
        flash(_("Note added; %(who)s told.", who=told) if told else _("Note added."), "ok")
    return redirect(url_for("cases.case", number=number) + "#notes", code=303)


@bp.get("/cases/<number>/diagram.json")
@login_required
def diagram(number: str) -> Response:
    """The case's diagram and its path (done, current, overdue elements) for the viewer on the case page."""
    found = engine().diagrams.for_case(number, user())
    stage = found.stage
    return jsonify({"number": found.number, "version": found.version, "file": found.file, "xml": found.xml,
                    "done": found.done, "current": found.current, "overdue": found.overdue,
                    "stage": None if stage is None else {
                        "process": stage.process_id, "name": forms.bilingual(stage.name), "file": stage.file,
                        "xml": stage.xml, "done": stage.done, "current": stage.current, "overdue": found.overdue}})


@bp.get("/cases/<number>/replay")
@login_required
def replay(number: str) -> str:
    """Re-run the case from its recorded inputs on its own version and show, step by step, that it matches."""
    view = open_case(number)
    report = engine().replay.run(number)
    return render_template("cases/replay.html", case=view, report=report,
                           whats=replay_whats(report.steps))


def replay_whats(steps: list) -> list[str]:
    """What each replayed event was about in words: the step, message or process the diagrams name."""
    deployed = engine().repository.active()
    messages, names = deployed.catalogue.message_titles, deployed.element_names

    def what(step: Any) -> str:
        code = step.element_or_name or ""
        if step.kind == FINAL and code == STORED:
            return _("the case as stored")
        if code in messages:
            return message_label(code)
        return forms.bilingual(names[code]) if code in names else code

    return [what(step) for step in steps]


@bp.post("/cases/<number>/customer-link/<purpose>")
@login_required
@writer_required
def customer_link(number: str, purpose: str):  # noqa: ANN201
    """A single-use link for the customer (confirm the plan, answer the survey), to send them by SMS or mail."""
    from web.portal import LINK_PATHS, link_url

    if purpose not in LINK_PATHS:
        abort(404)
    open_case(number)
    link = request.host_url.rstrip("/") + link_url(number, purpose)
    flash(_("Link for the customer (works once): %(link)s", link=link), "ok")
    return redirect(url_for("cases.case", number=number), code=303)


@bp.post("/cases/<number>/attachments")
@login_required
@writer_required
def upload(number: str):  # noqa: ANN201
    open_case(number)
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        flash(_("Choose a photo or video to upload."), "error")
        return redirect(url_for("cases.case", number=number, _anchor="attachments"), code=303)
    added = 0
    for upload_file in files:
        try:
            engine().attachments.add(number, upload_file.filename, upload_file.mimetype, upload_file.read(), user())
            added += 1
        except FormInvalid as invalid:
            flash(_("Not uploaded: %(reason)s", reason=file_message(invalid)), "error")
        except CaseArchived:
            flash(_("The case is archived and takes no more attachments."), "error")
            break
    if added:
        flash(_("%(count)s attachment(s) added.", count=added), "ok")
    return redirect(url_for("cases.case", number=number, _anchor="attachments"), code=303)


def file_message(invalid: FormInvalid) -> str:
    message = invalid.errors.get("file") or str(invalid)
    name, _sep, reason = message.rpartition(": ")
    reasons = {
        "the file is empty": _("the file is empty"),
        "only photos (JPEG, PNG, WebP) and videos (MP4, MOV) are accepted":
            _("only photos (JPEG, PNG, WebP) and videos (MP4, MOV) are accepted"),
    }
    if reason in reasons:
        return f"{name}: {reasons[reason]}"
    if "may be at most" in reason:
        return f"{name}: " + _("too large (photos at most 10 MB, videos at most 100 MB)")
    if "not the declared" in reason:
        return f"{name}: " + _("the content does not match the file type")
    return message


@bp.get("/cases/<number>/attachments/<int:attachment_id>")
@login_required
def attachment(number: str, attachment_id: int) -> Response:
    open_case(number)
    view, path = engine().attachments.get(attachment_id)
    if view.case_number != number:
        raise NotFound(f"case {number} has no attachment {attachment_id}")
    response = send_file(path, mimetype=view.content_type, as_attachment=request.args.get("download") == "1",
                         download_name=view.filename, conditional=True, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ------------------------------------------------------------------ registering by phone or in store

def require_register() -> None:
    if current_user.read_only or not current_user.may_register:
        abort(403, description=_("Your role may not register complaints."))


@bp.route("/register", methods=["GET", "POST"])
@login_required
@writer_required
def register():  # noqa: ANN201
    require_register()
    schema = register_schema()
    if request.method == "GET":
        return render_register(schema)
    data, problems = forms.parse(schema, request.form, skip=("attachments",))
    files = [f for f in request.files.getlist("files") if f and f.filename]
    uploads, file_errors = [], []
    for upload_file in files:
        content = upload_file.read()
        try:
            check_file(upload_file.filename, upload_file.mimetype, content)
            uploads.append((upload_file.filename, upload_file.mimetype, content))
        except FormInvalid as invalid:
            file_errors.append(file_message(invalid))
    errors: dict[str, str] = dict(problems)
    if file_errors:
        errors["attachments"] = "; ".join(file_errors)
    if errors:
        try:
            validate_form(schema, data)
        except FormInvalid as invalid:
            errors = {**invalid.errors, **errors}
        return render_register(schema, errors, status=422, files_lost=bool(files))
    if uploads:  # the registration names its files; the files themselves follow once the case exists
        data["attachments"] = [clean_filename(filename) for filename, _type, _content in uploads]
    try:
        process = engine().repository.active().intake_process()
        started = engine().runtime.start_once(process, data, user(), registration_token())
    except FormInvalid as invalid:
        return render_register(schema, invalid.errors, status=422, files_lost=bool(files))
    except IdempotencyKeyReused:
        return render_register(schema, status=409, files_lost=bool(files), resent=True)
    number = started.number
    if not started.replayed:  # a double submit files the complaint and its files once
        for filename, content_type, content in uploads:
            engine().attachments.add(number, filename, content_type, content, user())
    flash(_("Complaint registered as %(number)s.", number=number), "ok")
    first = my_next_task(number)
    if first is not None:  # the first step is the registering person's own: open it at once
        return redirect(url_for("cases.task", task_id=first.id), code=303)
    if engine().access.may_view(user(), number):
        return redirect(url_for("cases.case", number=number), code=303)
    return redirect(url_for("inbox.index"), code=303)


def registration_token() -> str:
    """The page's own idempotency token (a double submit files one complaint); a fresh one if none came."""
    sent = (request.form.get("registration_token") or "").strip()
    return sent if 16 <= len(sent) <= 64 else secrets.token_urlsafe(24)


def render_register(schema: dict, errors: dict | None = None, status: int = 200,
                    files_lost: bool = False, resent: bool = False) -> tuple[str, int]:
    raw = request.form if request.method == "POST" else None
    attachments_error = forms.localize((errors or {}).get("attachments", "")) if errors else ""
    form = forms.build(schema, raw, {k: v for k, v in (errors or {}).items() if k != "attachments"},
                       skip=("attachments",))
    page = render_template("cases/register.html", form=form, attachments_error=attachments_error,
                           attachments_label=forms.field_label(schema, "attachments"), files_lost=files_lost,
                           accept=",".join(ACCEPTED), resent=resent,
                           registration_token=secrets.token_urlsafe(24) if raw is None or resent
                           else registration_token())
    return page, status


from web.cases.corrections import field_choices, step_choices  # noqa: E402  (its views need this blueprint)
