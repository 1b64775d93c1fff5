"""The production server: gunicorn with one ``gthread`` worker per instance, as Flask-SocketIO's
deployment guide describes for its threading mode with simple-websocket.

One worker, because Socket.IO's long-polling needs every request of a connection to reach the
process that holds it, and gunicorn's own balancing between workers is not sticky: to use more cores,
start more instances on other ports behind a load balancer with sticky sessions (``deploy/``). Many
threads, because each open WebSocket holds a thread for its lifetime; the HTTP requests the
application works on at once stay bounded by ``MATCHMAKER_MAX_CONCURRENT_REQUESTS``.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from web.observability import logging_config


def options(host: str, port: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        # Connections held open at once (WebSockets and long-polls), not requests worked on at once.
        "threads": int(os.environ.get("MATCHMAKER_SERVER_THREADS", "100")),
        # gthread workers heartbeat from their main loop, so a long-poll does not count against this.
        "timeout": 60,
        # On SIGTERM, requests in flight get this long; open WebSockets are then closed.
        "graceful_timeout": int(os.environ.get("MATCHMAKER_GRACEFUL_SECONDS", "10")),
        "keepalive": 5,
        "logconfig_dict": logging_config(os.environ.get("MATCHMAKER_LOG_LEVEL", "INFO").upper()),
        "accesslog": None,
        "proc_name": os.environ.get("MATCHMAKER_INSTANCE_NAME") or "matchmaker",
    }


class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type information
    def __init__(self, host: str, port: int) -> None:
        self._options = options(host, port)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # Newer gunicorns open a control socket at one fixed path per user, which several
            # instances on one machine would fight over; nothing here uses it.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        # Runs in the worker after the fork, so the sweeper's thread lives in the serving process.
        from web import create_app, rankers
        from web.bookings import sweeper
        from web.mentoring import escalation
        from web.tasks import deadlines

        app = create_app()
        sweeper.start(app)
        rankers.start(app)  # the ranker is built off the request path, from the start
        deadlines.start(app)
        escalation.start(app)
        return app


def run(host: str, port: int) -> None:
    Server(host, port).run()
