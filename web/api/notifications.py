"""The notification centre in the JSON API: list with a cursor, mark read (one or all), preferences."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchmaker.notifications import KINDS
from matchmaker.operations import notifications as centre
from web.api import route
from web.api.schemas import Body, Id
from web.db import get_session
from web.security import require_user

TAG = "notifications"


class NotificationListParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cursor: Annotated[str, StringConstraints(max_length=40)] | None = None
    limit: Annotated[int, Field(ge=1, le=centre.PAGE_MAX)] = 20
    unread: bool = False


class PreferencesIn(Body):
    """``{"in_app": {"booking_approved": false, ...}}``: the kinds to switch on or off."""

    in_app: dict[Annotated[str, StringConstraints(max_length=40)], bool] = Field(max_length=64)


@route(
    "/notifications",
    "GET",
    "My notifications, newest first; pass next_cursor back as cursor for the next page",
    tag=TAG,
    query=NotificationListParams,
    responses={200: "A page of notifications", 422: "A cursor that was not handed out"},
)
def list_notifications(query: NotificationListParams) -> Any:
    user = require_user()
    session = get_session()
    rows, next_cursor = centre.list_for(
        session, user.id, cursor=query.cursor, limit=query.limit, unread_only=query.unread
    )
    return {
        "items": [centre.out(n) for n in rows],
        "next_cursor": next_cursor,
        "unread_count": centre.unread_count(session, user.id),
    }


@route(
    "/notifications/<int:notification_id>/read",
    "POST",
    "Mark one of my notifications read",
    tag=TAG,
    responses={200: "Marked", 404: "No such notification of mine"},
)
def mark_read(notification_id: Id) -> Any:
    user = require_user()
    note = centre.mark_read(get_session(), user.id, notification_id)
    return {**centre.out(note), "unread_count": centre.unread_count(get_session(), user.id)}


@route("/notifications/read-all", "POST", "Mark all my notifications read", tag=TAG)
def mark_all_read() -> Any:
    user = require_user()
    marked = centre.mark_all_read(get_session(), user.id)
    return {"marked": marked, "unread_count": 0}


def _preferences_out(user_id: int) -> dict[str, Any]:
    chosen = centre.preferences(get_session(), user_id)
    return {
        "preferences": [
            {"kind": kind, "label_en": en, "label_zh": zh, **chosen[kind]} for kind, (en, zh) in KINDS.items()
        ]
    }


@route("/notifications/preferences", "GET", "Which kinds of notification I receive", tag=TAG)
def get_preferences() -> Any:
    return _preferences_out(require_user().id)


@route(
    "/notifications/preferences",
    "PUT",
    "Switch kinds of notification on or off",
    tag=TAG,
    body=PreferencesIn,
    responses={200: "Saved", 422: "An unknown kind"},
)
def set_preferences(body: PreferencesIn) -> Any:
    user = require_user()
    centre.set_preferences(get_session(), user.id, body.in_app)
    return _preferences_out(user.id)
