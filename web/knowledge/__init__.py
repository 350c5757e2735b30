"""The knowledge base's pages (seed 003's 《问题-原因-解决方案》知识库): search and list, one entry, and the
quality lead's corrections and retirements.

Every signed-in person reads the lessons; the link to an entry's source case is shown only to those who
may open that case (never to a person it complains about). Who may correct or retire is
``knowledge = "edit"`` in ``roles.toml``. The entries themselves come from the deployed forms' ``x-knowledge``
fields (``engine.knowledge``); these views only search, show and pass on the quality lead's words.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import FormInvalid
from engine.knowledge import MAX_PART, Entry, defect_list
from engine.knowledge_marks import Part
from web.auth import writer_required
from web.forms import enum_label
from web.services import engine

bp = Blueprint("knowledge", __name__, template_folder="templates", url_prefix="/knowledge")


@bp.before_request
@login_required
def signed_in() -> None:
    """Every page here needs a signed-in person (``login_required`` runs first)."""


def defect_options() -> list[tuple[str, str]]:
    """(code, words in the viewer's language) of the process owner's defect list, for the filter."""
    found = defect_list(engine().repository.active().catalogue)
    if found is None:
        return []
    schema, name = found
    codes = ((schema.get("properties") or {}).get(name) or {}).get("enum") or []
    return [(str(code), enum_label(schema, name, code)) for code in codes]


def defect_label(code: str | None) -> str:
    if not code:
        return "—"
    return dict(defect_options()).get(code, code)


def _may_edit() -> bool:
    return engine().knowledge.may_edit(current_user.username) and not current_user.read_only


@bp.get("/")
def index() -> str:
    text, product, defect = (request.args.get(k, "").strip() for k in ("q", "product", "defect_type"))
    retired = request.args.get("retired") == "1"
    try:
        entries = engine().knowledge.search(current_user.username, text, product=product, defect_type=defect,
                                            include_retired=retired)
    except FormInvalid as invalid:
        abort(400, description="; ".join(invalid.errors.values()))
    return render_template("knowledge/index.html", entries=entries, text=text, product=product, defect=defect,
                           retired=retired, products=engine().knowledge.products(), defects=defect_options(),
                           defect_label=defect_label)


def render_entry(entry: Entry, errors: dict | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("knowledge/entry.html", entry=entry, defect_label=defect_label, may_edit=_may_edit(),
                           errors=errors or {}, max_part=MAX_PART), status


@bp.get("/<int:entry_id>")
def entry(entry_id: int) -> ResponseReturnValue:
    return render_entry(engine().knowledge.get(current_user.username, entry_id))


def _expected_version() -> int | None:
    text = request.form.get("version", "")
    return int(text) if text.isdigit() else None


@bp.post("/<int:entry_id>/correct")
@writer_required
def correct(entry_id: int) -> ResponseReturnValue:
    form = request.form
    try:
        engine().knowledge.correct(entry_id, current_user.username, form.get(Part.PROBLEM, ""),
                                   form.get(Part.CAUSE, ""), form.get(Part.SOLUTION, ""),
                                   expected_version=_expected_version())
    except FormInvalid as invalid:
        return render_entry(engine().knowledge.get(current_user.username, entry_id), invalid.errors, 422)
    flash(_("The entry was corrected."), "ok")
    return redirect(url_for("knowledge.entry", entry_id=entry_id), code=303)


@bp.post("/<int:entry_id>/retire")
@writer_required
def retire(entry_id: int) -> ResponseReturnValue:
    try:
        engine().knowledge.retire(entry_id, current_user.username, request.form.get("reason", ""),
                                  expected_version=_expected_version())
    except FormInvalid as invalid:
        return render_entry(engine().knowledge.get(current_user.username, entry_id), invalid.errors, 422)
    flash(_("The entry was retired: it is no longer shown as a known issue."), "ok")
    return redirect(url_for("knowledge.entry", entry_id=entry_id), code=303)
