"""Socket.IO handlers: authenticated connections only, and every room join checked like the HTTP read."""

from __future__ import annotations

from typing import Any

from flask import request
from flask import session as socket_session
from flask_socketio import disconnect, emit, join_room, leave_room
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from socketio.exceptions import ConnectionRefusedError

from matchmaker import permissions
from matchmaker.errors import Forbidden, NotAuthenticated, NotFound
from matchmaker.operations import accounts, catalogue, spaces
from matchmaker.operations import notifications as notification_ops
from matchmaker.permissions import Principal
from models import Organization, User
from web.api.schemas import MAX_ID
from web.db import get_session
from web.errors import public_message
from web.extensions import socketio
from web.realtime import rooms
from web.realtime.presence import presence
from web.security import current_db_user
from web.units import unit_of_work

NAMESPACE = "/"


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    room: str
    id: int = Field(ge=1, le=2**31 - 1)


def _socket_user() -> User | None:
    """The browser's session user, or the user of the token given at connect; re-checked every event."""
    user = current_db_user()
    if user is not None:
        return user
    token = socket_session.get("socket_token")
    if token:
        try:
            return accounts.user_for_token(get_session(), token)
        except NotAuthenticated:
            return None
    return None


def _principal_or_disconnect() -> Principal | None:
    user = _socket_user()
    if user is None:
        emit("error", {"error": {"code": "not_authenticated", "message": "Session ended.", "details": {}}})
        disconnect()
        return None
    return accounts.principal_for(get_session(), user)


@socketio.on("connect", namespace=NAMESPACE)
@unit_of_work
def on_connect(auth: dict[str, Any] | None = None) -> None:
    secret = (auth or {}).get("token") if isinstance(auth, dict) else None
    if isinstance(secret, str) and secret:
        socket_session["socket_token"] = secret
    user = _socket_user()
    if user is None:
        raise ConnectionRefusedError("not_authenticated")
    # Logout closes the user's room; revoking a token closes the token's room.
    owned = [rooms.user(user.id)]
    if isinstance(secret, str) and secret and current_db_user() is None:
        owned.append(rooms.token(accounts.token_for_secret(get_session(), secret).id))
    socket_session["socket_rooms"] = owned
    for room in owned:
        join_room(room)
        presence().connected(room, request.sid)  # type: ignore[attr-defined]
    _catch_up(user.id, (auth or {}).get("notifications_after") if isinstance(auth, dict) else None)


def _catch_up(user_id: int, after: Any) -> None:
    """A client that says which notification it saw last gets what was stored since, to itself only:
    nothing is missed while a browser was closed or a connection dropped."""
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_ID:
        return
    session = get_session()
    missed = notification_ops.since(session, user_id, after)
    if missed:
        unread = notification_ops.unread_count(session, user_id)
        for note in missed:
            payload = {**notification_ops.out(note), "unread_count": unread}
            emit("notification", payload, to=request.sid)  # type: ignore[attr-defined]


@socketio.on("disconnect", namespace=NAMESPACE)
@unit_of_work
def on_disconnect(*_reason: Any) -> None:
    for room in socket_session.get("socket_rooms", []):
        presence().disconnected(room, request.sid)  # type: ignore[attr-defined]


@socketio.on("join", namespace=NAMESPACE)
@unit_of_work
def on_join(data: Any) -> dict[str, Any]:
    """``{"room": "space"|"resource"|"managers"|"organization"|"task"|"user", "id": n}``.

    Answers ``{"ok": true, "room": ...}``."""
    principal = _principal_or_disconnect()
    if principal is None:
        return {"ok": False}
    try:
        wanted = JoinIn.model_validate(data)
        room = _authorised_room(principal, wanted)
    except (ValidationError, Forbidden, NotFound) as exc:
        return {"ok": False, **public_message(exc)}
    join_room(room)
    return {"ok": True, "room": room}


@socketio.on("leave", namespace=NAMESPACE)
@unit_of_work
def on_leave(data: Any) -> dict[str, Any]:
    try:
        wanted = JoinIn.model_validate(data)
    except ValidationError as exc:
        return {"ok": False, **public_message(exc)}
    room = {
        "space": rooms.space,
        "resource": rooms.resource,
        "managers": rooms.managers,
        "organization": rooms.organization,
        "task": rooms.task,
    }.get(wanted.room)
    if room is not None:
        leave_room(room(wanted.id))
    return {"ok": True}


def _authorised_room(principal: Principal, wanted: JoinIn) -> str:
    session = get_session()
    if wanted.room == "space":
        spaces.get_space(session, wanted.id)
        if not permissions.can_join_space_room(principal, wanted.id):
            raise Forbidden("follow this space", "关注该空间")
        return rooms.space(wanted.id)
    if wanted.room == "resource":
        catalogue.get_resource(session, principal, wanted.id)  # same check as GET /resources/<id>
        return rooms.resource(wanted.id)
    if wanted.room == "managers":
        if not principal.is_manager_of(wanted.id):
            raise Forbidden("follow this space's admissions", "关注该空间的入驻审核")
        return rooms.managers(wanted.id)
    if wanted.room == "organization":
        org = session.get(Organization, wanted.id)
        if org is None:
            raise NotFound("organisation", "机构", wanted.id)
        if not permissions.can_join_organization_room(principal, org.space_id, org.id):
            raise Forbidden("follow this organisation's bookings", "关注该机构的预约")
        return rooms.organization(wanted.id)
    if wanted.room == "task":
        from matchmaker.operations import tasks as task_ops

        task_ops.get_task(session, principal, wanted.id)  # same check as GET /tasks/<id>
        return rooms.task(wanted.id)
    if wanted.room == "user":
        if not permissions.can_join_user_room(principal, wanted.id):
            raise Forbidden("follow another person's notifications", "查看他人的通知")
        return rooms.user(wanted.id)
    raise NotFound("room kind", "房间类型", wanted.room)


@socketio.on_error_default
def on_error(exc: BaseException) -> None:
    emit("error", public_message(exc))
