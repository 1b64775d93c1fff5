"""A record of each background job run, keyed so that a job retried after a crash completes once."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, enum_column, utcnow


class JobRunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(Base):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One row per logical run: "sweep_bookings-59431127" for a scheduled tick, a random id when enqueued.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[JobRunStatus] = mapped_column(enum_column(JobRunStatus), default=JobRunStatus.RUNNING)
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(200))  # host:pid of the last attempt
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
