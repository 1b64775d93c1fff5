"""One job layer for work on a clock or too long for a request (releases, training, reports): in-process
by default, with no services; on RQ over Redis with ``matchmaker worker`` at scale.

``enqueue(name, **kwargs)`` runs a job once, soon; ``schedule(name, every=seconds)`` runs it on every
tick. Jobs are registered in ``web.jobs.definitions`` and frame their own transactions."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app

from web.jobs.settings import JobSettings, settings_of

if TYPE_CHECKING:
    from matchmaker.events import Event

EXTENSION = "matchmaker.jobs"
log = logging.getLogger("matchmaker.jobs")


class JobLayer(Protocol):
    settings: JobSettings

    def enqueue(self, name: str, key: str | None = None, **kwargs: Any) -> str: ...

    def schedule(self, name: str, every: float) -> None: ...

    def stop(self, timeout: float = 10) -> None: ...


def layer(app: Flask) -> JobLayer:
    """The app's job layer, made on first use from its configuration."""
    jobs: JobLayer | None = app.extensions.get(EXTENSION)
    if jobs is None:
        settings = settings_of(app)
        if settings.backend == "rq":
            from web.jobs.queue import QueueJobs

            jobs = QueueJobs(app, settings)
        else:
            from web.jobs.inprocess import InProcessJobs

            jobs = InProcessJobs(app, settings)
        app.extensions[EXTENSION] = jobs
    return jobs


def enqueue(name: str, **kwargs: Any) -> str:
    """Run the job ``name`` once, soon, outside this request; returns its run's key."""
    return layer(current_app._get_current_object()).enqueue(name, **kwargs)  # type: ignore[attr-defined]


def schedule(name: str, every: float) -> None:
    layer(current_app._get_current_object()).schedule(name, every)  # type: ignore[attr-defined]


def enqueue_follow_ups(app: Flask, committed: Iterable[Event]) -> None:
    """Enqueue the jobs that just-committed events call for (``definitions.follow_ups``). Called after the
    commit, never before: a job that started earlier could miss what the transaction wrote, or act on
    what it later rolled back. An enqueue that fails is logged, not raised: the change stands."""
    from web.jobs.definitions import follow_ups

    for event in committed:
        for name, key, kwargs in follow_ups(event):
            try:
                layer(app).enqueue(name, key, **kwargs)
            except Exception:
                log.exception("job %s: could not enqueue %s after the commit", name, key)
