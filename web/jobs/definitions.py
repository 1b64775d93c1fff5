"""The platform's jobs. Each frames its own transactions and completes its run in the last one."""

from __future__ import annotations

from collections.abc import Callable, Sized
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from matchmaker import events
from matchmaker.jobs import RetryPolicy
from matchmaker.operations import bookings as booking_ops
from matchmaker.operations import tasks as task_ops
from models import TaskVisibility
from web.jobs.runner import JobContext, JobSpec, register

SWEEP_BOOKINGS = "sweep_bookings"
TRAIN_RANKER = "train_ranker"
CLOSE_TASK_BIDDING = "close_task_bidding"
ESCALATE_MENTOR_REQUESTS = "escalate_mentor_requests"
TELL_FITTING_TEAMS = "tell_fitting_teams"


def _act_once(job: JobContext, act: Callable[[Session, datetime], Sized], counted: str) -> dict[str, Any]:
    """Run ``act`` on the job's clock and complete the run in the same transaction, so what it changed
    and the run's result commit together; the result counts what it acted on."""
    with job.unit_of_work(write=True) as session:
        result = {counted: len(act(session, job.now()))}
        job.complete(session, result)
    return result


def sweep_bookings(job: JobContext) -> dict[str, Any]:
    """Release lapsed holds and approvals, and no-shows; the releases and the run's completion commit
    together, and the booking events reach Socket.IO clients after that commit."""
    return _act_once(job, booking_ops.sweep, "released")


def close_task_bidding(job: JobContext) -> dict[str, Any]:
    """Close bidding on the tasks whose bid deadline has come, by the job's clock; bidders and hosts
    watching those tasks see it after the commit."""
    return _act_once(job, task_ops.close_lapsed_bidding, "closed")


def escalate_mentor_requests(job: JobContext) -> dict[str, Any]:
    """Hand mentor requests nobody answered in time to their space's managers, on the job's clock."""
    from matchmaker.operations import mentoring

    return _act_once(job, mentoring.escalate_unanswered, "escalated")


def tell_fitting_teams(job: JobContext, task_id: int) -> dict[str, Any]:
    """Tell the teams that fit a newly published task best. Ranking them takes seconds and only reads,
    so it holds no write lock; the telling, guarded so that a team hears of a task once however often
    this runs, and the run's completion then commit together. A task cancelled meanwhile tells nobody."""
    with job.unit_of_work() as session:
        best = task_ops.fitting_teams_to_tell(session, task_id)
    with job.unit_of_work(write=True) as session:
        told = task_ops.tell_fitting_teams(session, task_id, best, job.now())
        result: dict[str, Any] = {"task_id": task_id, "told": len(told)}
        job.complete(session, result)
    return result


def follow_ups(event: events.Event) -> list[tuple[str, str, dict[str, Any]]]:
    """The jobs a committed domain event calls for, as (job, run key, arguments). The key names what the
    run is about, so the same event enqueued twice is one run."""
    if (
        isinstance(event, events.TaskChanged)
        and event.action == "published"
        and event.visibility != TaskVisibility.INVITED.value
    ):
        return [(TELL_FITTING_TEAMS, f"{TELL_FITTING_TEAMS}-{event.task_id}", {"task_id": event.task_id})]
    return []


def train_ranker(job: JobContext, data: str | None = None) -> dict[str, Any]:
    """Fit the re-ranking model on the platform's history (or a data folder) and save it under the
    instance folder. Reading and fitting hold no transaction; the run completes once the model is saved."""
    from matchmaker.datasets import load_dataset
    from matchmaker.operations.matching import dataset_from_db
    from matchmaker.ranking import save_model, train

    if data:
        dataset = load_dataset(Path(data))
    else:
        with job.unit_of_work() as session:
            dataset = dataset_from_db(session)
    ranker = train(dataset)
    result: dict[str, Any] = {"events": len(dataset.events), "model": None}
    if ranker.model is not None or ranker.selection is not None:  # the scorers chosen are kept too
        folder = Path(job.app.config["INSTANCE_PATH"]) / "models"
        result["model"] = save_model(ranker, folder, trained_on=data or "database").name
    with job.unit_of_work(write=True) as session:
        job.complete(session, result)
    return result


register(
    JobSpec(
        SWEEP_BOOKINGS,
        sweep_bookings,
        retry=RetryPolicy(retries=2, first_delay=5, factor=3),
        timeout=300,
        exclusive=True,
        keep_completed=timedelta(days=1),
    )
)
register(JobSpec(TRAIN_RANKER, train_ranker, retry=RetryPolicy(retries=2, first_delay=60), timeout=3600))
register(
    JobSpec(
        CLOSE_TASK_BIDDING,
        close_task_bidding,
        retry=RetryPolicy(retries=2, first_delay=5, factor=3),
        timeout=300,
        exclusive=True,
        keep_completed=timedelta(days=1),
    )
)
register(
    JobSpec(
        TELL_FITTING_TEAMS,
        tell_fitting_teams,
        retry=RetryPolicy(retries=3, first_delay=10, factor=3),
        timeout=600,
        keep_completed=timedelta(days=7),
    )
)
register(
    JobSpec(
        ESCALATE_MENTOR_REQUESTS,
        escalate_mentor_requests,
        retry=RetryPolicy(retries=2, first_delay=30, factor=3),
        timeout=300,
        exclusive=True,
        keep_completed=timedelta(days=1),
    )
)
