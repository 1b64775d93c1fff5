"""Emit domain events to the rooms that care; called only after the unit of work has committed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from matchmaker import events
from web.extensions import socketio
from web.observability import count_booking_made, count_event_published
from web.realtime import rooms
from web.realtime.presence import presence

NAMESPACE = "/"


def count_published(event: events.Event) -> None:
    count_event_published(event.name)
    if isinstance(event, events.BookingChanged) and event.action == "created":
        count_booking_made()


def publish(committed: Iterable[events.Event]) -> None:
    for event in committed:
        count_published(event)
        if isinstance(event, events.ResourceChanged):
            payload = {"action": event.action, "resource": event.payload}
            socketio.emit(event.name, payload, to=rooms.space(event.space_id), namespace=NAMESPACE)
            socketio.emit(event.name, payload, to=rooms.resource(event.resource_id), namespace=NAMESPACE)
        elif isinstance(event, events.TeamChanged):
            payload = {"action": event.action, "team": event.payload}
            # Team news goes to the team's members and the space's managers, never to the whole space.
            socketio.emit(event.name, payload, to=rooms.managers(event.space_id), namespace=NAMESPACE)
            for user_id in event.member_user_ids:
                socketio.emit(event.name, payload, to=rooms.user(user_id), namespace=NAMESPACE)
        elif isinstance(event, events.BookingChanged):
            # Anyone watching the calendar learns the slot is taken; who took it goes only to the team,
            # the host organisation and the space's managers.
            public = {"action": event.action, "booking": event.public}
            private = {"action": event.action, "booking": event.private}
            to_rooms(event.name, public, [rooms.resource(event.resource_id), rooms.space(event.space_id)])
            private_rooms = [rooms.organization(event.organization_id), rooms.managers(event.space_id)]
            private_rooms += [rooms.user(u) for u in event.member_user_ids]
            to_rooms("my_booking_changed", private, private_rooms)
        elif isinstance(event, events.RecommendationsChanged):
            rooms_of_members = [rooms.user(u) for u in event.member_user_ids]
            if rooms_of_members:
                to_rooms(event.name, {"team_id": event.team_id}, rooms_of_members)
        elif isinstance(event, events.RoundPublished):
            if event.user_ids:
                news: dict[str, Any] = {
                    "round_id": event.round_id,
                    "title": event.title,
                    "space_id": event.space_id,
                }
                to_rooms(event.name, news, [rooms.user(u) for u in event.user_ids])
        elif isinstance(event, events.CalendarChanged):
            changed = {"action": event.action, "resource_id": event.resource_id, "detail": event.payload}
            to_rooms(
                event.name,
                changed,
                [
                    rooms.resource(event.resource_id),
                    rooms.space(event.space_id),
                    rooms.organization(event.organization_id),
                ],
            )


def to_rooms(name: str, payload: dict[str, Any], room_names: list[str]) -> None:
    """Emit once to every connection in any of the rooms, even one that sits in several of them
    (python-socketio accepts a list of rooms; its type stubs only say str)."""
    socketio.emit(name, payload, to=room_names, namespace=NAMESPACE)  # type: ignore[arg-type]


def disconnect_user(user_id: int) -> None:
    """Close every live connection of a user who logged out, in every app process."""
    disconnect_room(rooms.user(user_id))


def disconnect_token(token_id: int) -> None:
    """Close every live connection opened with a token that has just been revoked."""
    disconnect_room(rooms.token(token_id))


def disconnect_room(room: str) -> None:
    server = getattr(socketio, "server", None)  # absent from the type stubs
    if server is None:
        return
    socketio.emit("session_ended", {}, to=room, namespace=NAMESPACE)
    sids = presence().sids(room)
    if sids is None:  # one process: its own room knows every connection
        sids = [sid for sid, _eio in server.manager.get_participants(NAMESPACE, room)]
    for sid in sids:
        # With a message queue, a sid held by another process is disconnected there.
        server.disconnect(sid, namespace=NAMESPACE)
