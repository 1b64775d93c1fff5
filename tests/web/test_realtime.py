"""Socket.IO with the real python-socketio client against a live server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio

from tests.conftest import PASSWORD, LiveServer, World
from tests.web.live import WAIT, Visitor, add_equipment, api_token

# The first test proves the WebSocket transport; the rest use long-polling, whose client closes at once
# (the WebSocket client waits up to 3 s for the development server's closing handshake).
TRANSPORTS = ["polling"]


class Listener:
    """A connected client that records the events it receives."""

    def __init__(self) -> None:
        self.client = socketio.Client(reconnection=False)
        self.received: dict[str, list[Any]] = {}
        self._changed = threading.Condition()
        self.disconnected = threading.Event()
        self.client.on("disconnect", lambda *args: self.disconnected.set())

    def record(self, name: str) -> None:
        def handler(payload: Any) -> None:
            with self._changed:
                self.received.setdefault(name, []).append(payload)
                self._changed.notify_all()

        self.client.on(name, handler)

    def wait_for(self, name: str, count: int = 1) -> list[Any]:
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.received.get(name, [])) >= count, timeout=WAIT)
        assert arrived, f"fewer than {count} {name} events within {WAIT}s: {self.received.get(name)}"
        return self.received[name]


def connect_as(listener: Listener, base: str, email: str) -> None:
    listener.client.connect(base, auth={"token": api_token(base, email)}, transports=TRANSPORTS)


@pytest.fixture
def listener() -> Iterator[Listener]:
    created = Listener()
    yield created
    if created.client.connected:
        created.client.disconnect()


def test_the_catalogue_event_reaches_a_subscribed_client(
    live_server: LiveServer, world: World, listener: Listener
) -> None:
    listener.record("resource_changed")
    listener.client.connect(
        live_server.url,
        headers={"Cookie": Visitor(live_server.url).login("founder@test.example").cookie},
        transports=["websocket"],
    )
    ack = listener.client.call("join", {"room": "space", "id": world.space1.id}, timeout=WAIT)
    assert ack == {"ok": True, "room": f"space:{world.space1.id}"}

    host = api_token(live_server.url, "host@test.example")
    created = add_equipment(live_server.url, host, world, "探针台", "Probe station")
    assert created.status_code == 201
    event = listener.wait_for("resource_changed")[0]
    assert event["action"] == "added"
    assert event["resource"]["id"] == created.json()["id"]
    assert event["resource"]["name_zh"] == "探针台"

    retired = requests.post(
        f"{live_server.url}/api/v1/resources/{created.json()['id']}/retire",
        json={"reason": "moved"},
        headers={"Authorization": f"Bearer {host}"},
        timeout=WAIT,
    )
    assert retired.status_code == 200
    events = listener.wait_for("resource_changed", count=2)
    assert [e["action"] for e in events] == ["added", "retired"]


def test_a_client_of_another_space_does_not_hear_it(
    live_server: LiveServer, world: World, listener: Listener
) -> None:
    listener.record("resource_changed")
    connect_as(listener, live_server.url, "manager2@test.example")
    assert listener.client.call("join", {"room": "space", "id": world.space2.id}, timeout=WAIT)["ok"]
    probe = Listener()
    probe.record("resource_changed")
    connect_as(probe, live_server.url, "founder@test.example")
    assert probe.client.call("join", {"room": "space", "id": world.space1.id}, timeout=WAIT)["ok"]
    host = api_token(live_server.url, "host@test.example")
    add_equipment(live_server.url, host, world, "台", "Bench")
    probe.wait_for("resource_changed")  # the space-1 listener heard it, so it has been emitted
    probe.client.disconnect()
    assert "resource_changed" not in listener.received


def test_connections_without_a_login_are_refused(live_server: LiveServer, world: World) -> None:
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server.url, transports=TRANSPORTS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server.url, auth={"token": "mmk_forged"}, transports=TRANSPORTS)


def test_connections_from_another_origin_are_refused(live_server: LiveServer, world: World) -> None:
    client = socketio.Client(reconnection=False)
    cookie = Visitor(live_server.url).login("founder@test.example").cookie
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(
            live_server.url,
            headers={"Cookie": cookie, "Origin": "https://evil.example"},
            transports=["polling"],
        )
    client.connect(
        live_server.url, headers={"Cookie": cookie, "Origin": live_server.url}, transports=["polling"]
    )
    client.disconnect()


@pytest.mark.parametrize(
    ("who", "room", "allowed"),
    [
        ("founder", "managers", False),
        ("manager", "managers", True),
        ("founder", "user-other", False),
        ("founder", "user-self", True),
        ("founder", "retired-resource", False),
        ("host", "retired-resource", True),
        ("founder", "no-such-space", False),
    ],
)
def test_room_joins_are_checked_like_http_reads(
    live_server: LiveServer, world: World, listener: Listener, who: str, room: str, allowed: bool
) -> None:
    host = api_token(live_server.url, "host@test.example")
    requests.post(
        f"{live_server.url}/api/v1/resources/{world.equipment1.id}/retire",
        json={"reason": "x"},
        headers={"Authorization": f"Bearer {host}"},
        timeout=WAIT,
    )
    request = {
        "managers": {"room": "managers", "id": world.space1.id},
        "user-other": {"room": "user", "id": world.id("manager")},
        "user-self": {"room": "user", "id": world.id(who)},
        "retired-resource": {"room": "resource", "id": world.equipment1.id},
        "no-such-space": {"room": "space", "id": 987654},
    }[room]
    connect_as(listener, live_server.url, f"{who}@test.example")
    ack = listener.client.call("join", request, timeout=WAIT)
    assert ack["ok"] is allowed, ack
    if not allowed:
        assert ack["error"]["code"] in ("forbidden", "not_found")


def test_a_malformed_join_gets_an_error_not_a_crash(
    live_server: LiveServer, world: World, listener: Listener
) -> None:
    connect_as(listener, live_server.url, "founder@test.example")
    ack = listener.client.call("join", {"room": "space", "id": "one", "extra": 1}, timeout=WAIT)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "invalid_input"


def test_logout_disconnects_the_users_live_connections(
    live_server: LiveServer, world: World, listener: Listener
) -> None:
    visitor = Visitor(live_server.url).login("founder@test.example")
    listener.client.connect(live_server.url, headers={"Cookie": visitor.cookie}, transports=TRANSPORTS)
    assert listener.client.connected
    visitor.logout()
    assert listener.disconnected.wait(WAIT), "still connected after logout"


def test_a_team_application_reaches_the_managers_room(
    live_server: LiveServer, world: World, listener: Listener
) -> None:
    listener.record("team_changed")
    connect_as(listener, live_server.url, "manager@test.example")
    assert listener.client.call("join", {"room": "managers", "id": world.space1.id}, timeout=WAIT)["ok"]
    applicant = api_token(live_server.url, "outsider@test.example")
    response = requests.post(
        f"{live_server.url}/api/v1/teams",
        json={"space_id": world.space1.id, "name_zh": "新团队", "name_en": "New team"},
        headers={"Authorization": f"Bearer {applicant}"},
        timeout=WAIT,
    )
    assert response.status_code == 201
    event = listener.wait_for("team_changed")[0]
    assert (event["action"], event["team"]["name_en"]) == ("applied", "New team")


def test_revoking_a_token_closes_the_connections_it_opened(
    live_server: LiveServer, world: World, listener: Listener
) -> None:
    created = requests.post(
        f"{live_server.url}/api/v1/tokens",
        json={"email": "manager@test.example", "password": PASSWORD, "name": "t"},
        timeout=WAIT,
    ).json()
    listener.client.connect(live_server.url, auth={"token": created["token"]}, transports=TRANSPORTS)
    assert listener.client.call("join", {"room": "managers", "id": world.space1.id}, timeout=WAIT)["ok"]
    revoked = requests.delete(
        f"{live_server.url}/api/v1/users/me/tokens/{created['id']}",
        headers={"Authorization": f"Bearer {created['token']}"},
        timeout=WAIT,
    )
    assert revoked.status_code == 204
    assert listener.disconnected.wait(WAIT), "the revoked token's connection is still open"
