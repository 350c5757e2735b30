"""Flask extensions, created unbound and initialised in the app factory."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def client_and_username() -> str:
    """Throttle key for logins: repeated failures for one name from one address."""
    return f"{get_remote_address()}|{request.form.get('username', '')}"
