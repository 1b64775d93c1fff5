"""Keeps the recommendation ranker built off the request path: warmed up when a serving process
starts, and rebuilt in a background thread of that process when the data changes (each process holds
its own ranker, so the refresh runs where the ranker is served, whatever the job backend)."""

from __future__ import annotations

import logging
import threading
from typing import cast

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.operations import matching
from web.recommendations import model_folder

log = logging.getLogger(__name__)


class Refresher:
    """Builds the ranker in one background thread at a time; asked again while building, it builds
    once more when done, so the last change is never missed."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self.idle = threading.Event()
        self.idle.set()

    def __call__(self) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running, self._again = True, False
            self.idle.clear()
        threading.Thread(target=self._run, name="ranker refresh", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                self.build()
            except Exception:  # logged; the previous ranker keeps serving
                log.exception("building the ranker failed")
            with self._lock:
                if not self._again:
                    self._running = False
                    self.idle.set()
                    return
                self._again = False

    def build(self) -> None:
        factory = cast(sessionmaker[Session], self.app.extensions["matchmaker.session_factory"])
        with self.app.app_context(), factory() as session:
            matching.refresh_ranker(session, model_folder=model_folder())
            session.rollback()  # it only read


def start(app: Flask) -> Refresher:
    """Warm the ranker up now, in the background, and keep it fresh from then on."""
    refresher = Refresher(app)
    matching.refresh_rankers_with(refresher)
    refresher()
    return refresher
