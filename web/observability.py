"""What a running process tells its operators: Prometheus counters other modules call, and JSON logs.

Counters live in ``prometheus_client``'s process-wide registry. ``matchmaker serve`` runs one gunicorn
worker per instance (Socket.IO needs every request of a connection in one process), so each instance
is scraped on its own ``/metrics`` and Prometheus sums the instances. Should a deployment ever run
several worker processes per instance, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder before the
processes start: ``/metrics`` then aggregates every process's files (counters and histograms summed).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "matchmaker_http_requests",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "matchmaker_http_request_duration_seconds",
    "Time from the application receiving a request to its response, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BOOKINGS = Counter("matchmaker_bookings_made", "Bookings made (single ones and each occurrence of a series).")
EVENTS = Counter("matchmaker_events_published", "Domain events published after a commit, by name.", ["event"])
JOBS = Counter("matchmaker_jobs_run", "Background jobs run, by job name and outcome.", ["job", "outcome"])


def count_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(endpoint=endpoint, method=method, status=str(status)).inc()
    LATENCY.labels(endpoint=endpoint).observe(seconds)


def count_booking_made(count: int = 1) -> None:
    BOOKINGS.inc(count)


def count_event_published(name: str) -> None:
    EVENTS.labels(event=name).inc()


def count_job_run(job: str, outcome: str = "ok") -> None:
    """For background work (sweeps, queued tasks): ``outcome`` is "ok" or "failed"."""
    JOBS.labels(job=job, outcome=outcome).inc()


def exposition() -> tuple[bytes, str]:
    """The text format Prometheus scrapes, and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# JSON logs ---------------------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record was passed in ``extra=`` and is logged.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served, if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that sends every logger, gunicorn's too, as JSON to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": sys.stderr}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            # Requests are logged by the application, with their request id; gunicorn's own line would
            # only repeat them without it.
            "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
        },
    }
