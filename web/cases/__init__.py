"""Handler pages for one case and one task, and registering a complaint taken by phone or in store."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cases", __name__, template_folder="templates")
