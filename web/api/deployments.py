"""Deploying the process owners' files through the API (the modeler and scripts use it).

``POST /deployments`` takes ``{files: {path: text | null}, note, replace}``: the files are laid
over those of the newest version (``null`` removes one) unless ``replace`` is true, validated
as a whole and deployed as a new version; any problem refuses all of it (422 with the problems).
"""

from __future__ import annotations

from flask import Response, abort, g, jsonify, request

from engine.errors import FormInvalid, NotFound
from web.api.common import body, bp, jsonable, require_writer, version_number
from web.auth import token_required
from web.services import engine


def version_json(version: object) -> dict:
    return jsonable(version)  # type: ignore[return-value]


@bp.get("/deployments")
@token_required
def list_deployments() -> Response:
    return jsonify([version_json(v) for v in engine().repository.versions()])


@bp.get("/deployments/<int:version>/diff")
@token_required
def deployment_diff(version: int) -> Response:
    """What a version changed (``?against=N``, default the version before): files, elements, deadlines."""
    against = request.args.get("against", type=int)
    for number in (version, against):
        if number is not None and not version_number(number):
            raise NotFound(f"no version {number}")
    return jsonify(jsonable(engine().repository.diff(version, against)))


@bp.post("/deployments")
@token_required
def create_deployment() -> Response | tuple[Response, int]:
    require_writer()
    eng = engine()
    if not eng.access.may_deploy(g.user.username):
        abort(403, description="only a process owner may deploy (roles.toml: deploy = true)")
    request_body = body()
    changes, note, replace = request_body.get("files"), request_body.get("note", ""), request_body.get("replace")
    problems = {}
    if not isinstance(changes, dict) or not changes:
        problems["files"] = "files maps each relative path (e.g. complaint.bpmn, forms/verify.json) to its text"
    elif any(not isinstance(k, str) or not (v is None or isinstance(v, str)) for k, v in changes.items()):
        problems["files"] = "each file is a path mapped to its text (or null to remove it)"
    elif any(k.startswith("/") or ".." in k.split("/") for k in changes):
        problems["files"] = "paths are relative to the workflows folder and may not leave it"
    if not isinstance(note, str):
        problems["note"] = "note is text: what changed and why"
    if problems:
        raise FormInvalid(problems)
    files: dict[str, str] = {}
    if not replace:
        try:
            files = eng.repository.files()
        except NotFound:
            files = {}
    for path, text in changes.items():
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
    versions = eng.repository.deploy_files(files, actor=g.user.username, note=note)
    eng.runtime.start_standing()  # a new standing process (schedules) starts running at once
    answer = jsonify({"versions": [version_json(v) for v in versions],
                      "unchanged": not versions})
    return (answer, 201) if versions else answer


@bp.post("/cases/<number>/migration")
@token_required
def migrate_case(number: str) -> Response:
    """Move a waiting case to a newer version (``{to_version}``, default the newest); 409 with the reasons."""
    require_writer()
    eng = engine()
    if not eng.access.may_deploy(g.user.username):
        abort(403, description="only a process owner may move cases between versions")
    request_body = body()
    to_version = request_body.get("to_version")
    if to_version is not None and not version_number(to_version):
        raise FormInvalid({"to_version": "to_version is a deployed version number"})
    return jsonify(jsonable(eng.migration.migrate(number, g.user.username, to_version)))
