"""Running one attempt of a job: claim its run, give it a context to frame its own transactions, mark it
complete in its last transaction (exactly once), record and re-raise failures."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import events
from matchmaker.jobs import RetryPolicy
from matchmaker.operations import job_runs
from models.base import utcnow
from web import jobs
from web.db import take_write_lock
from web.observability import count_job_run
from web.realtime import broadcasts

log = logging.getLogger("matchmaker.jobs")


class Clock(Protocol):
    """Where jobs and schedulers get the time and wait; tests pass one they control."""

    def now(self) -> datetime: ...

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait ``seconds`` or until ``stop`` is set; True when stopped."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(seconds)


SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class JobSpec:
    """A job: its function, how often it may be retried, how long an attempt may take, whether two
    attempts may overlap, and how long completed runs are kept."""

    name: str
    func: Callable[..., dict[str, Any] | None]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: int = 600
    exclusive: bool = False
    keep_completed: timedelta | None = None


JOBS: dict[str, JobSpec] = {}


def register(spec: JobSpec) -> JobSpec:
    JOBS[spec.name] = spec
    return spec


def spec_of(name: str) -> JobSpec:
    from web.jobs import definitions  # noqa: F401  (registers the platform's jobs)

    try:
        return JOBS[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}; known: {', '.join(sorted(JOBS))}") from None


def new_key(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex}"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


Guard = Callable[[JobSpec, str], AbstractContextManager[bool]]


@dataclass
class JobContext:
    """What a job function gets: the app, its run's key, the clock, and units of work."""

    app: Flask
    name: str
    key: str
    clock: Clock
    completed: bool = False

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def factory(self) -> sessionmaker[Session]:
        return cast(sessionmaker[Session], self.app.extensions["matchmaker.session_factory"])

    @contextmanager
    def unit_of_work(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction, committed when the block ends, after which its events are published (from a
        worker process through Socket.IO's message queue)."""
        with self.app.app_context(), self.factory() as session:
            if write:
                take_write_lock(session)  # on SQLite: it reads, then writes
            try:
                yield session
                session.commit()
            except BaseException:
                events.discard(session)
                session.rollback()
                raise
            committed = events.take(session)
            broadcasts.publish(committed)
            jobs.enqueue_follow_ups(self.app, committed)

    def complete(self, session: Session, result: dict[str, Any]) -> None:
        """Mark the run done inside the transaction that made its effects: both commit, or neither."""
        job_runs.complete_run(session, key=self.key, result=result, now=self.now())
        self.completed = True


def perform(
    app: Flask,
    name: str,
    key: str,
    kwargs: dict[str, Any],
    *,
    guard: Guard,
    clock: Clock = SYSTEM_CLOCK,
) -> str:
    """One attempt at the run ``key``: "done", "already done" (an earlier attempt completed it) or
    "skipped" (another attempt of this exclusive job is running). A failure is recorded on the run,
    logged, and raised for the caller to retry."""
    spec = spec_of(name)
    with guard(spec, key) as acquired:
        if not acquired:
            log.info("job %s: %s skipped, another run of it is in progress", name, key)
            return "skipped"
        context = JobContext(app=app, name=name, key=key, clock=clock)
        with context.unit_of_work(write=True) as session:
            run = job_runs.start_run(session, key=key, name=name, worker=worker_name(), now=context.now())
            if spec.keep_completed is not None:
                job_runs.forget_completed_runs(session, name=name, before=context.now() - spec.keep_completed)
            attempt = run.attempts if run else 0
        if run is None:
            log.info("job %s: %s already completed", name, key)
            return "already done"
        log.info("job %s: %s started (attempt %d)", name, key, attempt)
        try:
            result = spec.func(context, **kwargs) or {}
            if not context.completed:
                with context.unit_of_work(write=True) as session:
                    context.complete(session, result)
        except job_runs.AlreadyCompleted:
            log.info("job %s: %s was completed by another attempt; this one's changes are undone", name, key)
            return "already done"
        except Exception as exc:
            log.exception("job %s: %s failed (attempt %d)", name, key, attempt)
            count_job_run(name, "failed")
            with context.unit_of_work(write=True) as session:
                job_runs.fail_run(session, key=key, error=f"{type(exc).__name__}: {exc}", now=context.now())
            raise
        log.info("job %s: %s done: %s", name, key, result)
        count_job_run(name, "ok")
        return "done"
