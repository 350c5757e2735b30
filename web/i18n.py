"""zh-CN (default) and English through Flask-Babel; a person's choice is kept in the session.

Catalogs are ``.po`` files in the repository; they are compiled to ``.mo`` when the app
starts if the ``.mo`` is missing or older, so a fresh clone needs no extra build step.
Each blueprint may keep its own ``translations/`` folder; Flask-Babel merges them, and on a blueprint's
own pages its catalogue is merged last, so it wins there (the audit form's "to" is a date's 至, the
timeline's the new assignee) while other pages keep theirs.
"""

from __future__ import annotations

from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_babel import Domain

from web.services import local_path

bp = Blueprint("i18n", __name__)
WEB = Path(__file__).parent


def translation_dirs() -> list[str]:
    return [str(path) for path in sorted(WEB.glob("**/translations")) if path.is_dir()]


_OWN: dict[str, Domain] = {}  # a blueprint's translations folder -> its domain (each caches its catalogues)


def own_domain(folder: str) -> Domain:
    """Every catalogue, the blueprint's own (``folder``) merged last: where they differ, it wins."""
    domain = _OWN.get(folder)
    if domain is None:
        domain = _OWN[folder] = Domain([d for d in translation_dirs() if d != folder] + [folder])
    return domain


@bp.before_app_request
def use_own_catalogue() -> None:
    """On a blueprint's page, its own catalogue wins over the others (the main one included)."""
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if blueprint is None:
        return
    folder = str(Path(blueprint.root_path) / "translations")
    if folder in translation_dirs():
        own_domain(folder).as_default()


def compile_catalogs() -> None:
    """``.po`` → ``.mo`` under the folder gettext will look in.

    Babel reads ``zh_CN`` as ``zh_Hans_CN`` and gettext then looks in ``zh_Hans_CN/``, so the
    compiled catalog goes there (a generated folder, ignored by git) while the ``.po`` stays
    under the familiar ``zh_CN/``.
    """
    for directory in translation_dirs():
        for po_path in Path(directory).glob("*/LC_MESSAGES/*.po"):
            folder = str(Locale.parse(po_path.parent.parent.name))
            mo_path = Path(directory) / folder / "LC_MESSAGES" / po_path.with_suffix(".mo").name
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)


def select_locale() -> str:
    chosen = session.get("lang")
    languages = current_app.config["LANGUAGES"]
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(list(languages)) or current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    """``zh`` or ``en``: the language engine messages (deploy refusals) are rendered in."""
    from flask_babel import get_locale

    locale = get_locale()
    return "zh" if locale is None or str(locale).lower().startswith("zh") else "en"


@bp.route("/lang/<code>")
def switch(code: str):  # noqa: ANN201
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.args.get("next") or request.referrer or ""
    if target.startswith(request.host_url):  # the referrer is a full address on this site
        target = "/" + target.removeprefix(request.host_url)
    return redirect(local_path(target, url_for("index")))
