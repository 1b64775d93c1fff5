"""Escalates mentor requests left unanswered: scheduled through the job layer like the booking sweep."""

from __future__ import annotations

from flask import Flask

from web import jobs
from web.jobs.definitions import ESCALATE_MENTOR_REQUESTS


def start(app: Flask) -> None:
    """Look for unanswered requests every ``MENTOR_ESCALATION_SECONDS`` (0 turns it off)."""
    interval = int(app.config.get("MENTOR_ESCALATION_SECONDS", 300))
    if interval <= 0:
        return
    jobs.layer(app).schedule(ESCALATE_MENTOR_REQUESTS, every=interval)
