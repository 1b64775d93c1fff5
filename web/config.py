"""Configuration: defaults first, then ``MATCHMAKER_*`` (and the conventional ``DATABASE_URL``) variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from models.database import sqlite_url


def instance_path() -> Path:
    return Path(os.environ.get("MATCHMAKER_INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def _secret_key(folder: Path) -> str:
    """A per-installation secret kept in the instance folder, so sessions survive restarts."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def from_environment(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    env = os.environ
    folder = instance_path()
    redis_url = env.get("MATCHMAKER_REDIS_URL") or env.get("REDIS_URL")
    config: dict[str, Any] = {
        "INSTANCE_PATH": folder,
        "DATABASE_URL": env.get("DATABASE_URL") or env.get("MATCHMAKER_DATABASE_URL") or sqlite_url(folder),
        # Flask-SocketIO's message queue: lets an event emitted in one process reach clients of all.
        "SOCKETIO_MESSAGE_QUEUE": env.get("SOCKETIO_MESSAGE_QUEUE")
        or env.get("MATCHMAKER_SOCKETIO_MESSAGE_QUEUE"),
        # Where login attempts are counted; Redis makes the limit hold across processes.
        "RATELIMIT_STORAGE_URI": env.get("MATCHMAKER_RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "LOGIN_RATE_LIMIT": env.get("MATCHMAKER_LOGIN_RATE_LIMIT", "10 per minute"),
        # Namespaces the counters when several deployments share one Redis.
        "RATELIMIT_KEY_PREFIX": env.get("MATCHMAKER_RATELIMIT_KEY_PREFIX", "matchmaker"),
        # Origins allowed to open Socket.IO connections. Empty: only the platform's own origin. When set,
        # it replaces that default, so list the platform's public origin too.
        "ALLOWED_ORIGINS": [o for o in env.get("MATCHMAKER_ALLOWED_ORIGINS", "").split(",") if o],
        "BABEL_DEFAULT_LOCALE": env.get("MATCHMAKER_DEFAULT_LOCALE", "zh"),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": env.get("MATCHMAKER_SECURE_COOKIES", "") == "1",
        # Requests the application works on at once per process (0: no limit); the rest queue.
        "MAX_CONCURRENT_REQUESTS": int(env.get("MATCHMAKER_MAX_CONCURRENT_REQUESTS", "2")),
        # How often a serving process releases lapsed holds and no-shows (0: never; run `matchmaker sweep`).
        "SWEEP_SECONDS": int(env.get("MATCHMAKER_SWEEP_SECONDS", "30")),
        # How often open mentor requests are checked for escalation to the managers (0: never).
        "MENTOR_ESCALATION_SECONDS": int(env.get("MATCHMAKER_MENTOR_ESCALATION_SECONDS", "300")),
        # Where uploaded files (pitch decks) are kept; outside the instance folder, name a folder of your own.
        "UPLOAD_FOLDER": env.get("MATCHMAKER_UPLOAD_FOLDER") or str(folder / "uploads"),
        # How often bidding is closed on tasks whose bid deadline has come (0: never).
        "TASK_DEADLINE_SECONDS": int(env.get("MATCHMAKER_TASK_DEADLINE_SECONDS", "60")),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        "JSON_SORT_KEYS": False,
    }
    config["SECRET_KEY"] = env.get("MATCHMAKER_SECRET_KEY") or _secret_key(folder)
    config.update(overrides or {})
    return config
