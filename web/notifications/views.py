"""The notification centre page: what concerns me, newest first; mark read; choose what I receive."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from matchmaker.errors import InvalidInput
from matchmaker.notifications import KINDS
from matchmaker.operations import notifications as centre
from web.db import get_session
from web.security import login_required, require_user

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@login_required
def index() -> Any:
    user = require_user()
    session = get_session()
    cursor = request.args.get("cursor") or None
    if cursor is not None and len(cursor) > 40:
        raise InvalidInput(
            "This cursor is not valid.", "该游标无效。", details={"fields": {"cursor": "invalid"}}
        )
    unread_only = request.args.get("unread") == "1"
    rows, next_cursor = centre.list_for(session, user.id, cursor=cursor, limit=20, unread_only=unread_only)
    return render_template(
        "notifications/index.html",
        notifications=rows,
        next_cursor=next_cursor,
        unread_only=unread_only,
        preferences=centre.preferences(session, user.id),
        kinds=KINDS,
    )


@bp.get("/notifications/<int:notification_id>")
@login_required
def open_one(notification_id: int) -> Any:
    """Follow a notification's link, marking it read on the way."""
    note = centre.mark_read(get_session(), require_user().id, notification_id)
    link = note.link if note.link.startswith("/") and not note.link.startswith("//") else ""
    return redirect(link or url_for("notifications.index"))


@bp.get("/notifications/<int:notification_id>/row")
@login_required
def row(notification_id: int) -> Any:
    """One notification as the list draws it, for the live page to insert."""
    note = centre.get_own(get_session(), require_user().id, notification_id)
    return render_template("notifications/_item.html", n=note)


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int) -> Any:
    centre.mark_read(get_session(), require_user().id, notification_id)
    return redirect(url_for("notifications.index"))


@bp.post("/notifications/read-all")
@login_required
def mark_all_read() -> Any:
    marked = centre.mark_all_read(get_session(), require_user().id)
    flash(_("%(n)d notifications marked read.", n=marked), "success")
    return redirect(url_for("notifications.index"))


@bp.post("/notifications/preferences")
@login_required
def save_preferences() -> Any:
    wanted = {kind: f"in_app.{kind}" in request.form for kind in KINDS}
    centre.set_preferences(get_session(), require_user().id, wanted)
    flash(_("Your notification settings are saved."), "success")
    return redirect(url_for("notifications.index"))
