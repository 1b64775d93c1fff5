"""``matchmaker worker``: an RQ worker that runs the platform's jobs and enqueues its schedules."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any, cast

from flask import Flask
from rq import Queue, Worker
from rq.job import Job
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("matchmaker.jobs")

_app: Flask | None = None


def worker_app() -> Flask:
    """The app of this worker process (work horses are forked from it and inherit it)."""
    global _app
    if _app is None:
        from web import create_app

        _app = create_app()
    return _app


class HeartbeatWorker(Worker):
    """A worker whose running job is declared abandoned after three missed heartbeats, not RQ's fixed
    extra minute, so a job of a killed worker is retried soon after the next registry cleaning."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return 3 * int(self.job_monitoring_interval)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        """The forked horse ends with its worker: once the worker is gone its job is retried elsewhere, and
        the two attempts must not run side by side."""
        _die_with_parent(self.pid)
        super().main_work_horse(job, queue)


def _die_with_parent(parent: int | None) -> None:
    if sys.platform != "linux":  # elsewhere a horse may outlive a killed worker; the run still completes once
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent is not None and os.getppid() != parent:  # the worker died before prctl took effect
        os._exit(1)


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """Work until stopped (SIGTERM/SIGINT finish the running job first), or, with ``burst``, until the
    queue is empty."""
    global _app
    from web.bookings import sweeper
    from web.jobs import layer
    from web.jobs.queue import QueueJobs
    from web.mentoring import escalation
    from web.tasks import deadlines

    _app = app
    jobs = layer(app)
    if not isinstance(jobs, QueueJobs):
        raise RuntimeError(
            "the worker needs the task queue: set MATCHMAKER_JOBS_REDIS_URL or MATCHMAKER_REDIS_URL"
        )
    if not app.config.get("SOCKETIO_MESSAGE_QUEUE"):
        log.warning("SOCKETIO_MESSAGE_QUEUE is not set: events of jobs will not reach connected browsers")

    # A forked work horse must not share the parent's pooled database connections.
    factory = cast(sessionmaker[Session], app.extensions["matchmaker.session_factory"])
    engine: Any = factory.kw["bind"]
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))

    sweeper.start(app)  # records the sweep's schedule on the queue layer
    deadlines.start(app)  # and the closing of lapsed task bidding
    escalation.start(app)
    stop = threading.Event()
    ticker = threading.Thread(target=jobs.run_schedules, args=(stop,), name="schedules", daemon=True)
    if not burst:
        ticker.start()
    heartbeat = jobs.settings.heartbeat
    worker = HeartbeatWorker(
        [jobs.queue],
        connection=jobs.connection,
        job_monitoring_interval=heartbeat,
        worker_ttl=15 + 3 * heartbeat,  # blocks on the queue for 3 heartbeats at a time, so maintenance runs
        maintenance_interval=3 * heartbeat,
    )
    try:
        worker.work(with_scheduler=True, burst=burst, logging_level="INFO")
    finally:
        stop.set()
