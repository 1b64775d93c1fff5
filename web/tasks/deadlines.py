"""Closes bidding on tasks whose bid deadline has come, even when nobody looks at them (a bid after the
deadline is refused by the server's clock in any case; this makes the task's state say so)."""

from __future__ import annotations

from flask import Flask

from web import jobs
from web.jobs.definitions import CLOSE_TASK_BIDDING


def start(app: Flask) -> None:
    """Every ``TASK_DEADLINE_SECONDS`` (default 60; 0 turns it off) through the job layer."""
    interval = int(app.config.get("TASK_DEADLINE_SECONDS", 60))
    if interval <= 0:
        return
    jobs.layer(app).schedule(CLOSE_TASK_BIDDING, every=interval)
