"""The engine the app runs on: views call its services and nothing below them."""

from __future__ import annotations

from flask import current_app

import engine as engine_package


def engine() -> engine_package.Engine:
    return current_app.extensions["complaintflow.engine"]
