"""Socket.IO handlers: authenticated connections only, and every room join checked like the HTTP read."""

from __future__ import annotations

from typing import Any

from flask import session as socket_session
from flask_socketio import disconnect, emit, join_room, leave_room
from pydantic import BaseModel, ConfigDict, ValidationError
from socketio.exceptions import ConnectionRefusedError

from matchmaker import permissions
from matchmaker.errors import Forbidden, NotAuthenticated, NotFound
from matchmaker.operations import accounts, catalogue, spaces
from matchmaker.permissions import Principal
from models import User
from web.db import get_session
from web.errors import public_message
from web.extensions import socketio
from web.realtime import rooms
from web.security import current_db_user

NAMESPACE = "/"


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    room: str
    id: int


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
def on_connect(auth: dict[str, Any] | None = None) -> None:
    token = (auth or {}).get("token") if isinstance(auth, dict) else None
    if isinstance(token, str) and token:
        socket_session["socket_token"] = token
    user = _socket_user()
    if user is None:
        raise ConnectionRefusedError("not_authenticated")
    join_room(rooms.user(user.id))


@socketio.on("join", namespace=NAMESPACE)
def on_join(data: Any) -> dict[str, Any]:
    """``{"room": "space"|"resource"|"managers"|"user", "id": n}``; answers ``{"ok": true, "room": ...}``."""
    principal = _principal_or_disconnect()
    if principal is None:
        return {"ok": False}
    try:
        request = JoinIn.model_validate(data)
        room = _authorised_room(principal, request)
    except (ValidationError, Forbidden, NotFound) as exc:
        return {"ok": False, **public_message(exc)}
    join_room(room)
    return {"ok": True, "room": room}


@socketio.on("leave", namespace=NAMESPACE)
def on_leave(data: Any) -> dict[str, Any]:
    try:
        request = JoinIn.model_validate(data)
    except ValidationError as exc:
        return {"ok": False, **public_message(exc)}
    room = {"space": rooms.space, "resource": rooms.resource, "managers": rooms.managers}.get(request.room)
    if room is not None:
        leave_room(room(request.id))
    return {"ok": True}


def _authorised_room(principal: Principal, request: JoinIn) -> str:
    session = get_session()
    if request.room == "space":
        spaces.get_space(session, request.id)
        if not permissions.can_join_space_room(principal, request.id):
            raise Forbidden("follow this space", "关注该空间")
        return rooms.space(request.id)
    if request.room == "resource":
        catalogue.get_resource(session, principal, request.id)  # same check as GET /resources/<id>
        return rooms.resource(request.id)
    if request.room == "managers":
        if not principal.is_manager_of(request.id):
            raise Forbidden("follow this space's admissions", "关注该空间的入驻审核")
        return rooms.managers(request.id)
    if request.room == "user":
        if not permissions.can_join_user_room(principal, request.id):
            raise Forbidden("follow another person's notifications", "查看他人的通知")
        return rooms.user(request.id)
    raise NotFound("room kind", "房间类型", request.room)


@socketio.on_error_default
def on_error(exc: BaseException) -> None:
    emit("error", public_message(exc))
