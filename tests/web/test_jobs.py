"""The job layer: the in-process scheduler sweeps on its clock, failed jobs are retried with backoff, a
completed run is never run again, and on the task queue two workers run one sweep a tick and a job of a
killed worker completes once after a restart."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from matchmaker.jobs import RetryPolicy, scheduled_key, tick_of
from models import Booking, BookingStatus, JobRun, JobRunStatus
from tests.conftest import REDIS_URL, World, fresh
from web import jobs
from web.bookings import sweeper
from web.cli import main
from web.jobs import runner
from web.jobs.definitions import SWEEP_BOOKINGS, TRAIN_RANKER
from web.jobs.inprocess import InProcessJobs
from web.jobs.runner import JobContext, JobSpec
from web.jobs.settings import settings_of

WAIT = 30.0
STARTUP = 90.0  # a process imports the whole platform first; the machine may be busy


def until(condition: Callable[[], Any], what: str, timeout: float = WAIT, poll: float = 0.05) -> Any:
    """Wait for ``condition`` to hold (returning its value), or fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


class FakeClock:
    """A clock the test moves: ``wait`` returns only once the test has advanced time far enough."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._changed = threading.Condition()
        self.waits: list[float] = []

    def now(self) -> datetime:
        with self._changed:
            return self._now

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        with self._changed:
            self.waits.append(seconds)
            until_time = self._now + timedelta(seconds=seconds)
            while self._now < until_time and not stop.is_set():
                self._changed.wait(0.05)  # wakes on advance(); the timeout only lets it notice stop
            return stop.is_set()

    def advance(self, seconds: float) -> None:
        with self._changed:
            self._now += timedelta(seconds=seconds)
            self._changed.notify_all()


class SkippingClock(FakeClock):
    """Every wait passes at once (and is recorded): retries run without real delays."""

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        self.waits.append(seconds)
        return stop.is_set()


def runs(db: Session, name: str) -> list[JobRun]:
    fresh(db)
    return list(db.scalars(select(JobRun).where(JobRun.name == name).order_by(JobRun.id)))


def no_show_booking(db: Session, world: World, starts_at: datetime) -> Booking:
    booking = Booking(
        resource_id=world.equipment1.id,
        team_id=world.team1.id,
        booked_by_id=world.id("founder"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        blocked_until=starts_at + timedelta(hours=2),
        status=BookingStatus.CONFIRMED,
    )
    db.add(booking)
    db.commit()
    return booking


# Pure rules -------------------------------------------------------------------------------------


def test_retry_delays_grow_and_are_bounded() -> None:
    policy = RetryPolicy(retries=4, first_delay=10, factor=3, max_delay=100)
    assert policy.delays() == [10, 30, 90, 100]
    assert RetryPolicy(retries=0).delays() == []
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(retries=-1)


def test_schedulers_agree_on_the_tick_whatever_their_phase() -> None:
    start = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
    assert tick_of(start, 30) == tick_of(start + timedelta(seconds=29.9), 30)
    assert tick_of(start + timedelta(seconds=30), 30) == tick_of(start, 30) + 1
    shanghai = start.astimezone(timezone(timedelta(hours=8)))
    assert scheduled_key("sweep_bookings", tick_of(shanghai, 30)) == scheduled_key(
        "sweep_bookings", tick_of(start, 30)
    )
    with pytest.raises(ValueError, match="naive"):
        tick_of(datetime(2026, 12, 1), 30)


# In-process: no services -----------------------------------------------------------------------


def test_without_services_the_sweep_runs_in_process_on_its_clock(
    app: Flask, world: World, db: Session
) -> None:
    # A booking tomorrow by the wall clock: only the test's clock can make it a no-show.
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    booking = no_show_booking(db, world, starts)
    clock = FakeClock(starts - timedelta(minutes=10))
    settings = settings_of(app)
    assert settings.backend == "inprocess"
    layer = InProcessJobs(app, settings, clock=clock)
    app.extensions[jobs.EXTENSION] = layer
    app.config["SWEEP_SECONDS"] = 30
    sweeper.start(app)
    try:
        until(lambda: clock.waits, "the scheduler to wait for its first tick")
        assert runs(db, SWEEP_BOOKINGS) == []  # nothing runs before the tick

        clock.advance(30)  # a tick before the booking starts: swept, nothing to release
        first = until(lambda: runs(db, SWEEP_BOOKINGS), "the first sweep")
        until(lambda: runs(db, SWEEP_BOOKINGS)[0].status is JobRunStatus.SUCCEEDED, "the first sweep to end")
        assert runs(db, SWEEP_BOOKINGS)[0].result == {"released": 0}
        assert db.get(Booking, booking.id).status is BookingStatus.CONFIRMED

        until(lambda: len(clock.waits) == 2, "the scheduler to wait for its next tick")
        clock.advance(3600)  # past the start and the check-in grace
        until(lambda: len(runs(db, SWEEP_BOOKINGS)) == 2, "the second sweep")
        second = until(
            lambda: [r for r in runs(db, SWEEP_BOOKINGS) if r.status is JobRunStatus.SUCCEEDED][1:],
            "the second sweep to end",
        )[0]
        assert second.result == {"released": 1}
        assert second.key != first[0].key
        fresh(db)
        assert db.get(Booking, booking.id).status is BookingStatus.NO_SHOW
    finally:
        layer.stop()


def test_a_failed_job_is_retried_with_backoff_logged_and_recorded(
    app: Flask, world: World, db: Session, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def flaky(job: JobContext) -> dict[str, Any]:
        calls.append(job.key)
        if len(calls) < 3:
            raise RuntimeError(f"instrument offline ({len(calls)})")
        return {"calls": len(calls)}

    policy = RetryPolicy(retries=3, first_delay=5, factor=2)
    monkeypatch.setitem(runner.JOBS, "flaky", JobSpec("flaky", flaky, retry=policy))
    clock = SkippingClock(datetime.now(UTC))
    layer = InProcessJobs(app, settings_of(app), clock=clock)
    with caplog.at_level(logging.INFO, logger="matchmaker.jobs"):
        assert layer.run("flaky", "flaky-1", {}) == "done"
    assert clock.waits == [5, 10]  # two failures, each followed by a longer wait
    (run,) = runs(db, "flaky")
    assert run.status is JobRunStatus.SUCCEEDED and run.attempts == 3 and run.result == {"calls": 3}
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and "failed" in r.getMessage()]
    assert len(failures) == 2 and failures[0].exc_info is not None
    assert "instrument offline (1)" in caplog.text


def test_a_job_that_keeps_failing_stops_after_its_retries(
    app: Flask, world: World, db: Session, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(job: JobContext) -> dict[str, Any]:
        raise ValueError("no such instrument")

    monkeypatch.setitem(runner.JOBS, "broken", JobSpec("broken", broken, retry=RetryPolicy(2, 1, 4)))
    clock = SkippingClock(datetime.now(UTC))
    layer = InProcessJobs(app, settings_of(app), clock=clock)
    with caplog.at_level(logging.INFO, logger="matchmaker.jobs"):
        assert layer.run("broken", "broken-1", {}) == "failed"
    assert clock.waits == [1, 4]
    (run,) = runs(db, "broken")
    assert run.status is JobRunStatus.FAILED and run.attempts == 3
    assert run.error == "ValueError: no such instrument"
    assert "failed 3 times; giving up" in caplog.text


def test_a_completed_run_is_not_run_again(
    app: Flask, world: World, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setitem(runner.JOBS, "once", JobSpec("once", lambda job: calls.append(job.key) and None))
    layer = InProcessJobs(app, settings_of(app))
    assert layer.run("once", "once-1", {}) == "done"
    assert layer.run("once", "once-1", {}) == "already done"
    assert layer.run("once", "once-2", {}) == "done"
    assert calls == ["once-1", "once-2"]
    assert [(r.key, r.attempts) for r in runs(db, "once")] == [("once-1", 1), ("once-2", 1)]


def test_effects_of_an_attempt_that_lost_to_another_are_undone(
    app: Flask, world: World, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts = datetime.now(UTC) - timedelta(hours=1)
    booking = no_show_booking(db, world, starts)

    def sweep_while_another_finishes(job: JobContext) -> dict[str, Any]:
        from matchmaker.operations import bookings as ops

        with job.unit_of_work(write=True) as session:
            ops.sweep(session, job.now())
            # Another attempt of the same run completes meanwhile (its worker was thought dead).
            with job.factory.begin() as other:
                other.execute(
                    JobRun.__table__.update()
                    .where(JobRun.key == job.key)
                    .values(status=JobRunStatus.SUCCEEDED, result={"by": "other"})
                )
            job.complete(session, {"released": 1})
        return {}

    if db.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: the other attempt could not commit meanwhile")
    monkeypatch.setitem(runner.JOBS, "race", JobSpec("race", sweep_while_another_finishes))
    assert InProcessJobs(app, settings_of(app)).run("race", "race-1", {}) == "already done"
    fresh(db)
    assert db.get(Booking, booking.id).status is BookingStatus.CONFIRMED  # the losing release was undone
    assert runs(db, "race")[0].result == {"by": "other"}


def test_train_queue_needs_the_task_queue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MATCHMAKER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("MATCHMAKER_REDIS_URL", raising=False)
    monkeypatch.delenv("MATCHMAKER_JOBS_REDIS_URL", raising=False)
    monkeypatch.setenv("MATCHMAKER_JOBS", "inprocess")
    result = CliRunner().invoke(main, ["train", "--queue"])
    assert result.exit_code != 0
    assert "--queue needs the task queue" in result.output


def test_the_worker_needs_the_task_queue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MATCHMAKER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("MATCHMAKER_JOBS", "inprocess")
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code != 0
    assert "the worker needs the task queue" in result.output


def test_an_unknown_job_backend_is_named(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("MATCHMAKER_JOBS_REDIS_URL", "MATCHMAKER_REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    app.config["JOBS_BACKEND"] = "celery"
    with pytest.raises(ValueError, match="MATCHMAKER_JOBS must be one of inprocess, rq"):
        settings_of(app)
    app.config.update(JOBS_BACKEND="rq", JOBS_REDIS_URL=None)
    with pytest.raises(ValueError, match="needs MATCHMAKER_JOBS_REDIS_URL"):
        settings_of(app)
    app.config.update(JOBS_BACKEND="inprocess", JOB_HEARTBEAT_SECONDS=0)
    with pytest.raises(ValueError, match="at least 1"):
        settings_of(app)


# On the task queue ------------------------------------------------------------------------------

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="Redis not configured (set MATCHMAKER_TEST_REDIS_URL)")


@pytest.fixture
def queue_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def queue_app(app: Flask, queue_name: str) -> Flask:
    """The test app on the task queue: its job layer is made from this configuration, not held."""
    app.config.update(JOBS_BACKEND="rq", JOBS_REDIS_URL=REDIS_URL, JOBS_QUEUE=queue_name)
    app.extensions.pop(jobs.EXTENSION, None)
    return app


@pytest.mark.redis
@needs_redis
def test_a_web_process_on_the_queue_only_records_the_schedule(app: Flask, queue_name: str) -> None:
    from web.jobs.queue import QueueJobs

    queue_app(app, queue_name).config["SWEEP_SECONDS"] = 7
    sweeper.start(app)
    layer = jobs.layer(app)
    try:
        assert isinstance(layer, QueueJobs)
        assert layer.schedules == {SWEEP_BOOKINGS: 7}
        assert layer.queue.count == 0
    finally:
        layer.stop()


@pytest.mark.redis
@needs_redis
def test_two_schedulers_enqueue_one_run_per_tick(app: Flask, queue_name: str) -> None:
    from web.jobs.queue import QueueJobs

    settings = settings_of(queue_app(app, queue_name))
    clock = FakeClock(datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC))
    first, second = QueueJobs(app, settings, clock=clock), QueueJobs(app, settings, clock=clock)
    try:
        assert first.enqueue_tick(SWEEP_BOOKINGS, 30) is True
        assert second.enqueue_tick(SWEEP_BOOKINGS, 30) is False
        clock.advance(29)  # same tick
        assert second.enqueue_tick(SWEEP_BOOKINGS, 30) is False
        clock.advance(1)  # the next one
        assert second.enqueue_tick(SWEEP_BOOKINGS, 30) is True
        assert first.enqueue_tick(SWEEP_BOOKINGS, 30) is False
        assert first.queue.count == 2
    finally:
        first.queue.empty()
        first.stop()
        second.stop()


@pytest.mark.redis
@needs_redis
def test_queued_jobs_carry_their_bounded_backoff(app: Flask, queue_name: str) -> None:
    from rq.job import Job

    from web.jobs.queue import QueueJobs

    layer = QueueJobs(app, settings_of(queue_app(app, queue_name)))
    try:
        key = layer.enqueue(TRAIN_RANKER, data="/srv/interactions")
        job = Job.fetch(layer.job_id(key), connection=layer.connection)
        assert job.retries_left == 2 and job.retry_intervals == [60, 240]
        assert job.args == (TRAIN_RANKER, key, {"data": "/srv/interactions"})
        assert layer.enqueue_tick(SWEEP_BOOKINGS, 30)
        sweep = layer.queue.jobs[-1]
        assert sweep.retries_left == 2 and sweep.retry_intervals == [5, 15]
    finally:
        layer.queue.empty()
        layer.stop()


@pytest.mark.redis
@needs_redis
def test_two_runs_of_an_exclusive_job_never_overlap(app: Flask, queue_name: str) -> None:
    from web.jobs.queue import QueueJobs

    settings = settings_of(queue_app(app, queue_name))
    spec = runner.spec_of(SWEEP_BOOKINGS)
    one, other = QueueJobs(app, settings), QueueJobs(app, settings)
    try:
        with one.guard(spec, "sweep_bookings-1") as held:
            assert held
            with other.guard(spec, "sweep_bookings-2") as also:
                assert not also
            # A retry of the same run (its first attempt's worker died holding the lock) may go on.
            with other.guard(spec, "sweep_bookings-1") as retried:
                assert retried
        with other.guard(spec, "sweep_bookings-2") as later:
            assert later  # released
    finally:
        one.stop()
        other.stop()


# Worker processes ----------------------------------------------------------------------------------


class Workers:
    """``matchmaker worker`` processes of one test, each in its own process group, always reaped."""

    def __init__(self, engine: Engine, tmp_path: Path, queue_name: str, **env: str) -> None:
        self.tmp_path = tmp_path
        self.queue_name = queue_name
        self.env = {
            **os.environ,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "MATCHMAKER_JOBS": "rq",
            "MATCHMAKER_JOBS_REDIS_URL": str(REDIS_URL),
            "MATCHMAKER_JOBS_QUEUE": queue_name,
            "MATCHMAKER_JOB_HEARTBEAT_SECONDS": "1",
            "MATCHMAKER_INSTANCE_PATH": str(tmp_path / "instance"),
            "MATCHMAKER_SECRET_KEY": "shared-by-every-process",
            "MATCHMAKER_RATELIMIT_STORAGE_URI": "memory://",
            **env,
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.killed: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"worker-{len(self.processes)}.log"
        with log.open("wb") as out:  # the child keeps its own copy of the handle
            process = subprocess.Popen(
                [sys.executable, "-m", "web.cli", "worker"],
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,  # its own process group: the worker and its scheduler
            )
        self.processes.append(process)
        self.logs.append(log)
        return process

    def serve(self) -> str:
        """A web process on the same queue; its address once it answers."""
        import requests

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        log = self.tmp_path / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "web.cli", "serve", "--port", str(port)],
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self.processes.append(process)
        self.logs.append(log)
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return requests.get(f"{url}/api/v1/spaces", timeout=2).status_code == 200
            except requests.RequestException:  # not listening yet, or too busy to answer in time
                return process.poll() is not None

        until(answers, "the web process to answer", STARTUP)
        assert process.poll() is None, self.output()
        return url

    def command(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "web.cli", *args], env=self.env, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        return done.stdout.decode()

    def registered(self) -> int:
        """How many of the running processes have registered as workers of the queue."""
        from redis import Redis
        from rq import Queue, Worker

        running = {p.pid for p in self.processes if p not in self.killed}
        with Redis.from_url(str(REDIS_URL)) as connection:
            workers = Worker.all(queue=Queue(self.queue_name, connection=connection))
            return len({w.pid for w in workers} & running)

    def wait_ready(self, count: int) -> None:
        until(lambda: self.registered() >= count or self.dead(), f"{count} workers to register", STARTUP)
        assert not self.dead(), self.output()

    def dead(self) -> bool:
        """Whether a worker the test did not kill has ended."""
        return any(p.poll() is not None for p in self.processes if p not in self.killed)

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        self.killed.append(process)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=WAIT)

    def output(self, tail: int | None = 3000) -> str:
        """What the workers logged (the end of each log, or all with ``tail=None``)."""
        return "\n".join(log.read_text(errors="replace")[-(tail or 0) :] for log in self.logs)

    def waiting(self) -> int:
        from redis import Redis
        from rq import Queue

        with Redis.from_url(str(REDIS_URL)) as connection:
            return int(Queue(self.queue_name, connection=connection).count)

    def terminate(self) -> None:
        """Stop every worker, letting it finish its job (warm shutdown)."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=WAIT)

    def stop(self) -> None:
        self.terminate()
        from redis import Redis
        from rq import Queue

        with Redis.from_url(str(REDIS_URL)) as connection:
            Queue(self.queue_name, connection=connection).empty()


@pytest.fixture
def workers(
    engine: Engine, world: World, tmp_path: Path, queue_name: str
) -> Iterator[Callable[..., Workers]]:
    if engine.dialect.name != "postgresql" or not REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (MATCHMAKER_TEST_DATABASE_URL, MATCHMAKER_TEST_REDIS_URL)")
    made: list[Workers] = []

    def make(**env: str) -> Workers:
        # Only the schedule a test is about runs: the task deadlines and the mentor escalation are off
        # unless a test turns them on (their runs would share the queue and the logs counted here).
        quiet = {"MATCHMAKER_TASK_DEADLINE_SECONDS": "0", "MATCHMAKER_MENTOR_ESCALATION_SECONDS": "0"}
        made.append(Workers(engine, tmp_path, queue_name, **{**quiet, **env}))
        return made[-1]

    try:
        yield make
    finally:
        for group in made:
            group.stop()


@pytest.mark.redis
@pytest.mark.postgres
def test_two_workers_run_each_scheduled_sweep_once(
    workers: Callable[..., Workers], world: World, db: Session
) -> None:
    group = workers(MATCHMAKER_SWEEP_SECONDS="1")
    group.start()
    group.start()
    group.wait_ready(2)
    done = until(
        lambda: [r for r in runs(db, SWEEP_BOOKINGS) if r.status is JobRunStatus.SUCCEEDED][3:],
        "four sweeps",
    )
    assert done and not group.dead(), group.output()
    keys = [r.key for r in runs(db, SWEEP_BOOKINGS) if r.status is JobRunStatus.SUCCEEDED]
    logs = group.output(tail=None)
    for key in keys:
        assert logs.count(f"{key} started") == 1, logs  # neither a second enqueue nor a second run
        assert f"{key} already completed" not in logs
    assert all(r.attempts == 1 for r in runs(db, SWEEP_BOOKINGS))
    # Both workers schedule every tick; only one enqueue per tick is accepted: once both have stopped,
    # every accepted enqueue has run, been skipped because the previous tick's sweep still held the
    # lock (the two never overlap), or is still waiting in the queue.
    group.terminate()
    logs = group.output(tail=None)
    skipped = logs.count("skipped, another run of it is in progress")
    scheduled = logs.count("scheduled sweep_bookings")
    assert scheduled == len(runs(db, SWEEP_BOOKINGS)) + skipped + group.waiting(), logs


@pytest.mark.redis
@pytest.mark.postgres
def test_a_job_of_a_killed_worker_completes_once_after_a_restart(
    workers: Callable[..., Workers], world: World, db: Session, engine: Engine
) -> None:
    group = workers(
        MATCHMAKER_SWEEP_SECONDS="0",
        MATCHMAKER_MENTOR_ESCALATION_SECONDS="0",
        MATCHMAKER_JOB_RETRY_SECONDS="0",
    )
    first = group.start()
    group.wait_ready(1)
    with engine.connect() as blocker:
        # Hold the tags table so the training stops at its first read, mid-job, until released.
        blocker.execute(text("LOCK TABLE tags IN ACCESS EXCLUSIVE MODE"))
        assert "Queued train_ranker-" in group.command("train", "--queue")  # the enqueuing side only
        run = until(lambda: runs(db, TRAIN_RANKER), "the training to start")[0]
        assert run.status is JobRunStatus.RUNNING and run.attempts == 1
        until(
            lambda: blocker.execute(
                text("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'tags'::regclass")
            ).scalar_one(),
            "the training to wait for the table",
        )
        horse = int(str(run.worker).rsplit(":", 1)[1])  # the forked process running the job
        group.kill(first)
        try:  # it has a process group of its own, but ends with its worker
            until(lambda: not _alive(horse), "the work horse to end with its worker")
        finally:
            if _alive(horse):
                os.kill(horse, signal.SIGKILL)
        blocker.rollback()
    group.start()
    group.wait_ready(1)
    (run,) = until(
        lambda: [r for r in runs(db, TRAIN_RANKER) if r.status is JobRunStatus.SUCCEEDED],
        "the abandoned training to be retried and completed",
        timeout=STARTUP,
    )
    assert run.attempts == 2, group.output()
    assert run.result is not None and run.result["events"] >= 0
    logs = group.output(tail=None)
    assert logs.count(f"{run.key} done") == 1, logs
    assert len(runs(db, TRAIN_RANKER)) == 1


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.redis
@pytest.mark.postgres
def test_a_no_show_released_by_the_worker_reaches_a_browser_of_the_web_process(
    workers: Callable[..., Workers], world: World, db: Session, tmp_path: Path
) -> None:
    from tests.web.live import api_token
    from tests.web.test_realtime import Listener

    booking = no_show_booking(db, world, datetime.now(UTC) - timedelta(hours=1))
    group = workers(MATCHMAKER_SWEEP_SECONDS="1", SOCKETIO_MESSAGE_QUEUE=str(REDIS_URL))
    url = group.serve()
    listener = Listener()
    listener.record("booking_changed")
    listener.client.connect(
        url, auth={"token": api_token(url, "founder@test.example")}, transports=["polling"]
    )
    try:
        joined = listener.client.call("join", {"room": "resource", "id": world.equipment1.id}, timeout=WAIT)
        assert joined["ok"]
        fresh(db)
        assert db.get(Booking, booking.id).status is BookingStatus.CONFIRMED  # the web process swept nothing
        group.start()
        group.wait_ready(1)
        event = listener.wait_for("booking_changed")[0]
        assert event["booking"]["id"] == booking.id and event["booking"]["status"] == "no_show"
    finally:
        listener.client.disconnect()
