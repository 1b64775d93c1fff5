"""The deployment users grow into: two app processes sharing PostgreSQL and the Redis message queue."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from tests.conftest import REDIS_URL, World
from tests.web.booking_support import next_week, post_booking
from tests.web.live import WAIT, Visitor, add_equipment, api_token
from tests.web.test_realtime import Listener

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(engine: Engine, tmp_path: Path, name: str, prefix: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SOCKETIO_MESSAGE_QUEUE": str(REDIS_URL),
        "MATCHMAKER_RATELIMIT_STORAGE_URI": str(REDIS_URL),
        "MATCHMAKER_INSTANCE_PATH": str(tmp_path / name),
        "MATCHMAKER_SECRET_KEY": "shared-by-both-processes",
        "MATCHMAKER_LOGIN_RATE_LIMIT": "6 per minute",
        "MATCHMAKER_RATELIMIT_KEY_PREFIX": prefix,  # counters of earlier tests stay out of this one
    }
    with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own copy of the handle
        process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait for the process to listen, not for a race to settle
        try:
            if requests.get(f"{url}/api/v1/spaces", timeout=2).status_code == 200:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"{name} did not start: {(tmp_path / f'{name}.log').read_text()[-2000:]}")


@pytest.fixture
def two_processes(engine: Engine, world: World, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if engine.dialect.name != "postgresql" or not REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (MATCHMAKER_TEST_DATABASE_URL, MATCHMAKER_TEST_REDIS_URL)")
    prefix = uuid.uuid4().hex
    started = [_start(engine, tmp_path, name, prefix) for name in ("first", "second")]
    try:
        yield started[0][1], started[1][1]
    finally:
        for process, _ in started:
            process.terminate()
            process.wait(timeout=10)


def test_an_event_from_one_process_reaches_a_client_of_the_other(
    two_processes: tuple[str, str], world: World
) -> None:
    first, second = two_processes
    listener = Listener()
    listener.record("resource_changed")
    viewer = api_token(second, "founder@test.example")
    listener.client.connect(second, auth={"token": viewer}, transports=["websocket"])
    try:
        assert listener.client.call("join", {"room": "space", "id": world.space1.id}, timeout=WAIT)["ok"]
        host = api_token(first, "host@test.example")
        created = add_equipment(first, host, world, "晶圆探针台", "Wafer prober")
        assert created.status_code == 201
        event = listener.wait_for("resource_changed")[0]
        assert event["resource"]["id"] == created.json()["id"]
    finally:
        listener.client.disconnect()


def test_logging_out_in_one_process_closes_connections_held_by_the_other(
    two_processes: tuple[str, str], world: World
) -> None:
    first, second = two_processes
    visitor = Visitor(first).login("founder@test.example")
    listener = Listener()
    listener.client.connect(second, headers={"Cookie": visitor.cookie}, transports=["polling"])
    assert listener.client.connected
    visitor.logout()
    assert listener.disconnected.wait(WAIT), "the connection held by the other process survived the logout"


def test_the_login_limit_holds_across_processes_through_redis(
    two_processes: tuple[str, str], world: World
) -> None:
    first, second = two_processes
    wrong = {"email": "founder@test.example", "password": "not the password"}
    # The key prefix is fresh, so both processes share six attempts a minute, counted from zero.
    statuses = [
        requests.post(f"{url}/api/v1/tokens", json=wrong, timeout=WAIT).status_code
        for url in (first, second) * 3
    ]
    assert statuses == [422] * 6
    assert requests.post(f"{first}/api/v1/tokens", json=wrong, timeout=WAIT).status_code == 429
    assert requests.post(f"{second}/api/v1/tokens", json=wrong, timeout=WAIT).status_code == 429


def test_a_booking_through_one_process_reaches_a_calendar_watched_through_the_other(
    two_processes: tuple[str, str], world: World
) -> None:
    first, second = two_processes
    listener = Listener()
    listener.record("booking_changed")
    listener.client.connect(
        second, auth={"token": api_token(second, "other_founder@test.example")}, transports=["polling"]
    )
    try:
        assert listener.client.call("join", {"room": "resource", "id": world.equipment1.id}, timeout=WAIT)[
            "ok"
        ]
        token = api_token(first, "founder@test.example")
        start, end = next_week(1, 10), next_week(1, 12)
        made = post_booking(first, token, world.team1.id, world.equipment1.id, start, end)
        assert made.status_code == 201, made.text
        event = listener.wait_for("booking_changed")[0]
        assert event["booking"]["id"] == made.json()["id"]
        # The other process refuses the same slot: both share one database and its constraint.
        again = post_booking(
            second,
            api_token(second, "other_founder@test.example"),
            world.team2.id,
            world.equipment1.id,
            start,
            end,
        )
        assert again.status_code == 409
    finally:
        listener.client.disconnect()
