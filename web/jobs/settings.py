"""How the job layer is configured: app config first, then ``MATCHMAKER_JOBS*`` variables."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask

from matchmaker.jobs import RetryPolicy

if TYPE_CHECKING:
    from web.jobs.runner import JobSpec

BACKENDS = ("inprocess", "rq")


@dataclass(frozen=True)
class JobSettings:
    backend: str  # "inprocess" (no services) or "rq" (the task queue on Redis)
    redis_url: str | None
    queue: str  # RQ queue name; also prefixes job ids and locks, so deployments can share a Redis
    heartbeat: int  # seconds between a worker's heartbeats; 3 missed ones and its job is retried
    retry_seconds: float | None  # overrides each job's first retry delay

    def retry_policy(self, spec: JobSpec) -> RetryPolicy:
        if self.retry_seconds is None:
            return spec.retry
        return dataclasses.replace(spec.retry, first_delay=self.retry_seconds)


def _setting(app: Flask, key: str, variable: str, default: Any = None) -> Any:
    value = app.config.get(key)
    return value if value is not None else os.environ.get(variable) or default


def settings_of(app: Flask) -> JobSettings:
    redis_url = _setting(app, "JOBS_REDIS_URL", "MATCHMAKER_JOBS_REDIS_URL") or _setting(
        app, "REDIS_URL", "MATCHMAKER_REDIS_URL"
    )
    backend = str(_setting(app, "JOBS_BACKEND", "MATCHMAKER_JOBS", "rq" if redis_url else "inprocess"))
    if backend not in BACKENDS:
        raise ValueError(f"MATCHMAKER_JOBS must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "rq" and not redis_url:
        raise ValueError("MATCHMAKER_JOBS=rq needs MATCHMAKER_JOBS_REDIS_URL or MATCHMAKER_REDIS_URL")
    retry = _setting(app, "JOB_RETRY_SECONDS", "MATCHMAKER_JOB_RETRY_SECONDS")
    heartbeat = int(_setting(app, "JOB_HEARTBEAT_SECONDS", "MATCHMAKER_JOB_HEARTBEAT_SECONDS", 10))
    if heartbeat < 1:
        raise ValueError("MATCHMAKER_JOB_HEARTBEAT_SECONDS must be at least 1")
    if retry is not None and float(retry) < 0:
        raise ValueError("MATCHMAKER_JOB_RETRY_SECONDS must not be negative")
    return JobSettings(
        backend=backend,
        redis_url=redis_url,
        queue=str(_setting(app, "JOBS_QUEUE", "MATCHMAKER_JOBS_QUEUE", "matchmaker")),
        heartbeat=heartbeat,
        retry_seconds=float(retry) if retry is not None else None,
    )
