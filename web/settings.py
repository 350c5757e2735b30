"""The web app's settings, from environment variables (12-factor), with demo-friendly defaults."""

from __future__ import annotations

import os
from datetime import timedelta

from engine import instance


def insecure_cookies() -> bool:
    """``COMPLAINTFLOW_INSECURE_COOKIES=1``: local development over http://, where Secure cookies are never sent."""
    return os.environ.get("COMPLAINTFLOW_INSECURE_COOKIES", "").lower() in ("1", "true", "yes")


def from_environment() -> dict:
    """Flask config keys read from ``COMPLAINTFLOW_*`` variables."""
    where = instance.resolve()
    return {
        "DATABASE_URL": where.database_url,
        "WORKFLOWS_DIR": os.environ.get("COMPLAINTFLOW_WORKFLOWS", "workflows"),
        "MANUAL_CLOCK": os.environ.get("COMPLAINTFLOW_CLOCK") == "manual",
        "INSTANCE_DIR": str(where.folder),
        # Without a configured key the app makes one once in the instance folder (web.secret_key).
        "SECRET_KEY": os.environ.get("COMPLAINTFLOW_SECRET_KEY") or None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure (HTTPS-only) cookies unless told this is local development over plain HTTP.
        "SESSION_COOKIE_SECURE": not insecure_cookies(),
        "TRUSTED_PROXIES": int(os.environ.get("COMPLAINTFLOW_TRUSTED_PROXIES", "0") or 0),
        # Idle timeout: the session cookie is renewed on each request and expires after this much quiet.
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=int(os.environ.get("COMPLAINTFLOW_IDLE_MINUTES", "30"))),
        "SESSION_REFRESH_EACH_REQUEST": True,
        # Absolute lifetime of a login, enforced on the server whatever the activity (web.auth, engine.sessions).
        "SESSION_MAX_HOURS": float(os.environ.get("COMPLAINTFLOW_SESSION_MAX_HOURS", "12")),
        "API_TOKEN_HOURS": int(os.environ.get("COMPLAINTFLOW_API_TOKEN_HOURS", "12")),
        "RATELIMIT_STORAGE_URI": os.environ.get("COMPLAINTFLOW_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Login failures (web.login_throttle): per address and account, per account (known devices exempt),
        # per address over all accounts.
        "LOGIN_FAILURES_LIMIT": os.environ.get("COMPLAINTFLOW_LOGIN_LIMIT", "5 per 5 minutes"),
        "LOGIN_ACCOUNT_LIMIT": os.environ.get("COMPLAINTFLOW_LOGIN_ACCOUNT_LIMIT", "20 per hour"),
        "LOGIN_ADDRESS_LIMIT": os.environ.get("COMPLAINTFLOW_LOGIN_ADDRESS_LIMIT", "50 per hour"),
        "INTAKE_LIMIT": os.environ.get("COMPLAINTFLOW_INTAKE_LIMIT", "10 per hour"),
        # Sign-in through the company's identity provider (web.oidc): on when an issuer and a client id are set.
        "OIDC_ISSUER": os.environ.get("COMPLAINTFLOW_OIDC_ISSUER", "").strip(),
        "OIDC_CLIENT_ID": os.environ.get("COMPLAINTFLOW_OIDC_CLIENT_ID", "").strip(),
        "OIDC_CLIENT_SECRET": os.environ.get("COMPLAINTFLOW_OIDC_CLIENT_SECRET", ""),
        "OIDC_GROUPS_CLAIM": os.environ.get("COMPLAINTFLOW_OIDC_GROUPS_CLAIM", "").strip() or "groups",
        "OIDC_SCOPES": os.environ.get("COMPLAINTFLOW_OIDC_SCOPES", "").strip() or "openid profile email",
        "OIDC_NAME": os.environ.get("COMPLAINTFLOW_OIDC_NAME", "").strip(),  # the button's "Sign in with ..."
        "OIDC_REDIRECT_URI": os.environ.get("COMPLAINTFLOW_OIDC_REDIRECT_URI", "").strip(),  # else from the request
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        "WTF_CSRF_TIME_LIMIT": None,
        # A backstop for every request body; upload pages and forms set tighter limits of their own.
        "MAX_CONTENT_LENGTH": 128 * 1024 * 1024,  # the token lives as long as the session
    }
