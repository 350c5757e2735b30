"""Process owners' pages: edit the deployed files in the browser, validate, deploy, compare versions.

- ``/owner/``: the newest version's files (each opens in the modeler or a text editor) and the versions;
- ``/owner/model/<name>``: bpmn-js with a small panel for what SpiffWorkflow executes (timers,
  conditions, lanes, decisions, forms);
- ``/owner/edit/<name>``: a plain textarea for forms, decisions (DMN as XML) and the calendar;
- ``/owner/versions``: every version with what it changed (deadlines before → after).

The pages talk to JSON endpoints here (session cookie + CSRF header) rather than to ``/api/v1``,
which wants a bearer token. A deploy lays the edited files over the newest version and names the
version it was edited from: if someone deployed meanwhile it is refused (409) instead of silently
undoing their change. Only people whose role may deploy (``roles.toml``) get in; others get 403.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, flash, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine import roles
from engine.errors import DeployError, NotFound
from engine.repository import DeployedVersion
from web import forms, i18n
from web.api.common import jsonable
from web.auth import writer_required
from web.cases.display import role_label
from web.owner.modeler_words import modeler_words
from web.services import engine

bp = Blueprint("owner", __name__, url_prefix="/owner", template_folder="templates", static_folder="static")

TEXT_SUFFIXES = (".json", ".dmn", ".toml", ".bpmn")
DIFFS_SHOWN = 20  # the versions page computes the diffs of the newest versions only
MAX_DEPLOY_BYTES = 8 * 1024 * 1024
MIGRATION_SHOWN = 200  # cases listed (and moved by one click) at a time


@bp.before_request
@login_required
@writer_required
def owners_only() -> None:
    """Every page and endpoint here changes (or prepares changing) what the engine runs."""
    if not engine().access.may_deploy(current_user.username):
        abort(403, description=_("Only a process owner may edit and deploy the process."))


def _newest() -> tuple[int, dict[str, str]]:
    """The newest version's number and files (version 0 and nothing before the first deploy)."""
    versions = engine().repository.versions()
    if not versions:
        return 0, {}
    return versions[-1].version, engine().repository.files(versions[-1].version)


def _file(name: str) -> tuple[int, str]:
    version, files = _newest()
    if name not in files:
        abort(404, description=_("There is no file %(name)s in the deployed version.", name=name))
    return version, files[name]


def decision_ids(files: dict[str, str]) -> list[str]:
    """The decisions a business rule task may call, for the panel's suggestions."""
    found = set()
    for name, text in files.items():
        if name.endswith(".dmn"):
            found.update(re.findall(r"<(?:\w+:)?decision\b[^>]*\bid=\"([^\"]+)\"", text))
    return sorted(found)


def lane_roles(files: dict[str, str]) -> dict[str, str]:
    """The roles a lane may name (``roles.toml`` and the lanes in use), with their label, for suggestions."""
    found = set()
    for name, text in files.items():
        if name.endswith(".bpmn"):
            found.update(re.findall(r"<(?:\w+:)?lane\b[^>]*\bname=\"([^\"]+)\"", text))
    defined = roles.of_files(files)  # a broken roles.toml reads as none: the deploy reports it
    found.update(defined)
    language = "zh" if i18n.select_locale().startswith("zh") else "en"
    return {role: str(defined[role].get(language) or defined[role].get("en") or role) if role in defined
            else role_label(role) for role in sorted(found)}


@bp.get("/")
def index() -> str:
    version, files = _newest()
    return render_template("owner/index.html", version=version, files=sorted(files),
                           versions=list(reversed(engine().repository.versions())),
                           notice_channels=engine().notifications.settings.channels[1:])


@bp.get("/model/<path:name>")
def model(name: str) -> str:
    if not name.endswith(".bpmn"):
        abort(404)
    version, files = _newest()
    if name not in files:
        abort(404)
    return render_template("owner/model.html", name=name, version=version, decisions=decision_ids(files),
                           roles=lane_roles(files), words=modeler_words(),
                           forms=sorted(f.removeprefix("forms/") for f in files if f.startswith("forms/")))


@bp.get("/edit/<path:name>")
def edit(name: str) -> str:
    if not name.endswith(TEXT_SUFFIXES):
        abort(404)
    version, text = _file(name)
    return render_template("owner/edit.html", name=name, version=version, text=text)


@bp.get("/files/<path:name>")
def file_text(name: str) -> Response:
    """One file of the newest version (or ``?version=N``) as text, for the modeler to load."""
    version = request.args.get("version", type=int)
    try:
        files = engine().repository.files(version)
    except NotFound:
        abort(404)
    if name not in files:
        abort(404)
    return Response(files[name], mimetype="text/plain; charset=utf-8")


def _version_json(version: DeployedVersion) -> dict:
    return jsonable(version)  # type: ignore[return-value]


@bp.post("/deploy")
def deploy() -> tuple[Response, int]:
    """``{files: {path: text}, note, base_version}`` → 201 ``{versions}``, 422 ``{problems}``, 409 stale.

    The CSRF header is checked by Flask-WTF before this runs, as for any form post.
    """
    if (request.content_length or 0) > MAX_DEPLOY_BYTES:
        abort(413)
    data = request.get_json(silent=True)
    changes = data.get("files") if isinstance(data, dict) else None
    note = data.get("note", "") if isinstance(data, dict) else None
    if (not isinstance(changes, dict) or not changes or not isinstance(note, str)
            or any(not isinstance(k, str) or not isinstance(v, str) for k, v in changes.items())):
        return jsonify({"message": "send {files: {path: text}, note: text, base_version: number}"}), 400
    newest, files = _newest()
    base = data.get("base_version")
    if base is not None and base != newest:
        return jsonify({"message": _("Version %(newest)s was deployed after you opened the file: reload it, "
                                     "redo your change and deploy again.", newest=newest), "newest": newest}), 409
    unknown = sorted(k for k in changes if k not in files)
    if unknown:  # the pages edit the deployed files; adding or removing files is the API's job
        return jsonify({"message": _("Not a file of the deployed version: %(names)s", names=", ".join(unknown))}), 400
    files.update(changes)
    eng = engine()
    try:
        versions = eng.repository.deploy_files(files, actor=current_user.username, note=note.strip())
    except DeployError as refused:
        problems = [p.as_dict(i18n.current_language()) for p in refused.problems]
        return jsonify({"problems": problems}), 422
    eng.runtime.start_standing()  # a new standing process (schedules) runs at once
    if not versions:
        return jsonify({"versions": [], "unchanged": True, "newest": newest}), 200
    return jsonify({"versions": [_version_json(v) for v in versions], "newest": versions[-1].version}), 201


@bp.get("/versions")
def versions() -> str:
    repository = engine().repository
    listed = list(reversed(repository.versions()))
    diffs = {v.version: repository.diff(v.version) for v in listed[:DIFFS_SHOWN]}
    named = repository.active().element_names if listed else {}
    names = {p: forms.bilingual(named.get(p, p)) for v in listed for p in v.processes}
    return render_template("owner/versions.html", versions=listed, diffs=diffs, names=names)


@bp.get("/migration")
def migration() -> str:
    """Cases still on older versions, each with whether it could move to the newest and, if not, why."""
    eng = engine()
    checks = [eng.migration.check(number) for number, _version in eng.migration.older_cases(MIGRATION_SHOWN)]
    return render_template("owner/migration.html", checks=checks, results=None)


@bp.post("/migration")
def migrate() -> str:
    """Move the chosen cases (or every one that can) to the newest version; refusals are listed with reasons."""
    eng = engine()
    chosen = request.form.getlist("number") or [n for n, _v in eng.migration.older_cases(MIGRATION_SHOWN)]
    results = [eng.migration.try_migrate(number, current_user.username) for number in chosen]
    moved = sum(1 for r in results if r.migrated)
    flash(_("%(moved)s of %(total)s case(s) moved to the newest version.", moved=moved, total=len(results)),
          "ok" if moved else "error")
    checks = [eng.migration.check(number) for number, _version in eng.migration.older_cases(MIGRATION_SHOWN)]
    return render_template("owner/migration.html", checks=checks, results=results)
