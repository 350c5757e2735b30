"""Customers' public pages: file a complaint, follow it, confirm a plan, answer a survey.

No login here. Intake and status look-ups are rate limited; the confirm and survey pages
are reached through signed, single-use, expiring links (``link_url``). Showing such a page
never uses the link up: only submitting the answer does, and it does so before the answer
is delivered, so a double submit cannot answer twice.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import (
    Blueprint,
    current_app,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from engine import forms as engine_forms
from engine import links
from engine.catalogue import DEFAULT_LINK_DAYS, Catalogue, CustomerMessage, Meaning, customer_constants, customer_view
from engine.errors import (
    CaseArchived,
    FormInvalid,
    IdempotencyKeyReused,
    MessageNotExpected,
    NotFound,
    TaskAlreadyCompleted,
    TaskNotOpen,
)
from engine.improvement_answers import MAX_COMMENT
from engine.links import LinkInvalid
from engine.replies import MAX_FILES, Upload
from engine.store.enums import EventKind
from engine.tasks import TaskView
from web import forms as web_forms
from web import i18n
from web.extensions import limiter
from web.portal import intake_form
from web.services import engine

bp = Blueprint("portal", __name__, template_folder="templates", url_prefix="/c")

CUSTOMER = "customer"
# ``confirm``: a yes or no to a message the diagram marks ``customerAnswers``; ``survey``: a step it
# marks ``customerMayAnswer``. Which message or step, and for how long, the deployed version says.
LINK_PATHS = {"confirm": ("portal.confirm", "confirm"), "survey": ("portal.survey", "survey"),
              "reply": ("portal.reply", "reply")}


def _catalogue() -> Catalogue:
    return engine().repository.active().catalogue


def customer_message(number: str) -> CustomerMessage | None:
    """The message the case waits for that a customer answers yes or no through a link, if any."""
    waiting = engine().cases.get(number).waiting_for
    return next((m for name, m in sorted(_catalogue().customer_messages.items()) if name in waiting), None)


def customer_step(number: str) -> TaskView | None:
    """The case's open step a customer may answer through a link, if any."""
    steps = _catalogue().customer_steps
    return next((t for t in engine().tasks.for_case(number) if t.name in steps), None)


def _link_days(number: str, purpose: str) -> int:
    """How long the customer has: the days the diagram gives the message or step the link answers."""
    catalogue = _catalogue()
    if purpose == "confirm":
        message = customer_message(number)
        found = [message] if message else list(catalogue.customer_messages.values())
    else:
        step = customer_step(number)
        found = [catalogue.customer_steps[step.name]] if step else list(catalogue.customer_steps.values())
    return min((f.link_days for f in found), default=DEFAULT_LINK_DAYS)


# ---------------------------------------------------------------- signed links



def link_url(number: str, purpose: str, valid_for: timedelta | None = None) -> str:
    """Issue a single-use link for ``number`` and return its path (e.g. ``/c/confirm/<signed>``).

    Validity defaults to the ``customerLinkDays`` of the message or step it answers.
    """
    if purpose not in LINK_PATHS:
        raise ValueError(f"unknown link purpose {purpose!r}")
    token = engine().links.issue(number, purpose, valid_for or timedelta(days=_link_days(number, purpose)))
    signed = links.sign(current_app.config["SECRET_KEY"], purpose, token)
    endpoint, segment = LINK_PATHS[purpose]
    if has_request_context():
        return url_for(endpoint, signed=signed)
    return f"{bp.url_prefix}/{segment}/{signed}"  # url_for needs a request (or SERVER_NAME) to build paths


def _token(signed: str, purpose: str) -> str | None:
    """The token id inside a signed link, or None when the signature does not hold (tampered)."""
    return links.unsign(current_app.config["SECRET_KEY"], purpose, signed)


def _link_problem(reason: str):  # noqa: ANN202
    """One friendly page for every link that cannot be used: 410 when it once worked, 404 otherwise."""
    code = 410 if reason in ("used", "expired", "closed") else 404
    return render_template("portal/link_problem.html", reason=reason), code


def _open_link(signed: str, purpose: str) -> tuple[str, str]:
    """(token id, case number) for a link usable now; ``LinkInvalid`` otherwise (tampered: ``unknown``)."""
    token = _token(signed, purpose)
    if token is None:
        raise LinkInvalid("unknown")
    return token, engine().links.check(token, purpose)


# ---------------------------------------------------------------- display helpers

def _locale() -> str:
    return i18n.select_locale()


def _local_time(moment: datetime | None) -> str:
    """A moment in the company's calendar time zone, as customers read it."""
    if moment is None:
        return ""
    return moment.astimezone(engine().repository.active().calendar.zone).strftime("%Y-%m-%d %H:%M")


def _step_title(title: str) -> str:
    """Diagram names read "中文 English"; a customer gets the half in their language."""
    cut = next((i for i, ch in enumerate(title) if ch.isascii() and ch.isalpha()), 0)
    if cut == 0:
        return title
    return title[:cut].strip() if _locale() == "zh_CN" else title[cut:].strip()


def _language() -> str:
    return "zh" if _locale().startswith("zh") else "en"


def _waiting_text(message: str) -> str:
    """What the customer is told while the case waits for ``message`` (``labels.toml`` ``customer_waiting``)."""
    return _catalogue().label("customer_waiting", message, _language()) or _("We are waiting for an answer from you.")


def _outcome_text(outcome: str | None) -> str:
    if not outcome:
        return ""
    return _catalogue().label("customer_outcomes", outcome, _language()) or outcome


def _shown(number: str) -> list[tuple[str, str]] | None:
    """What the customer decides on: the newest completed step whose form has fields for customers
    (``x-customer``), as (label, value) pairs in the form's order; None when no step shows anything."""
    catalogue = _catalogue()
    for event in reversed(engine().history.events(number)):
        if event.kind != EventKind.TASK_COMPLETED:
            continue
        view = catalogue.shown_to_customer(event.payload.get("element"))
        if view is None:
            continue
        data = event.payload.get("data") or {}
        return [(web_forms.field_label(view, name), web_forms.display_value(view, name, data.get(name)))
                for name in web_forms.field_names(view) if data.get(name) not in (None, "")]
    return None


# ---------------------------------------------------------------- intake

@bp.route("/complaint", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["INTAKE_LIMIT"], methods=["POST"])
def intake():  # noqa: ANN201
    schema = engine().repository.active().intake_form() or {}
    if request.method == "GET":
        return _intake_page(schema, {}, {})
    data = intake_form.parse(schema, request.form, _catalogue().field(Meaning.CHANNEL))
    token = registration_token()
    try:
        process = engine().repository.active().intake_process()
        locale = "en" if _locale().startswith("en") else "zh-CN"  # the customer's notices speak it
        number = engine().runtime.start_once(process, data, CUSTOMER, token, locale=locale).number
    except FormInvalid as error:
        return _intake_page(schema, data, error.errors, token), 422
    except IdempotencyKeyReused:  # the page was sent before with other content: a fresh form keeps both apart
        return _intake_page(schema, data, {}, new_registration_token(), resent=True), 409
    session["portal_registered"] = number  # a double submit lands here again with the same number
    return redirect(url_for("portal.registered"))  # a reload must not file the complaint twice


def new_registration_token() -> str:
    return secrets.token_urlsafe(24)


def registration_token() -> str:
    """The form's own idempotency token: a double submit or a browser's retry files one complaint.

    A form posted without one (an old page, a script) gets a token of its own: it behaves as before.
    """
    sent = (request.form.get("registration_token") or "").strip()
    return sent if 16 <= len(sent) <= 64 else new_registration_token()


def _intake_page(schema: dict, values: dict, errors: dict, token: str | None = None, resent: bool = False) -> str:
    shown = set(intake_form.customer_fields(schema))
    return render_template(
        "portal/intake.html", title=intake_form.labels(schema, _locale()).get("title") or _("File a complaint"),
        fields=intake_form.fields(schema, _locale(), values, errors),
        other_error=any(name not in shown for name in errors), registration_token=token or new_registration_token(),
        resent=resent,
    )


@bp.route("/complaint/received")
def registered():  # noqa: ANN201
    number = session.get("portal_registered")
    if not number:
        return redirect(url_for("portal.intake"))
    return render_template("portal/registered.html", number=number)


# ---------------------------------------------------------------- status

VIEWING = "portal_case"  # the session's one case, opened with a one-time code
ASKED = "portal_lookup"  # the number a code was asked for in this session


@bp.route("/status", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("STATUS_LIMIT", "30 per hour"), methods=["POST"])
def status():  # noqa: ANN201
    """Number and contact in, a one-time code out to that contact; the same answer whether or not they match.

    Posted, not a query string: the contact stays out of URLs, logs and browser history.
    """
    if request.method == "GET":
        number = session.get(VIEWING)
        if number:
            return _status_view(number)
        return render_template("portal/status.html", number=(request.args.get("number") or "").strip(), step="ask")
    number = (request.form.get("number") or "").strip().upper()
    contact = (request.form.get("address") or "").strip()
    if not number or not contact:
        return render_template("portal/status.html", number=number, step="ask", missing=True), 422
    engine().lookup.request(number, contact)
    session.pop(VIEWING, None)
    session[ASKED] = number
    return render_template("portal/status.html", number=number, step="code")


@bp.post("/status/code")
@limiter.limit(lambda: current_app.config.get("CODE_LIMIT", "30 per hour"))
def status_code():  # noqa: ANN201
    number = session.get(ASKED)
    if not number:
        return redirect(url_for("portal.status"))
    if not engine().lookup.verify(number, request.form.get("code") or ""):
        return render_template("portal/status.html", number=number, step="code", wrong=True), 422
    session.pop(ASKED, None)
    session[VIEWING] = number
    return redirect(url_for("portal.status"))


@bp.post("/status/leave")
def status_leave():  # noqa: ANN201
    session.pop(VIEWING, None)
    session.pop(ASKED, None)
    return redirect(url_for("portal.status"))


def _status_view(number: str):  # noqa: ANN202
    """What the customer needs of their case: status in their words, what we sent them, the plan to confirm;
    never internal notes or the people complained about."""
    try:
        found = engine().cases.public(number)
    except NotFound:
        session.pop(VIEWING, None)
        return redirect(url_for("portal.status"))
    summary = engine().cases.get(found.number).summary
    language = "en" if _locale().startswith("en") else "zh-CN"
    return render_template(
        "portal/status.html", number=number, step="view", found=found,
        stage=[_step_title(title) for title in found.stage],
        waiting=[_waiting_text(name) for name in found.waiting_for_customer],
        next_due=_local_time(found.next_due), registered_at=_local_time(found.registered_at),
        outcome=_outcome_text(found.outcome),
        product=_catalogue().value(summary, Meaning.PRODUCT) or "",
        description=_catalogue().value(summary, Meaning.DESCRIPTION) or "",
        messages=[(m.title, m.text, _local_time(m.sent_at)) for m in engine().notifications.to_customer(number,
                                                                                                       language)],
        plan=_shown(number) if customer_message(number) else None,
    )


# ---------------------------------------------------------------- plan confirmation

@bp.route("/confirm/<signed>", methods=["GET", "POST"])
def confirm(signed: str):  # noqa: ANN201
    try:
        token, number = _open_link(signed, "confirm")
    except LinkInvalid as error:
        return _link_problem(error.reason)
    message = customer_message(number)
    if message is None:
        return _link_problem("closed")
    if request.method == "GET":
        return render_template("portal/confirm.html", number=number, plan=_shown(number))
    answer = request.form.get("answer")
    if answer not in ("accept", "reject"):
        return render_template("portal/confirm.html", number=number, plan=_shown(number), missing=True), 422
    try:
        engine().links.use(token, "confirm")
    except LinkInvalid as error:
        return _link_problem(error.reason)
    try:
        engine().runtime.message(number, message.name, {message.answer_field: answer == "accept"}, CUSTOMER)
    except (MessageNotExpected, CaseArchived):
        return _link_problem("closed")
    text = _("Thank you: you accepted the plan. We will carry it out and tell you when it is done.") \
        if answer == "accept" else _("Thank you: you declined the plan. Customer service will contact you.")
    return render_template("portal/done.html", number=number, text=text)


# ---------------------------------------------------------------- satisfaction survey

@bp.route("/survey/<signed>", methods=["GET", "POST"])
def survey(signed: str):  # noqa: ANN201
    """The customer answers the open step the diagram lets customers answer, with that step's form
    reduced to its ``x-customer`` fields (plus the ``x-customer-value`` constants, e.g. reached)."""
    try:
        token, number = _open_link(signed, "survey")
    except LinkInvalid as error:
        return _link_problem(error.reason)
    step = customer_step(number)
    if step is None:
        return _link_problem("closed")
    view = customer_view(step.form or {}) or {"type": "object", "properties": {}}
    if request.method == "GET":
        return render_template("portal/survey.html", number=number, form=web_forms.build(view))
    data, errors = web_forms.parse(view, request.form)
    data.update(customer_constants(step.form))
    if not errors:
        try:  # check against the step's own form before the link is spent
            engine_forms.validate(step.form, data)
        except FormInvalid as error:
            errors = dict(error.errors)
    if errors:
        return render_template("portal/survey.html", number=number,
                               form=web_forms.build(view, request.form, errors)), 422
    try:
        engine().links.use(token, "survey")
    except LinkInvalid as error:
        return _link_problem(error.reason)
    try:
        engine().tasks.complete_for_customer(number, step.name, data)
    except (NotFound, TaskNotOpen, TaskAlreadyCompleted, CaseArchived):
        return _link_problem("closed")
    return render_template("portal/done.html", number=number, text=_("Thank you for your feedback."))


# ---------------------------------------------------------------- reply to a request for more information

@bp.route("/reply/<signed>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("REPLY_LIMIT", "20 per hour"), methods=["POST"])
def reply(signed: str):  # noqa: ANN201
    """The customer's answer (text and photos) to the request the notice carried this link for.

    Delivered as the message the diagram marks ``customerReplies``, with the photos and the spent link,
    in one transaction; a refused photo or an empty answer changes nothing and the link still works.
    """
    token = links.unsign(current_app.config["SECRET_KEY"], "reply", signed)
    try:
        if token is None:
            raise LinkInvalid("unknown")
        number, _message = engine().replies.open(token)
    except LinkInvalid as error:
        return _link_problem(error.reason)
    except MessageNotExpected:
        return _link_problem("closed")
    if request.method == "GET":
        return render_template("portal/reply.html", number=number, max_files=MAX_FILES, errors={}, text="")
    text = request.form.get("answer") or ""
    uploads = [Upload(f.filename, f.mimetype, f.read()) for f in request.files.getlist("files") if f and f.filename]
    try:
        engine().replies.answer(token, text, uploads)
    except FormInvalid as error:
        return render_template("portal/reply.html", number=number, max_files=MAX_FILES, errors=error.errors,
                               text=text), 422
    except LinkInvalid as error:
        return _link_problem(error.reason)
    except (MessageNotExpected, CaseArchived):
        return _link_problem("closed")
    return render_template("portal/done.html", number=number,
                           text=_("Thank you: we received your answer and will continue with your complaint."))


# ---------------------------------------------------------------- verifying an improvement with its customers

@bp.route("/verify/<signed>", methods=["GET", "POST"])
def verify(signed: str):  # noqa: ANN201
    """A linked complaint's customer says whether the improvement solved their problem (+ a comment).

    The link names their complaint and the improvement item; the answer is recorded on the item and the
    link spent in one transaction (``engine.improvement_answers``), so a second answer is refused (410).
    Shown: their own complaint's number and product only.
    """
    token = _token(signed, links.VERIFY)
    try:
        if token is None:
            raise LinkInvalid("unknown")
        question = engine().verification.question(token)
    except LinkInvalid as error:
        return _link_problem(error.reason)
    page = {"number": question.complaint, "product": question.product, "max_comment": MAX_COMMENT}
    if request.method == "GET":
        return render_template("portal/verify.html", **page, errors={}, comment="")
    solved, comment = request.form.get("solved"), request.form.get("comment") or ""
    errors = {}
    if solved not in ("yes", "no"):
        errors["solved"] = _("Please say whether the problem is solved.")
    if len(comment.strip()) > MAX_COMMENT:
        errors["comment"] = _("At most %(most)s characters, please.", most=MAX_COMMENT)
    if errors:
        return render_template("portal/verify.html", **page, errors=errors, comment=comment, solved=solved), 422
    try:
        engine().verification.answer(token, solved == "yes", comment)
    except LinkInvalid as error:
        return _link_problem(error.reason)
    except CaseArchived:
        return _link_problem("closed")
    return render_template("portal/done.html", number=question.complaint,
                           text=_("Thank you: your answer helps us check that the improvement works."))
