"""The job layer on RQ (Redis): the web process only enqueues; ``matchmaker worker`` runs the jobs and
the schedules. Scheduled runs have one job id per tick, so any number of workers enqueue each tick once;
a Redis lock with expiry keeps two runs of an exclusive job apart; RQ's ``Retry`` re-runs failed jobs
with backoff, and those of a worker that died (its heartbeat lapsed) once its registry is cleaned."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job

from matchmaker.jobs import scheduled_key, tick_of
from web.jobs.runner import SYSTEM_CLOCK, Clock, JobSpec, new_key, perform, spec_of
from web.jobs.settings import JobSettings

log = logging.getLogger("matchmaker.jobs")

# Deletes the lock only while it still names this run: a lock that expired and was taken by another
# run stays theirs.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class QueueJobs:
    def __init__(self, app: Flask, settings: JobSettings, clock: Clock = SYSTEM_CLOCK) -> None:
        if not settings.redis_url:
            raise ValueError("the task queue needs a Redis URL")
        self.app = app
        self.settings = settings
        self.clock = clock
        self.connection = Redis.from_url(settings.redis_url)
        self.queue = Queue(settings.queue, connection=self.connection)
        self.schedules: dict[str, float] = {}

    def job_id(self, key: str) -> str:
        return f"{self.settings.queue}-{key}"

    def _enqueue(
        self, name: str, key: str, kwargs: dict[str, Any], *, unique: bool = False, keep: int = 86400
    ) -> Job:
        spec = spec_of(name)
        delays = [round(d) for d in self.settings.retry_policy(spec).delays()]  # 0: retry at once
        return self.queue.enqueue(
            perform_queued,
            name,
            key,
            kwargs,
            job_id=self.job_id(key),
            description=f"{name} {key}",
            retry=Retry(max=len(delays), interval=delays) if delays else None,
            job_timeout=spec.timeout,
            result_ttl=keep,
            unique=unique,
        )

    def enqueue(self, name: str, key: str | None = None, **kwargs: Any) -> str:
        key = key or new_key(name)
        self._enqueue(name, key, kwargs)
        return key

    def schedule(self, name: str, every: float) -> None:
        """Recorded here; ``matchmaker worker`` enqueues each tick (a web process runs no jobs)."""
        spec_of(name)
        self.schedules[name] = every

    def enqueue_tick(self, name: str, every: float) -> bool:
        """Enqueue the current tick's run of ``name``; False when another scheduler already did."""
        key = scheduled_key(name, tick_of(self.clock.now(), every))
        try:
            # The finished job's id must outlive its tick, so that late schedulers find it taken.
            self._enqueue(name, key, {}, unique=True, keep=int(max(600, 4 * every)))
        except DuplicateJobError:
            return False
        return True

    def run_schedules(self, stop: threading.Event) -> None:
        """Enqueue every schedule's tick as it comes, until ``stop`` is set. Runs in each worker; the
        job id per tick makes the extra enqueues of other workers no-ops."""
        if not self.schedules:
            return
        while True:
            for name, every in self.schedules.items():
                try:
                    if self.enqueue_tick(name, every):
                        log.info("scheduled %s", name)
                except Exception:  # Redis away for a moment: the next pass tries again
                    log.exception("could not enqueue the scheduled job %s", name)
            now = self.clock.now().timestamp()
            until_next = min(every - now % every for every in self.schedules.values())
            if self.clock.wait(min(until_next + 0.05, 1.0), stop):
                return

    @contextmanager
    def guard(self, spec: JobSpec, key: str) -> Iterator[bool]:
        """An exclusive job runs under a Redis lock that names its run and expires with its timeout. An
        earlier attempt of the same run holding it was declared dead by the queue, so the lock passes on."""
        if not spec.exclusive:
            yield True
            return
        lock = f"{self.settings.queue}:running:{spec.name}"
        expiry = spec.timeout + 60
        taken = bool(self.connection.set(lock, key, nx=True, ex=expiry))
        if not taken and self.connection.get(lock) == key.encode():
            taken = bool(self.connection.set(lock, key, xx=True, ex=expiry))
        if not taken:
            yield False
            return
        try:
            yield True
        finally:
            self.connection.eval(_RELEASE, 1, lock, key)

    def perform(self, name: str, key: str, kwargs: dict[str, Any]) -> str:
        return perform(self.app, name, key, kwargs, guard=self.guard, clock=self.clock)

    def stop(self, timeout: float = 10) -> None:
        self.connection.close()


def perform_queued(name: str, key: str, kwargs: dict[str, Any]) -> str:
    """What RQ runs in the work horse: the job, through this process's job layer."""
    from web.jobs import layer
    from web.jobs.worker import worker_app

    jobs = layer(worker_app())
    if not isinstance(jobs, QueueJobs):
        raise RuntimeError("a queued job ran in a process without the task queue configured")
    return jobs.perform(name, key, kwargs)
