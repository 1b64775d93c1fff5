"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

socketio = SocketIO()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def login_limit() -> str:
    """The rate limit on password checks (log-in, token exchange, registration)."""
    return str(current_app.config["LOGIN_RATE_LIMIT"])
