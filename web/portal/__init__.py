"""Customers' public pages: file a complaint, follow it, confirm a plan, answer a survey."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__, template_folder="templates", url_prefix="/c")
