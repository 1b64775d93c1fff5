"""Releases what lapsed while nobody was looking: expired holds and approvals, and no-shows, so their
slots go back to others (and to waiting teams) even when no one books that resource."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import events
from matchmaker.operations import bookings as ops
from web.db import take_write_lock
from web.extensions import socketio
from web.realtime import broadcasts

log = logging.getLogger("matchmaker.sweeper")


def sweep_once(app: Flask) -> int:
    """One pass in its own unit of work; returns how many bookings it released."""
    factory = cast(sessionmaker[Session], app.extensions["matchmaker.session_factory"])
    with app.app_context(), factory() as session:
        take_write_lock(session)  # it reads, then writes what lapsed
        released = ops.sweep(session)
        session.commit()
        broadcasts.publish(events.take(session))
        return len(released)


def start(app: Flask) -> None:
    """Sweep every ``SWEEP_SECONDS`` in the background of a serving process (0 turns it off). Several
    processes may sweep at once: on PostgreSQL each skips the rows another has locked."""
    interval = int(app.config.get("SWEEP_SECONDS", 30))
    if interval <= 0:
        return

    def loop() -> None:
        while True:
            socketio.sleep(interval)
            try:
                count = sweep_once(app)
            except Exception:  # a failed pass must not end the loop; the next one retries
                log.exception("booking sweep failed")
                continue
            if count:
                log.info("released %d lapsed bookings", count)

    cast(Any, socketio).start_background_task(loop)
