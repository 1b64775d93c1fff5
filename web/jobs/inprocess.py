"""The embedded job layer: no services. Enqueued jobs run in a thread of their own, scheduled ones in a
daemon thread each, both retried with backoff; one process, so a lock per job keeps runs apart."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from matchmaker.jobs import scheduled_key, tick_of
from web.jobs.runner import SYSTEM_CLOCK, Clock, JobSpec, new_key, perform, spec_of
from web.jobs.settings import JobSettings

log = logging.getLogger("matchmaker.jobs")


class InProcessJobs:
    def __init__(self, app: Flask, settings: JobSettings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self._stop = threading.Event()
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self.threads: list[threading.Thread] = []

    @contextmanager
    def _guard(self, spec: JobSpec, key: str) -> Iterator[bool]:
        if not spec.exclusive:
            yield True
            return
        lock = self._locks[spec.name]
        if not lock.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    def _start(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    def run(self, name: str, key: str, kwargs: dict[str, Any]) -> str:
        """Run ``key`` now in this thread, retrying as the job's policy says; the outcome of the last
        attempt, or "failed" when every attempt failed (each failure is logged and recorded)."""
        delays = self.settings.retry_policy(spec_of(name)).delays()
        for attempt, delay in enumerate([*delays, None]):
            try:
                return perform(self.app, name, key, kwargs, guard=self._guard, clock=self.clock)
            except Exception:  # perform logged and recorded it
                if delay is None:
                    log.error("job %s: %s failed %d times; giving up", name, key, attempt + 1)
                    return "failed"
                log.warning("job %s: %s will be retried in %gs", name, key, delay)
                if self.clock.wait(delay, self._stop):
                    return "stopped"
        return "failed"  # pragma: no cover - the loop always returns

    def enqueue(self, name: str, key: str | None = None, **kwargs: Any) -> str:
        spec_of(name)  # an unknown name fails here, in the caller
        key = key or new_key(name)
        self._start(lambda: self.run(name, key, kwargs), f"job {key}")
        return key

    def schedule(self, name: str, every: float) -> None:
        spec_of(name)

        def loop() -> None:
            while not self.clock.wait(every, self._stop):
                self.run(name, scheduled_key(name, tick_of(self.clock.now(), every)), {})

        self._start(loop, f"schedule {name}")

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(timeout)
