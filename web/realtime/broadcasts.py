"""Emit domain events to the rooms that care; called only after the unit of work has committed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from matchmaker import events
from web.extensions import socketio
from web.observability import count_booking_made, count_event_published
from web.realtime import rooms
from web.realtime.presence import presence

NAMESPACE = "/"


# Which rooms hear which event, with what payload: one entry per event type, and nothing else to edit
# for a new event (the browser subscribes to every event generically, see static/live.js).
Delivery = tuple[str, dict[str, Any], list[str]]  # event name, payload, rooms


def _resource_changed(e: events.ResourceChanged) -> list[Delivery]:
    payload = {"action": e.action, "resource": e.payload}
    return [(e.name, payload, [rooms.space(e.space_id), rooms.resource(e.resource_id)])]


def _team_changed(e: events.TeamChanged) -> list[Delivery]:
    # Team news goes to the team's members and the space's managers, never to the whole space.
    payload = {"action": e.action, "team": e.payload}
    return [(e.name, payload, [rooms.managers(e.space_id), *map(rooms.user, e.member_user_ids)])]


def _booking_changed(e: events.BookingChanged) -> list[Delivery]:
    # Anyone watching the calendar learns the slot is taken; who took it goes only to the team, the
    # host organisation and the space's managers.
    public_rooms = [rooms.resource(e.resource_id), rooms.space(e.space_id)]
    private_rooms = [rooms.organization(e.organization_id), rooms.managers(e.space_id)]
    private_rooms += [rooms.user(u) for u in e.member_user_ids]
    return [
        (e.name, {"action": e.action, "booking": e.public}, public_rooms),
        ("my_booking_changed", {"action": e.action, "booking": e.private}, private_rooms),
    ]


def _calendar_changed(e: events.CalendarChanged) -> list[Delivery]:
    changed = {"action": e.action, "resource_id": e.resource_id, "detail": e.payload}
    watchers = [rooms.resource(e.resource_id), rooms.space(e.space_id), rooms.organization(e.organization_id)]
    return [(e.name, changed, watchers)]


def _recommendations_changed(e: events.RecommendationsChanged) -> list[Delivery]:
    return [(e.name, {"team_id": e.team_id}, [rooms.user(u) for u in e.member_user_ids])]


def _round_published(e: events.RoundPublished) -> list[Delivery]:
    news = {"round_id": e.round_id, "title": e.title, "space_id": e.space_id}
    return [(e.name, news, [rooms.user(u) for u in e.user_ids])]


def _task_changed(e: events.TaskChanged) -> list[Delivery]:
    # Whoever looks at the task (the join is checked like the read) and its host hear every change; a
    # task open to more than invited teams also shows on its space's board.
    watchers = [rooms.task(e.task_id), rooms.organization(e.organization_id), rooms.managers(e.space_id)]
    if e.visibility != "invited":
        watchers.append(rooms.space(e.space_id))
    return [(e.name, {"action": e.action, "task": e.payload}, watchers)]


def _mentor_request_changed(e: events.MentorRequestChanged) -> list[Delivery]:
    # What a team asked is for the team, the mentor and the space's managers only.
    people = {*e.member_user_ids, *((e.mentor_user_id,) if e.mentor_user_id else ())}
    targets = [rooms.managers(e.space_id), *(rooms.user(u) for u in sorted(people))]
    return [(e.name, {"action": e.action, "request": e.payload}, targets)]


def _mentor_session_changed(e: events.MentorSessionChanged) -> list[Delivery]:
    people = {*e.member_user_ids, *((e.mentor_user_id,) if e.mentor_user_id else ())}
    targets = [rooms.managers(e.space_id), *(rooms.user(u) for u in sorted(people))]
    return [(e.name, {"action": e.action, "session": e.payload}, targets)]


def _introduction_changed(e: events.IntroductionChanged) -> list[Delivery]:
    people = {*e.member_user_ids, *((e.investor_user_id,) if e.investor_user_id else ())}
    targets = [rooms.managers(e.space_id), *(rooms.user(u) for u in sorted(people))]
    return [(e.name, {"action": e.action, "introduction": e.payload}, targets)]


def _notification_created(e: events.NotificationCreated) -> list[Delivery]:
    return [(e.name, e.payload, [rooms.user(e.user_id)])]


def _nothing_to_emit(e: events.Event) -> list[Delivery]:
    # Told through the notification centre (certificates), or not a message at all (closing a user's
    # connections is done by publish() below).
    return []


ROUTES: dict[type[events.Event], Callable[[Any], list[Delivery]]] = {
    events.ResourceChanged: _resource_changed,
    events.TeamChanged: _team_changed,
    events.BookingChanged: _booking_changed,
    events.CalendarChanged: _calendar_changed,
    events.RecommendationsChanged: _recommendations_changed,
    events.RoundPublished: _round_published,
    events.NotificationCreated: _notification_created,
    events.CertificateChanged: _nothing_to_emit,
    events.ConnectionsEnded: _nothing_to_emit,
    events.TaskChanged: _task_changed,
    events.TaskNews: _nothing_to_emit,
    events.MentorRequestChanged: _mentor_request_changed,
    events.MentorSessionChanged: _mentor_session_changed,
    events.IntroductionChanged: _introduction_changed,
}


def count_published(event: events.Event) -> None:
    count_event_published(event.name)
    if isinstance(event, events.BookingChanged) and event.action == "created":
        count_booking_made()


def publish(committed: Iterable[events.Event]) -> None:
    """Emit each committed event to its rooms (an event type missing from ``ROUTES`` is a bug)."""
    for event in committed:
        count_published(event)
        for name, payload, room_names in ROUTES[type(event)](event):
            if room_names:
                to_rooms(name, payload, room_names)
        if isinstance(event, events.ConnectionsEnded):
            if event.user_id is not None:
                disconnect_user(event.user_id)
            if event.token_id is not None:
                disconnect_token(event.token_id)


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
