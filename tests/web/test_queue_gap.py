"""When the Redis message queue goes away and comes back, live clients are told to resync.

While Redis is down an instance's events still reach its own clients but never the other instance's,
and nothing replays them; so every instance whose link to Redis was lost asks its clients to resync
(the page reconnects, which replays notifications and re-reads what it shows).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from sqlalchemy import Engine

from tests.conftest import REDIS_URL, World
from tests.web.live import WAIT, add_equipment, api_token
from tests.web.processes import all_running, free_port
from tests.web.test_deployment import _env
from tests.web.test_realtime import Listener
from web.realtime.queue import EVENT, ResyncingRedisManager

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
REDIS_CLI = shutil.which("redis-cli") or "redis-cli"


class PrivateRedis:
    """A Redis of this test's own, so stopping it disturbs nobody else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="queue-gap-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _ping(self) -> bool:
        answer = subprocess.run(
            [REDIS_CLI, "-p", str(self.port), "ping"], capture_output=True, text=True, timeout=10
        )
        return answer.stdout.strip() == "PONG"

    def _wait(self, up: bool) -> None:
        deadline = time.monotonic() + WAIT
        while self._ping() != up:
            assert time.monotonic() < deadline, f"redis did not {'start' if up else 'stop'}"
            time.sleep(0.05)

    def start(self) -> None:
        subprocess.run(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--daemonize", "yes", "--dir", str(self.folder), "--logfile", str(self.folder / "log")],
            check=True, timeout=30,
        )  # fmt: skip
        self._wait(up=True)

    def stop(self) -> None:
        subprocess.run(
            [REDIS_CLI, "-p", str(self.port), "shutdown", "nosave"], capture_output=True, timeout=30
        )
        self._wait(up=False)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if not REDIS_URL or not shutil.which("redis-server") or not shutil.which("redis-cli"):
        pytest.skip("needs Redis (MATCHMAKER_TEST_REDIS_URL) and its redis-server and redis-cli programs")
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()
    shutil.rmtree(redis.folder, ignore_errors=True)


@pytest.fixture
def two_on_private_redis(
    engine: Engine, world: World, tmp_path: Path, private_redis: PrivateRedis
) -> Iterator[tuple[str, str]]:
    if engine.dialect.name != "postgresql":
        pytest.skip("two processes share PostgreSQL here (the SQLite case adds nothing to the queue)")
    commands = []
    prefix = uuid.uuid4().hex  # one channel for both instances
    for name in ("first", "second"):
        port = free_port()
        env = _env(engine, tmp_path, name, prefix)
        env["SOCKETIO_MESSAGE_QUEUE"] = private_redis.url
        env["MATCHMAKER_RATELIMIT_STORAGE_URI"] = "memory://"
        command = [sys.executable, "-m", "web.cli", "serve", "--port", str(port)]
        commands.append((command, env, tmp_path / f"{name}.log", f"http://127.0.0.1:{port}"))
    with all_running(commands) as started:
        yield started[0].url, started[1].url


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow  # two real server processes and a Redis of its own
def test_a_client_of_the_other_instance_is_told_to_resync_when_redis_returns(
    two_on_private_redis: tuple[str, str], world: World, private_redis: PrivateRedis
) -> None:
    first, second = two_on_private_redis
    listener = Listener()
    listener.record(EVENT)
    listener.record("resource_changed")
    listener.client.connect(
        second, auth={"token": api_token(second, "founder@test.example")}, transports=["websocket"]
    )
    try:
        assert listener.client.call("join", {"room": "space", "id": world.space1.id}, timeout=WAIT)["ok"]
        host = api_token(first, "host@test.example")
        private_redis.stop()
        # Booking and editing go on without Redis; this change never reaches the other instance live.
        missed = add_equipment(first, host, world, "离子注入机", "Ion implanter")
        assert missed.status_code == 201, missed.text
        assert EVENT not in listener.received
        private_redis.start()
        listener.wait_for(EVENT)
        # And events flow again.
        after = add_equipment(first, host, world, "退火炉", "Annealing furnace")
        assert after.status_code == 201, after.text
        seen = [e["resource"]["id"] for e in listener.wait_for("resource_changed")]
        assert after.json()["id"] in seen
    finally:
        listener.client.disconnect()


def test_a_publisher_that_failed_asks_everyone_to_resync_once_it_can_publish_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manager = ResyncingRedisManager("redis://127.0.0.1:1/0", write_only=True)
    outcomes = iter([None, None, 1, 1, 1])
    sent: list[dict[str, Any]] = []

    def parent_publish(self: Any, data: dict[str, Any]) -> int | None:
        sent.append(data)
        return next(outcomes)

    monkeypatch.setattr(socketio.RedisManager, "_publish", parent_publish)
    message = {"method": "emit", "event": "booking_changed", "data": [{}], "room": "resource:1"}
    assert manager._publish(message) is None  # Redis down: lost
    assert manager._publish(message) is None  # still down
    manager._publish(message)  # back: this one goes, then the resync for what was lost
    manager._publish(message)  # nothing more was lost: no second resync
    events = [m["event"] for m in sent]
    assert events == ["booking_changed", "booking_changed", "booking_changed", EVENT, "booking_changed"]
    resync = sent[3]
    assert resync["room"] is None and resync["namespace"] == "/"
