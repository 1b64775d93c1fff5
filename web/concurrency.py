"""Admits a bounded number of HTTP requests into the application at once. Threads beyond a couple per
process only contend for the interpreter lock and hold more database connections busy (measured with
two processes on two cores: 4 admitted per process cost 30-40% more CPU per booking than 2, in the app
and in PostgreSQL), so the rest wait their turn at the door instead. Socket.IO traffic is served
before this point and is never held back."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

WSGIApp = Any
UNQUEUED = frozenset({"/healthz", "/readyz", "/metrics"})


class ConcurrencyLimit:
    def __init__(self, app: WSGIApp, limit: int) -> None:
        self.app = app
        self._slots = threading.BoundedSemaphore(limit)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in UNQUEUED:
            # A load balancer's health check must not wait behind a queue of bookings and mark a busy
            # instance down; these answers are cheap.
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        with self._slots:
            # The body is produced inside the slot too: the platform's responses are small.
            result = self.app(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:  # WSGI: whoever consumes the iterable closes it
                    close()
