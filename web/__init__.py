"""The Flask application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import IntegerConverter

from models.database import ensure_sqlite_folder, make_engine, make_session_factory
from web import config as config_module


class BoundedInt(IntegerConverter):
    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(
    config: dict[str, Any] | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> Flask:
    """Build the app. ``config`` overrides the environment; tests pass their own ``session_factory``."""
    settings = config_module.from_environment(config)
    app = Flask(__name__, instance_path=str(settings["INSTANCE_PATH"]), instance_relative_config=False)
    app.config.update(settings)
    # Ids in addresses are 32-bit: a longer number is "not found", never a database overflow.
    app.url_map.converters["int"] = BoundedInt

    if session_factory is None:
        ensure_sqlite_folder(app.config["DATABASE_URL"])
        session_factory = make_session_factory(make_engine(app.config["DATABASE_URL"]))
    app.extensions["matchmaker.session_factory"] = session_factory

    from web import db, errors, i18n, ops, security
    from web.extensions import csrf, limiter, socketio

    # Handlers must be declared before the first init_app: Flask-SocketIO keeps the ones declared
    # while it has no server and registers them on every server it creates (one per app).
    from web.realtime import handlers, presence  # noqa: F401

    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    ops.init_app(app)
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)
    socket_options: dict[str, Any] = {
        "async_mode": app.config.get("SOCKETIO_ASYNC_MODE", "threading"),
        "message_queue": app.config.get("SOCKETIO_MESSAGE_QUEUE"),
        # Deployments (or test runs) sharing one Redis keep their events apart by channel.
        "channel": app.config.get("SOCKETIO_CHANNEL")
        or os.environ.get("MATCHMAKER_SOCKETIO_CHANNEL")
        or "flask-socketio",
        # None accepts only the platform's own origin; a configured list replaces it.
        "cors_allowed_origins": app.config["ALLOWED_ORIGINS"] or None,
        "manage_session": True,
        "ping_interval": app.config.get("SOCKETIO_PING_INTERVAL", 25),
    }
    queue_url = socket_options["message_queue"]
    if queue_url and str(queue_url).startswith(("redis://", "rediss://")):
        from web.realtime.queue import ResyncingRedisManager

        # The same Redis queue Flask-SocketIO would build, plus a resync after a gap (see queue.py).
        socket_options["client_manager"] = ResyncingRedisManager(
            str(queue_url), channel=socket_options.pop("channel")
        )
        del socket_options["message_queue"]
    limit = int(app.config.get("MAX_CONCURRENT_REQUESTS", 0))
    if limit > 0:  # wrapped before Socket.IO wraps it, so Socket.IO requests pass outside the limit
        from web.concurrency import ConcurrencyLimit

        app.wsgi_app = ConcurrencyLimit(app.wsgi_app, limit)  # type: ignore[method-assign]
    socketio.init_app(app, **socket_options)
    hops = int(app.config.get("PROXY_HOPS") or os.environ.get("MATCHMAKER_PROXY_HOPS") or 0)
    if hops > 0:  # outermost, so Socket.IO and the login limit see the client's address, not the proxy's
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    presence.init_app(app)
    from web.allocations.views import bp as allocations_bp
    from web.api import bp as api_bp
    from web.auth.views import bp as auth_bp
    from web.bookings.views import bp as bookings_bp
    from web.catalogue.views import bp as catalogue_bp
    from web.cockpit.views import bp as cockpit_bp
    from web.home.views import bp as home_bp
    from web.mentoring.views import bp as mentoring_bp
    from web.notifications.views import bp as notifications_bp
    from web.spaces.views import bp as spaces_bp
    from web.tasks.views import bp as tasks_bp
    from web.teams.views import bp as teams_bp
    from web.workbench.views import bp as workbench_bp

    for blueprint in (
        spaces_bp,
        auth_bp,
        catalogue_bp,
        teams_bp,
        bookings_bp,
        allocations_bp,
        notifications_bp,
        home_bp,
        workbench_bp,
        cockpit_bp,
        tasks_bp,
        mentoring_bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)

    from web import pages, units

    pages.init_app(app)
    units.init_app(app)  # last: every view registered above commits through the one dispatcher
    return app
