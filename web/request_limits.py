"""How large a request the public pages and the API take: 413 before anything reads the body.

The customers' pages and the login page (no login needed), the account page and the API read
small bodies: a complaint's longest text is a few thousand characters (each form field has its
``maxLength``), so a body past the limit is refused whole, with a page or JSON saying so, before
CSRF checks or parsing read it, and nothing is stored. Deploying files through the API keeps the
deploy page's larger limit; the staff's upload pages keep their own (``web.cases``).
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from web import errors

KB = 1024
LIMITED_BLUEPRINTS = ("portal", "api", "auth", "account")  # what anyone may post to, and small staff forms
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
LARGE_ENDPOINTS = {"api.create_deployment"}  # the process owners' files: the deploy page's limit


def request_limit() -> int | None:
    """The body limit of this request in bytes (None: the app's backstop or the blueprint's own)."""
    if request.blueprint not in LIMITED_BLUEPRINTS or request.method not in BODY_METHODS:
        return None
    config = current_app.config
    if request.endpoint in LARGE_ENDPOINTS:
        return config["DEPLOY_REQUEST_LIMIT"]
    return config["API_REQUEST_LIMIT"] if request.blueprint == "api" else config["PUBLIC_REQUEST_LIMIT"]


def limit_request_size() -> None:
    """First hook of every request: refuse a declared oversized body at once, and cap a streamed one."""
    limit = request_limit()
    if limit is None:
        return
    request.max_content_length = limit
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """413 in the caller's language, saying how much is allowed (JSON under /api, a page elsewhere)."""
    limit = request.max_content_length or current_app.config.get("MAX_CONTENT_LENGTH") or 0
    message = _("The request is too large (at most %(size)s kB). Shorten the texts and send it again.",
                size=limit // KB)
    if errors.wants_json():
        return jsonify({"error": "Request Entity Too Large", "code": "request_too_large", "message": message,
                        "limit": limit}), 413
    return errors.error_page(413, message)


def register(app: Flask) -> None:
    app.config.setdefault("PUBLIC_REQUEST_LIMIT", 256 * KB)
    app.config.setdefault("API_REQUEST_LIMIT", 1024 * KB)
    app.config.setdefault("DEPLOY_REQUEST_LIMIT", 8 * 1024 * KB)
    # First in line: CSRF protection and the rate limiter read the body in hooks of their own.
    app.before_request_funcs.setdefault(None, []).insert(0, limit_request_size)
    app.register_error_handler(RequestEntityTooLarge, too_large)
