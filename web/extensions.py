"""Flask extensions, created unbound and initialised in the app factory."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

