"""The notification centre: what already happens tells the people concerned, stored first and pushed
second; paging, marking read and preferences through the API; live push and catch-up after a reconnect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Notification, NotificationPreference
from tests.conftest import Client, LiveServer, World, fresh
from tests.web.booking_support import Api, next_week, post_booking, token_for
from tests.web.live import api_token, require_approval
from tests.web.test_realtime import TRANSPORTS, Listener

USERS = ("founder", "member", "other_founder", "host", "manager")
TUE_10, TUE_12 = next_week(1, 10), next_week(1, 12)


@pytest.fixture
def api(client: Client, world: World, db: Session) -> dict[str, Api]:
    return {name: Api(client, token_for(db, world.users[name])) for name in USERS}


def _count(db: Session, **where: Any) -> int:
    fresh(db)
    query = select(func.count()).select_from(Notification)
    for column, value in where.items():
        query = query.where(getattr(Notification, column) == value)
    return int(db.scalar(query) or 0)


def _pending_booking(api: dict[str, Api], world: World) -> dict[str, Any]:
    api["host"].patch(f"/resources/{world.equipment1.id}/availability", {"requires_approval": True})
    made = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12)
    assert made.status_code == 201, made.json
    return dict(made.json)


def test_an_approval_request_reaches_the_host_and_the_decision_reaches_every_team_member(
    api: dict[str, Api], world: World, db: Session
) -> None:
    booking = _pending_booking(api, world)
    host_inbox = api["host"].get("/notifications").json
    assert [n["kind"] for n in host_inbox["items"]] == ["approval_requested"]
    assert host_inbox["unread_count"] == 1
    assert "Field-emission SEM" in host_inbox["items"][0]["title_en"]
    assert "场发射扫描电子显微镜" in host_inbox["items"][0]["title_zh"]

    assert api["host"].post(f"/bookings/{booking['id']}/decision", {"approve": True}).status_code == 200
    for member in ("founder", "member"):
        inbox = api[member].get("/notifications").json
        assert [n["kind"] for n in inbox["items"]] == ["booking_approved"], member
        assert inbox["items"][0]["link"] == "/bookings"
        assert inbox["items"][0]["read_at"] is None
    assert api["other_founder"].get("/notifications").json["items"] == []  # not their team


def test_a_refused_change_leaves_no_notification(api: dict[str, Api], world: World, db: Session) -> None:
    booking = _pending_booking(api, world)
    assert api["host"].post(f"/bookings/{booking['id']}/decision", {"approve": True}).status_code == 200
    before = _count(db)
    again = api["host"].post(f"/bookings/{booking['id']}/decision", {"approve": False})
    assert again.status_code == 409
    assert _count(db) == before


def test_pages_follow_the_cursor_and_a_foreign_cursor_is_refused(
    api: dict[str, Api], world: World, db: Session
) -> None:
    for day in range(3):
        start, end = next_week(day, 10, weeks=2), next_week(day, 11, weeks=2)
        api["host"].patch(f"/resources/{world.equipment1.id}/availability", {"requires_approval": True})
        api["founder"].book(world.team1.id, world.equipment1.id, start, end)
    first = api["host"].get("/notifications?limit=2").json
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api["host"].get(f"/notifications?limit=2&cursor={first['next_cursor']}").json
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [n["id"] for n in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3
    for bad in ("not-a-cursor", "bjp4", "%00", "x" * 41):
        refused = api["host"].get(f"/notifications?cursor={bad}")
        assert refused.status_code == 422, (bad, refused.json)
        assert refused.json["error"]["code"] == "invalid_input"


def test_marking_read_is_for_ones_own_notifications_only(
    api: dict[str, Api], world: World, db: Session
) -> None:
    _pending_booking(api, world)
    note = api["host"].get("/notifications").json["items"][0]
    foreign = api["founder"].post(f"/notifications/{note['id']}/read")
    assert foreign.status_code == 404 and foreign.json["error"]["code"] == "not_found"
    assert api["founder"].post("/notifications/999999/read").status_code == 404
    assert _count(db, read_at=None) == 1  # nothing written by the refusals
    marked = api["host"].post(f"/notifications/{note['id']}/read").json
    assert marked["read_at"] is not None and marked["unread_count"] == 0


def test_mark_all_read_clears_the_count(api: dict[str, Api], world: World) -> None:
    booking = _pending_booking(api, world)
    api["host"].post(f"/bookings/{booking['id']}/decision", {"approve": False, "note": "busy"})
    assert api["founder"].get("/notifications").json["unread_count"] == 1
    assert api["founder"].post("/notifications/read-all").json == {"marked": 1, "unread_count": 0}
    assert api["founder"].get("/notifications?unread=true").json["items"] == []


def test_a_kind_switched_off_is_not_stored_and_an_unknown_kind_is_refused(
    api: dict[str, Api], world: World, db: Session
) -> None:
    refused = api["host"].put("/notifications/preferences", {"in_app": {"no_such_kind": False}})
    assert refused.status_code == 422
    assert refused.json["error"]["details"]["fields"] == {"no_such_kind": "unknown_kind"}
    fresh(db)
    assert db.scalar(select(func.count()).select_from(NotificationPreference)) == 0

    saved = api["host"].put("/notifications/preferences", {"in_app": {"approval_requested": False}})
    assert saved.status_code == 200
    by_kind = {p["kind"]: p["in_app"] for p in saved.json["preferences"]}
    assert by_kind["approval_requested"] is False and by_kind["booking_approved"] is True
    _pending_booking(api, world)
    assert api["host"].get("/notifications").json["items"] == []


# Live ---------------------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[Listener]:
    made = Listener()
    yield made
    if made.client.connected:
        made.client.disconnect()


def _ask_for_approval(base: str, world: World, start: Any, end: Any) -> int:
    require_approval(base, world)
    founder = api_token(base, "founder@test.example")
    made = post_booking(base, founder, world.team1.id, world.equipment1.id, start, end)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_a_connected_client_receives_its_notification_live(
    live_server: LiveServer, world: World, listener: Listener
) -> None:
    listener.record("notification")
    token = api_token(live_server.url, "host@test.example")
    listener.client.connect(live_server.url, auth={"token": token}, transports=TRANSPORTS)
    booking_id = _ask_for_approval(live_server.url, world, TUE_10, TUE_12)
    note = listener.wait_for("notification")[0]
    assert note["kind"] == "approval_requested"
    assert note["subject"] == f"booking:{booking_id}"
    assert note["unread_count"] == 1


def test_a_client_that_was_away_receives_what_it_missed_on_reconnect(
    live_server: LiveServer, world: World, listener: Listener
) -> None:
    token = api_token(live_server.url, "host@test.example")
    listener.record("notification")
    listener.client.connect(live_server.url, auth={"token": token}, transports=TRANSPORTS)
    _ask_for_approval(live_server.url, world, TUE_10, TUE_12)
    seen = listener.wait_for("notification")[0]
    listener.client.disconnect()

    missed_id = _ask_for_approval(live_server.url, world, next_week(2, 10), next_week(2, 12))
    back = Listener()
    back.record("notification")
    try:
        back.client.connect(
            live_server.url,
            auth={"token": token, "notifications_after": seen["id"]},
            transports=TRANSPORTS,
        )
        caught_up = back.wait_for("notification")
        assert [n["subject"] for n in caught_up] == [f"booking:{missed_id}"]
        assert caught_up[0]["unread_count"] == 2
    finally:
        back.client.disconnect()
