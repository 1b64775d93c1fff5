"""Releases what lapsed while nobody was looking: expired holds and approvals, and no-shows, so their
slots go back to others (and to waiting teams) even when no one books that resource."""

from __future__ import annotations

from typing import cast

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import events
from matchmaker.operations import bookings as ops
from web import jobs
from web.db import take_write_lock
from web.jobs.definitions import SWEEP_BOOKINGS
from web.realtime import broadcasts


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
    """Sweep every ``SWEEP_SECONDS`` through the job layer (0 turns it off): in a thread of this process
    by default; with the task queue, ``matchmaker worker`` runs it and a web process sweeps nothing."""
    interval = int(app.config.get("SWEEP_SECONDS", 30))
    if interval <= 0:
        return
    jobs.layer(app).schedule(SWEEP_BOOKINGS, every=interval)
