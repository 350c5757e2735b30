"""The web app's settings, from environment variables (12-factor), with demo-friendly defaults."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

from engine import instance


def from_environment() -> dict:
    """Flask config keys read from ``COMPLAINTFLOW_*`` variables."""
    where = instance.resolve()
    return {
        "DATABASE_URL": where.database_url,
        "WORKFLOWS_DIR": os.environ.get("COMPLAINTFLOW_WORKFLOWS", "workflows"),
        "MANUAL_CLOCK": os.environ.get("COMPLAINTFLOW_CLOCK") == "manual",
        "INSTANCE_DIR": str(where.folder),
        # Without a configured key each start makes a new one: sessions and links then end at restart.
        "SECRET_KEY": os.environ.get("COMPLAINTFLOW_SECRET_KEY") or secrets.token_hex(32),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("COMPLAINTFLOW_SECURE_COOKIES") == "1",
        # Idle timeout: the session cookie is renewed on each request and expires after this much quiet.
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=int(os.environ.get("COMPLAINTFLOW_IDLE_MINUTES", "30"))),
        "SESSION_REFRESH_EACH_REQUEST": True,
        # Absolute lifetime of a login, enforced on the server whatever the activity (web.auth, engine.sessions).
        "SESSION_MAX_HOURS": float(os.environ.get("COMPLAINTFLOW_SESSION_MAX_HOURS", "12")),
        "API_TOKEN_HOURS": int(os.environ.get("COMPLAINTFLOW_API_TOKEN_HOURS", "12")),
        "RATELIMIT_STORAGE_URI": os.environ.get("COMPLAINTFLOW_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_FAILURES_LIMIT": os.environ.get("COMPLAINTFLOW_LOGIN_LIMIT", "5 per 5 minutes"),
        "INTAKE_LIMIT": os.environ.get("COMPLAINTFLOW_INTAKE_LIMIT", "10 per hour"),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        "WTF_CSRF_TIME_LIMIT": None,
        # A backstop for every request body; upload pages and forms set tighter limits of their own.
        "MAX_CONTENT_LENGTH": 128 * 1024 * 1024,  # the token lives as long as the session
    }
