"""Live calendars: a real python-socketio client sees bookings, cancellations and blackouts as they
happen; who booked reaches only the team, the host organisation and the managers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.conftest import LiveServer, World
from tests.web.booking_support import iso, next_week, post_booking
from tests.web.live import WAIT, api_token
from tests.web.test_realtime import Listener, connect_as


@pytest.fixture
def listeners() -> Iterator[list[Listener]]:
    made: list[Listener] = []
    yield made
    for listener in made:
        if listener.client.connected:
            listener.client.disconnect()


def _listener(made: list[Listener], base: str, email: str, *events: str) -> Listener:
    listener = Listener()
    for name in events:
        listener.record(name)
    connect_as(listener, base, email)
    made.append(listener)
    return listener


def test_a_client_watching_a_resource_sees_another_clients_booking_and_cancellation(
    live_server: LiveServer, world: World, listeners: list[Listener]
) -> None:
    watcher = _listener(
        listeners, live_server.url, "other_founder@test.example", "booking_changed", "my_booking_changed"
    )
    ack = watcher.client.call("join", {"room": "resource", "id": world.equipment1.id}, timeout=WAIT)
    assert ack["ok"] is True
    token = api_token(live_server.url, "founder@test.example")
    start, end = next_week(1, 10), next_week(1, 12)
    made = post_booking(live_server.url, token, world.team1.id, world.equipment1.id, start, end)
    assert made.status_code == 201, made.text
    event = watcher.wait_for("booking_changed")[0]
    assert event["action"] == "created"
    assert event["booking"]["id"] == made.json()["id"]
    assert event["booking"]["starts_at"] == iso(start) and event["booking"]["active"] is True
    assert "team" not in event["booking"]  # another team learns the slot is taken, not by whom

    requests.post(
        f"{live_server.url}/api/v1/bookings/{made.json()['id']}/cancel",
        headers={"Authorization": f"Bearer {token}"},
        timeout=WAIT,
    )
    cancelled = watcher.wait_for("booking_changed", 2)[1]
    assert cancelled["action"] == "cancelled" and cancelled["booking"]["active"] is False
    assert "my_booking_changed" not in watcher.received


def test_the_team_and_the_host_get_the_private_event_and_blackouts_redraw_calendars(
    live_server: LiveServer, world: World, listeners: list[Listener]
) -> None:
    member = _listener(listeners, live_server.url, "member@test.example", "my_booking_changed")
    host = _listener(
        listeners, live_server.url, "host@test.example", "my_booking_changed", "calendar_changed"
    )
    assert (
        host.client.call("join", {"room": "organization", "id": world.host1.id}, timeout=WAIT)["ok"] is True
    )
    outsider = _listener(listeners, live_server.url, "other_founder@test.example")
    refused = outsider.client.call("join", {"room": "organization", "id": world.host1.id}, timeout=WAIT)
    assert refused["ok"] is False

    token = api_token(live_server.url, "founder@test.example")
    start, end = next_week(1, 10), next_week(1, 12)
    made = post_booking(live_server.url, token, world.team1.id, world.equipment1.id, start, end)
    for listener in (member, host):
        private = listener.wait_for("my_booking_changed")[0]
        assert private["booking"]["id"] == made.json()["id"]
        assert private["booking"]["team"]["id"] == world.team1.id

    host_token = api_token(live_server.url, "host@test.example")
    closed = requests.post(
        f"{live_server.url}/api/v1/resources/{world.equipment1.id}/blackouts",
        json={"starts_at": iso(start), "ends_at": iso(end), "reason": "calibration"},
        headers={"Authorization": f"Bearer {host_token}"},
        timeout=WAIT,
    )
    assert closed.status_code == 201
    redraw = host.wait_for("calendar_changed")[0]
    assert redraw["action"] == "blackout_added" and redraw["detail"]["reason"] == "calibration"
    assert member.wait_for("my_booking_changed", 2)[1]["action"] == "cancelled"
