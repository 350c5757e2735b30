"""Front-end libraries from the npm registry (``web/assets/package-lock.json``), served by the app.

``make`` runs ``npm ci`` into ``web/assets/node_modules``; nothing is fetched from a CDN, so
the modeler, the case diagrams and the statistics' charts work with no internet.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

bp = Blueprint("vendor", __name__)
MODULES = Path(__file__).parent / "assets" / "node_modules"
SERVED = {  # what the pages may load: package -> folder inside it
    "bpmn-js": "dist",
    "dmn-js": "dist",
    "chart.js": "dist",
}


@bp.get("/vendor/<package>/<path:name>")
def asset(package: str, name: str) -> Response:
    folder = SERVED.get(package)
    if folder is None:
        abort(404)
    root = MODULES / package / folder
    if not root.is_dir():
        abort(404, description=f"{package} is not installed: run make (npm ci --prefix web/assets)")
    response = send_from_directory(root, name, max_age=86400)
    return response
