"""The Flask app: handlers' inbox, customers' pages and the JSON API over one engine.

``create_app()`` reads its settings from the environment (see ``web.settings``); tests and
the CLI pass overrides and may hand in an engine they already opened.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

import engine as engine_package
from engine.clock import ManualClock
from web import errors, i18n, request_limits, security_headers
from web.extensions import babel, csrf, limiter, login_manager
from web.secret_key import instance_secret
from web.settings import from_environment


class IdleAwareSessions(SecureCookieSessionInterface):
    """The inbox's background refresh is not activity: it must not push the idle timeout back."""

    def should_set_cookie(self, app: Flask, session: object) -> bool:
        if request.headers.get("X-Auto-Refresh"):
            return False
        return super().should_set_cookie(app, session)


def create_app(overrides: dict | None = None, eng: engine_package.Engine | None = None) -> Flask:
    app = Flask(__name__)
    app.session_interface = IdleAwareSessions()
    app.config.from_mapping(from_environment())
    app.config.update(overrides or {})
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(Path(app.config["INSTANCE_DIR"]))
    if app.config.get("TRUSTED_PROXIES"):  # N proxies in front: their X-Forwarded-* headers are believed
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if eng is None:
        clock = ManualClock(datetime.now(UTC)) if app.config["MANUAL_CLOCK"] else None
        eng = engine_package.open(app.config["DATABASE_URL"], app.config["WORKFLOWS_DIR"], clock=clock)
    app.config["MANUAL_CLOCK"] = isinstance(eng.clock, ManualClock)
    app.extensions["complaintflow.engine"] = eng
    if not eng.notifications.settings.link_secret:  # notices sent from this process link as this app signs
        eng.notifications.settings = dataclasses.replace(eng.notifications.settings,
                                                         link_secret=app.config["SECRET_KEY"])

    i18n.compile_catalogs()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(i18n.translation_dirs())
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    errors.register(app)
    security_headers.register(app)

    from web import (
        account,
        api,
        audit,
        auth,
        board,
        cases,
        health,
        inbox,
        knowledge,
        notices,
        owner,
        pending,
        portal,
        statistics,
        vendor,
    )
    from web.oidc import bp as oidc_blueprint

    app.register_blueprint(auth.bp)
    app.register_blueprint(oidc_blueprint)
    app.register_blueprint(i18n.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(board.bp)
    app.register_blueprint(notices.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(vendor.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(owner.bp)
    app.register_blueprint(account.bp)
    from web import people  # noqa: I001  (people administration, issue 13)

    app.register_blueprint(people.bp)
    request_limits.register(app)
    app.register_blueprint(pending.bp)
    app.register_blueprint(knowledge.bp)
    app.register_blueprint(statistics.bp)
    health.register(app)  # /healthz, /readyz, /metrics: no login, no CSRF
    csrf.exempt(api.bp)  # the API authenticates each call with a bearer token, not a cookie

    @app.route("/")
    def index():  # noqa: ANN202
        return redirect(url_for("inbox.index") if current_user.is_authenticated else url_for("auth.login"))

    @app.context_processor
    def globals_for_templates() -> dict:
        idle = int(app.config["PERMANENT_SESSION_LIFETIME"].total_seconds())
        return {"languages": app.config["LANGUAGES"], "locale": i18n.select_locale(), "session_idle_seconds": idle}

    return app
