"""The server's clock for rules that depend on the time (a task's bid deadline): the system's, unless a
test puts a clock it controls in ``app.extensions["matchmaker.clock"]``."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from web.jobs.runner import SYSTEM_CLOCK, Clock

EXTENSION = "matchmaker.clock"


def now() -> datetime:
    clock: Clock = current_app.extensions.get(EXTENSION, SYSTEM_CLOCK)
    return clock.now()
