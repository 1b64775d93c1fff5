"""The stack `deploy/local-stack.sh` starts: two gunicorn instances behind HAProxy, with sticky
sessions and WebSocket upgrade, on PostgreSQL and Redis. A booking made through the balancer on one
instance reaches a Socket.IO client connected through the balancer to the other."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from tests.conftest import IN_CI, PASSWORD, REDIS_URL, World
from tests.web.booking_support import iso, next_week
from tests.web.live import WAIT
from tests.web.processes import free_port, running
from tests.web.test_realtime import Listener

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.loadbalancer, pytest.mark.slow]

STACK = Path(__file__).resolve().parents[2] / "deploy" / "local-stack.sh"


@pytest.fixture
def balanced(engine: Engine, world: World, tmp_path: Path) -> Iterator[str]:
    if engine.dialect.name != "postgresql" or not REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (MATCHMAKER_TEST_DATABASE_URL, MATCHMAKER_TEST_REDIS_URL)")
    if shutil.which("haproxy") is None:
        if IN_CI:
            pytest.fail("HAProxy is required in CI (.ci/run installs Debian's haproxy)")
        pytest.skip("HAProxy is not installed (Debian: apt-get install haproxy)")
    lb_port = free_port()
    prefix = uuid.uuid4().hex
    env = {
        **os.environ,
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "REDIS_URL": str(REDIS_URL),
        "APP_PORTS": f"{free_port()} {free_port()}",
        "LB_PORT": str(lb_port),
        "STACK_DIR": str(tmp_path / "stack"),
        "MATCHMAKER_CMD": f"{sys.executable} -m web.cli",
        "PYTHON": sys.executable,
        "MATCHMAKER_SECRET_KEY": "shared-by-the-stack",
        "MATCHMAKER_RATELIMIT_KEY_PREFIX": prefix,
        "MATCHMAKER_SOCKETIO_CHANNEL": prefix,  # events of tests running at the same time stay apart
        "MATCHMAKER_GRACEFUL_SECONDS": "2",
    }
    url = f"http://127.0.0.1:{lb_port}"
    with running(["bash", str(STACK)], env, tmp_path / "stack.log", url) as started:
        yield started.url


def pinned(instance: str) -> requests.Session:
    """An HTTP client that holds the balancer's cookie for one instance, as a browser would."""
    http = requests.Session()
    http.cookies.set("MMK_INSTANCE", instance)
    return http


def test_the_balancer_sticks_a_client_to_the_instance_it_first_reached(balanced: str) -> None:
    browser = requests.Session()
    first = browser.get(f"{balanced}/healthz", timeout=WAIT)
    assert first.status_code == 200
    instance = first.headers["X-Instance"]
    assert browser.cookies["MMK_INSTANCE"] == instance
    assert {browser.get(f"{balanced}/healthz", timeout=WAIT).headers["X-Instance"] for _ in range(6)} == {
        instance
    }
    # Without the cookie, the balancer spreads new clients over both instances.
    fresh = {requests.get(f"{balanced}/healthz", timeout=WAIT).headers["X-Instance"] for _ in range(6)}
    assert fresh == {"app1", "app2"}
    # Metrics are scraped from each instance, not served to the public through the balancer.
    assert requests.get(f"{balanced}/metrics", timeout=WAIT).status_code == 404


def test_a_booking_through_one_instance_reaches_a_websocket_client_of_the_other(
    balanced: str, world: World
) -> None:
    watcher = pinned("app2")
    assert watcher.get(f"{balanced}/healthz", timeout=WAIT).headers["X-Instance"] == "app2"
    made_token = watcher.post(
        f"{balanced}/api/v1/tokens",
        json={"email": "other_founder@test.example", "password": PASSWORD, "name": "t"},
        timeout=WAIT,
    )
    assert made_token.status_code == 201, made_token.text
    listener = Listener()
    listener.record("booking_changed")
    # Long-polling first, then the upgrade to a WebSocket: both must reach app2 through the balancer.
    listener.client.connect(
        balanced,
        auth={"token": made_token.json()["token"]},
        headers={"Cookie": "MMK_INSTANCE=app2"},
        transports=["polling", "websocket"],
        wait_timeout=WAIT,
    )
    try:
        assert listener.client.transport() == "websocket"
        joined = listener.client.call("join", {"room": "resource", "id": world.equipment1.id}, timeout=WAIT)
        assert joined["ok"]

        booker = pinned("app1")
        token = booker.post(
            f"{balanced}/api/v1/tokens",
            json={"email": "founder@test.example", "password": PASSWORD, "name": "t"},
            timeout=WAIT,
        )
        assert token.status_code == 201, token.text
        made = booker.post(
            f"{balanced}/api/v1/bookings",
            json={
                "team_id": world.team1.id,
                "resource_id": world.equipment1.id,
                "starts_at": iso(next_week(3, 10)),
                "ends_at": iso(next_week(3, 12)),
            },
            headers={"Authorization": f"Bearer {token.json()['token']}"},
            timeout=WAIT,
        )
        assert made.status_code == 201, made.text
        assert made.headers["X-Instance"] == "app1"
        event = listener.wait_for("booking_changed")[0]
        assert event["booking"]["id"] == made.json()["id"]
    finally:
        listener.client.disconnect()
