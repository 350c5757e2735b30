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
from itsdangerous import BadSignature, URLSafeSerializer

from engine import forms as engine_forms
from engine.errors import (
    CaseArchived,
    FormInvalid,
    IdempotencyKeyReused,
    MessageNotExpected,
    NotFound,
    TaskAlreadyCompleted,
    TaskNotOpen,
)
from engine.links import LinkInvalid
from web import i18n
from web.extensions import limiter
from web.portal import intake_form
from web.services import engine

bp = Blueprint("portal", __name__, template_folder="templates", url_prefix="/c")

CUSTOMER = "customer"
LINK_VALIDITY = {"plan_confirmation": timedelta(days=3), "survey": timedelta(days=7)}
LINK_PATHS = {"plan_confirmation": ("portal.confirm", "confirm"), "survey": ("portal.survey", "survey")}
PLAN_ELEMENTS = {"propose_plan", "tier1_new_plan", "tier2_new_plan", "tier3_new_plan"}
SURVEY_STEP = "callback"
SATISFACTION_LABELS = ("very_satisfied", "satisfied", "neutral", "unsatisfied")


# ---------------------------------------------------------------- signed links

def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"complaintflow-link-{purpose}")


def link_url(number: str, purpose: str, valid_for: timedelta | None = None) -> str:
    """Issue a single-use link for ``number`` and return its path (e.g. ``/c/confirm/<signed>``).

    Validity defaults to 3 days for a plan confirmation and 7 for the survey.
    """
    token = engine().links.issue(number, purpose, valid_for or LINK_VALIDITY[purpose])
    signed = _serializer(purpose).dumps(token)
    endpoint, segment = LINK_PATHS[purpose]
    if has_request_context():
        return url_for(endpoint, signed=signed)
    return f"{bp.url_prefix}/{segment}/{signed}"  # url_for needs a request (or SERVER_NAME) to build paths


def _token(signed: str, purpose: str) -> str | None:
    """The token id inside a signed link, or None when the signature does not hold (tampered)."""
    try:
        value = _serializer(purpose).loads(signed)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


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


def _waiting_text(message: str) -> str:
    texts = {
        "customer_reply": _("We are waiting for more information from you; customer service will contact you."),
        "plan_confirmation": _("We are waiting for you to confirm the proposed plan."),
    }
    return texts.get(message, _("We are waiting for an answer from you."))


def _outcome_text(outcome: str | None) -> str:
    texts = {
        "resolved": _("Resolved"), "unresolved": _("Closed without a resolution"),
        "not_a_defect": _("Explained: not a product defect"), "final_decision": _("Closed with a final decision"),
    }
    return texts.get(outcome or "", outcome or "")


def _plan(number: str) -> dict | None:
    """The newest plan proposed to the customer, reduced to what they need to decide."""
    plans = [e for e in engine().history.events(number)
             if e.kind == "task_completed" and e.payload.get("element") in PLAN_ELEMENTS]
    if not plans:
        return None
    data = plans[-1].payload.get("data") or {}
    form = engine().repository.active().form("propose_plan.json") or {}
    type_labels = (intake_form.labels(form, _locale()).get("enum") or {}).get("plan_type") or {}
    return {"type": type_labels.get(data.get("plan_type"), data.get("plan_type") or ""),
            "details": data.get("plan_details") or "", "amount": data.get("compensation_amount") or 0}


# ---------------------------------------------------------------- intake

@bp.route("/complaint", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["INTAKE_LIMIT"], methods=["POST"])
def intake():  # noqa: ANN201
    schema = engine().repository.active().intake_form() or {}
    if request.method == "GET":
        return _intake_page(schema, {}, {})
    data = intake_form.parse(schema, request.form)
    token = registration_token()
    try:
        process = engine().repository.active().intake_process()
        number = engine().runtime.start_once(process, data, CUSTOMER, token).number
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

@bp.route("/status", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("STATUS_LIMIT", "30 per hour"), methods=["POST"])
def status():  # noqa: ANN201
    """Posted, not a query string: the contact's digits stay out of URLs, logs and browser history."""
    number = (request.values.get("number") or "").strip()
    if request.method == "GET":
        return render_template("portal/status.html", number=number, found=None, not_found=False)
    try:
        found = engine().cases.public_status(number, (request.form.get("last4") or "").strip())
    except NotFound:
        return render_template("portal/status.html", number=number, found=None, not_found=True), 404
    summary = engine().cases.get(found.number).summary
    return render_template(
        "portal/status.html", number=number, not_found=False, found=found,
        stage=[_step_title(title) for title in found.stage],
        waiting=[_waiting_text(name) for name in found.waiting_for_customer],
        next_due=_local_time(found.next_due), registered_at=_local_time(found.registered_at),
        outcome=_outcome_text(found.outcome),
        product=summary.get("product_name") or "", description=summary.get("description") or "",
    )


# ---------------------------------------------------------------- plan confirmation

@bp.route("/confirm/<signed>", methods=["GET", "POST"])
def confirm(signed: str):  # noqa: ANN201
    try:
        token, number = _open_link(signed, "plan_confirmation")
    except LinkInvalid as error:
        return _link_problem(error.reason)
    if "plan_confirmation" not in engine().cases.get(number).waiting_for:
        return _link_problem("closed")
    if request.method == "GET":
        return render_template("portal/confirm.html", number=number, plan=_plan(number))
    answer = request.form.get("answer")
    if answer not in ("accept", "reject"):
        return render_template("portal/confirm.html", number=number, plan=_plan(number), missing=True), 422
    try:
        engine().links.use(token, "plan_confirmation")
    except LinkInvalid as error:
        return _link_problem(error.reason)
    try:
        engine().runtime.message(number, "plan_confirmation", {"accepted": answer == "accept"}, CUSTOMER)
    except (MessageNotExpected, CaseArchived):
        return _link_problem("closed")
    text = _("Thank you: you accepted the plan. We will carry it out and tell you when it is done.") \
        if answer == "accept" else _("Thank you: you declined the plan. Customer service will contact you.")
    return render_template("portal/done.html", number=number, text=text)


# ---------------------------------------------------------------- satisfaction survey

@bp.route("/survey/<signed>", methods=["GET", "POST"])
def survey(signed: str):  # noqa: ANN201
    try:
        token, number = _open_link(signed, "survey")
    except LinkInvalid as error:
        return _link_problem(error.reason)
    step = next((t for t in engine().tasks.for_case(number) if t.name == SURVEY_STEP), None)
    if step is None:
        return _link_problem("closed")
    labels = (intake_form.labels(step.form or {}, _locale()).get("enum") or {}).get("satisfaction_label") or {}
    choices = [(value, labels.get(value, value)) for value in SATISFACTION_LABELS]
    if request.method == "GET":
        return render_template("portal/survey.html", number=number, choices=choices, values={}, errors={})
    data, errors = _survey_answer(request.form)
    if not errors:
        try:  # check against the step's own form before the link is spent
            engine_forms.validate(step.form, data)
        except FormInvalid as error:
            errors = {name: intake_form.friendly(message) for name, message in error.errors.items()}
    if errors:
        return render_template("portal/survey.html", number=number, choices=choices, values=request.form,
                               errors=errors), 422
    try:
        engine().links.use(token, "survey")
    except LinkInvalid as error:
        return _link_problem(error.reason)
    try:
        engine().tasks.complete_for_customer(number, SURVEY_STEP, data)
    except (NotFound, TaskNotOpen, TaskAlreadyCompleted, CaseArchived):
        return _link_problem("closed")
    return render_template("portal/done.html", number=number, text=_("Thank you for your feedback."))


def _survey_answer(form: dict) -> tuple[dict, dict]:
    """Posted strings → the callback step's data (the customer answering is, by definition, reached)."""
    errors = {}
    score = (form.get("satisfaction") or "").strip()
    if score not in ("1", "2", "3", "4", "5"):
        errors["satisfaction"] = _("Please choose a score from 1 to 5.")
    label = (form.get("satisfaction_label") or "").strip() or None
    if label is not None and label not in SATISFACTION_LABELS:
        errors["satisfaction_label"] = _("Please check this value.")
    data = {"reached": True, "satisfaction": int(score) if not errors.get("satisfaction") else None,
            "satisfaction_label": label, "comments": (form.get("comments") or "").strip()}
    return data, errors
