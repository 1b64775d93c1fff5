"""The deployment users grow into: two app processes sharing PostgreSQL and the Redis message queue."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from tests.conftest import REDIS_URL, World
from tests.web.booking_support import next_week, post_booking
from tests.web.live import WAIT, Visitor, add_equipment, api_token
from tests.web.processes import all_running, free_port
from tests.web.test_realtime import Listener

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]  # several real server processes


def _env(engine: Engine, tmp_path: Path, name: str, prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SOCKETIO_MESSAGE_QUEUE": str(REDIS_URL),
        "MATCHMAKER_RATELIMIT_STORAGE_URI": str(REDIS_URL),
        "MATCHMAKER_INSTANCE_PATH": str(tmp_path / name),
        "MATCHMAKER_INSTANCE_NAME": name,
        "MATCHMAKER_SECRET_KEY": "shared-by-both-processes",
        "MATCHMAKER_LOGIN_RATE_LIMIT": "6 per minute",
        "MATCHMAKER_RATELIMIT_KEY_PREFIX": prefix,  # counters of earlier tests stay out of this one
        "MATCHMAKER_SOCKETIO_CHANNEL": prefix,  # so do events of tests running at the same time
        "MATCHMAKER_GRACEFUL_SECONDS": "2",  # open connections need not hold up the teardown
    }


@pytest.fixture
def two_processes(engine: Engine, world: World, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if engine.dialect.name != "postgresql" or not REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (MATCHMAKER_TEST_DATABASE_URL, MATCHMAKER_TEST_REDIS_URL)")
    prefix = uuid.uuid4().hex
    commands = []
    for name in ("first", "second"):
        port = free_port()
        command = [sys.executable, "-m", "web.cli", "serve", "--port", str(port)]
        env = _env(engine, tmp_path, name, prefix)
        commands.append((command, env, tmp_path / f"{name}.log", f"http://127.0.0.1:{port}"))
    with all_running(commands) as started:
        yield started[0].url, started[1].url


def test_the_production_server_answers_with_its_instance_name(two_processes: tuple[str, str]) -> None:
    first, second = two_processes
    for url, name in ((first, "first"), (second, "second")):
        response = requests.get(f"{url}/readyz", timeout=WAIT)
        assert response.status_code == 200, response.text
        assert response.headers["Server"].startswith("gunicorn")
        assert response.headers["X-Instance"] == name
        assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


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
