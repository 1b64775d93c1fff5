"""Job runs: claim a run for an attempt, complete it once in the job's own transaction, record failures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchmaker.errors import Conflict
from models import JobRun, JobRunStatus


class AlreadyCompleted(Conflict):
    """Another attempt of the same run completed first; this attempt's effects must be rolled back."""

    code = "job_already_completed"


def start_run(session: Session, *, key: str, name: str, worker: str, now: datetime) -> JobRun | None:
    """Count an attempt at the run ``key`` and hand back its row, or None when the run already
    completed (a retry of an attempt that finished just before its worker died)."""
    run = _locked(session, key)
    if run is None:
        try:
            with session.begin_nested():
                run = JobRun(key=key, name=name, status=JobRunStatus.RUNNING, attempts=0, started_at=now)
                session.add(run)
        except IntegrityError:  # another process claimed the same key first: take its row
            run = _locked(session, key)
            if run is None:  # pragma: no cover - the row that collided cannot vanish inside a transaction
                raise
    if run.status is JobRunStatus.SUCCEEDED:
        return None
    run.attempts += 1
    run.status = JobRunStatus.RUNNING
    run.worker = worker
    run.started_at = now
    run.error = None
    session.flush()
    return run


def complete_run(session: Session, *, key: str, result: dict[str, Any], now: datetime) -> None:
    """Mark the run done in the transaction that made its effects, so both commit or neither does.
    Raises :class:`AlreadyCompleted` when another attempt got there first."""
    won = session.execute(
        update(JobRun)
        .where(JobRun.key == key, JobRun.status != JobRunStatus.SUCCEEDED)
        .values(status=JobRunStatus.SUCCEEDED, finished_at=now, result=result, error=None)
        .returning(JobRun.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if won is None:
        raise AlreadyCompleted(
            f"job run {key} was already completed",
            f"任务 {key} 已经完成",
            details={"key": key},
        )


def fail_run(session: Session, *, key: str, error: str, now: datetime) -> None:
    """Record why the latest attempt failed (the run stays open for a retry)."""
    session.execute(
        update(JobRun)
        .where(JobRun.key == key, JobRun.status != JobRunStatus.SUCCEEDED)
        .values(status=JobRunStatus.FAILED, finished_at=now, error=error[:4000])
        .execution_options(synchronize_session=False)
    )


def forget_completed_runs(session: Session, *, name: str, before: datetime) -> int:
    """Delete completed runs of ``name`` that finished before ``before`` (scheduled jobs leave one row a
    tick); failed runs stay for someone to look at."""
    result = session.execute(
        delete(JobRun)
        .where(
            JobRun.name == name,
            JobRun.status == JobRunStatus.SUCCEEDED,
            JobRun.finished_at < before,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def runs_of(session: Session, name: str) -> list[JobRun]:
    return list(session.scalars(select(JobRun).where(JobRun.name == name).order_by(JobRun.id)))


def _locked(session: Session, key: str) -> JobRun | None:
    return session.scalar(select(JobRun).where(JobRun.key == key).with_for_update())
