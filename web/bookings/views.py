"""Booking pages and the secret-address iCalendar feeds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response

from matchmaker import ical, lifecycles
from matchmaker.operations import bookings as ops
from models import Booking, BookingStatus
from web.db import get_session

bp = Blueprint("bookings", __name__)

ICAL_STATUS = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.HELD: "TENTATIVE",
    BookingStatus.CANCELLED: "CANCELLED",
}


def _event(booking: Booking, owner_kind: str) -> ical.CalendarEvent:
    resource, team = booking.resource, booking.team
    status_en, status_zh = lifecycles.BOOKING_STATUS_NAMES[booking.status.value]
    who = f"{team.name_zh} / {team.name_en}"
    what = f"{resource.name_zh} / {resource.name_en}"
    summary = f"{what} — {who}" if owner_kind == "resource" else what
    unit = f" #{booking.unit}" if booking.unit > 1 else ""
    return ical.CalendarEvent(
        uid=f"booking-{booking.id}@matchmaker",
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        summary=summary + unit,
        description=f"{status_zh} / {status_en}\n{who}\n{booking.note}".strip(),
        location=f"{resource.space.name_zh} / {resource.space.name_en}",
        status=ICAL_STATUS.get(booking.status, "CONFIRMED"),
        updated_at=booking.updated_at,
        sequence=int(booking.updated_at.timestamp()) % 2**31 if booking.updated_at else 0,
    )


@bp.get("/calendars/<token>.ics")
def feed(token: str) -> Any:
    """Anyone holding the secret address may read it: calendar apps cannot log in."""
    owner_kind, title, bookings = ops.feed_bookings(get_session(), token)
    now = datetime.now(UTC)
    body = ical.render(title, [_event(b, owner_kind) for b in bookings], now=now)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="bookings.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
