"""A supervisor corrects a case from its page: a recorded value, or the step it is at (``engine.corrections``).

Only roles with ``intervene = true`` (``roles.toml``) see the forms or may post them; both need a
reason, both are refused while the case is suspended or archived, with the person's language.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.corrections import DoneStep, Field
from engine.errors import CaseArchived, CaseSuspended, CorrectionBreaksForm, FormInvalid, StepNotDone
from web import forms
from web.auth import writer_required
from web.cases import bp, open_case, user
from web.cases.display import role_label
from web.errors import page_message
from web.services import engine

REASON = "reason"


def field_choices(fields: list[Field]) -> list[dict[str, Any]]:
    """The fields for the form's list: label, the value held now, the choices (an enum's labels)."""
    return [{"name": f.name, "label": forms.field_label(f.form, f.name),
             "value": forms.display_value(f.form, f.name, f.value),
             "choices": [forms.enum_label(f.form, f.name, v) for v in f.schema.get("enum") or []]}
            for f in fields]


def step_choices(steps: list[DoneStep]) -> list[dict[str, str]]:
    return [{"element": s.element, "label": forms.bilingual(s.title), "role": role_label(s.role)} for s in steps]


def _typed(field: Field, text: str) -> tuple[dict, str | None]:
    """The posted text as the field's JSON type; an enum may be given by its label. (values, problem)"""
    text = text.strip()
    for code in field.schema.get("enum") or []:
        if text in (str(code), forms.enum_label(field.form, field.name, code)):
            return {field.name: code}, None
    data, problems = forms.parse({"type": "object", "properties": {field.name: field.schema}}, {field.name: text})
    if problems:
        return {}, forms.localize(problems[field.name])
    if field.name not in data:
        return {}, forms.localize("this field is required")
    return data, None


def _refused(error: Exception, label: str = "") -> None:
    if isinstance(error, CorrectionBreaksForm):
        flash(_("%(field)s was not corrected: with this value the data recorded with the form “%(form)s” breaks "
                "its rule %(rule)s: %(other)s: %(problem)s. Nothing changed: choose a value the form allows, or move "
                "the case back to that step to redo it.", field=label,
                form=forms.form_title(error.schema, fallback=error.form), rule=error.rule,
                other=forms.field_label(error.schema, error.field),
                problem=forms.localize(error.problem)), "error")
    elif isinstance(error, FormInvalid):
        if REASON in error.errors:
            flash(_("Say why (at most 500 characters)."), "error")
        else:
            problem = next(iter(error.errors.values()), "")
            flash(_("%(field)s: %(problem)s", field=label, problem=forms.localize(problem)), "error")
    else:
        flash(page_message(error) if not isinstance(error, StepNotDone) else
              _("The case has not completed that step: it cannot go back to it."), "error")


def _back(number: str):  # noqa: ANN202
    return redirect(url_for("cases.case", number=number) + "#intervene", code=303)


@bp.post("/cases/<number>/correct")
@login_required
@writer_required
def correct(number: str):  # noqa: ANN201
    """Correct one recorded value of the case, with a reason (recorded with the value before and after)."""
    if not current_user.may_intervene:
        abort(403)
    open_case(number)
    eng = engine()
    fields = {f.name: f for f in eng.corrections.fields(number)}
    field = fields.get(request.form.get("field", ""))
    if field is None:
        flash(_("Choose a field the case holds."), "error")
        return _back(number)
    label = forms.field_label(field.form, field.name)
    values, problem = _typed(field, request.form.get("value", ""))
    if problem:
        flash(_("%(field)s: %(problem)s", field=label, problem=problem), "error")
        return _back(number)
    try:
        eng.corrections.correct(number, user(), values, request.form.get(REASON, ""))
    except (FormInvalid, CaseSuspended, CaseArchived) as refused:
        _refused(refused, label)
    else:
        flash(_("%(field)s of case %(number)s is corrected; the history keeps the value before.",
                field=label, number=number), "ok")
    return _back(number)


@bp.post("/cases/<number>/move-back")
@login_required
@writer_required
def move_back(number: str):  # noqa: ANN201
    """Move the case back to a step it completed: what came after is undone, the step opens again."""
    if not current_user.may_intervene:
        abort(403)
    open_case(number)
    eng = engine()
    element = request.form.get("step", "")
    steps = {s.element: s for s in eng.corrections.done_steps(number)}
    if element not in steps:
        flash(_("The case has not completed that step: it cannot go back to it."), "error")
        return _back(number)
    try:
        eng.corrections.move_back(number, user(), element, request.form.get(REASON, ""))
    except (FormInvalid, CaseSuspended, CaseArchived, StepNotDone) as refused:
        _refused(refused)
    else:
        step = steps[element]
        flash(_("Case %(number)s is back at %(step)s: the step is open again for %(role)s.", number=number,
                step=forms.bilingual(step.title), role=role_label(step.role)), "ok")
    return _back(number)
