"""The engine the app runs on: views call its services and nothing below them."""

from __future__ import annotations

from flask import current_app

import engine as engine_package


def engine() -> engine_package.Engine:
    return current_app.extensions["complaintflow.engine"]


def local_path(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``: never redirect anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
