"""What a booking looks like to its viewers, and the event each change records for after the commit."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from matchmaker import events
from models import (
    Booking,
    TeamMember,
)

_MEMBER_IDS = (
    select(TeamMember.user_id).where(TeamMember.team_id == bindparam("team_id")).order_by(TeamMember.user_id)
)


def payloads(booking: Booking) -> tuple[dict[str, Any], dict[str, Any]]:
    public = {
        "id": booking.id,
        "resource_id": booking.resource_id,
        "unit": booking.unit,
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "blocked_until": booking.blocked_until.isoformat(),
        "status": booking.status.value,
        "active": booking.is_active,
    }
    return public, {**public, **booking_private(booking)}


def booking_private(booking: Booking) -> dict[str, Any]:
    return {
        "team": {"id": booking.team_id, "name_zh": booking.team.name_zh, "name_en": booking.team.name_en},
        "resource": {
            "id": booking.resource_id,
            "name_zh": booking.resource.name_zh,
            "name_en": booking.resource.name_en,
            "timezone": booking.resource.space.timezone,
        },
        "booked_by": {"id": booking.booked_by_id, "display_name": booking.booked_by.display_name},
        "series_id": booking.series_id,
        "note": booking.note,
        "amount_cny": str(booking.amount_cny),
        "free_minutes": booking.free_minutes,
        "hold_expires_at": booking.hold_expires_at.isoformat() if booking.hold_expires_at else None,
        "flagged_reason": booking.flagged_reason,
        "checked_in_at": booking.checked_in_at.isoformat() if booking.checked_in_at else None,
        "checked_out_at": booking.checked_out_at.isoformat() if booking.checked_out_at else None,
        "cancelled_at": booking.cancelled_at.isoformat() if booking.cancelled_at else None,
        "cancel_reason": booking.cancel_reason,
    }


def booking_out(booking: Booking) -> dict[str, Any]:
    return payloads(booking)[1]


_KNOWN_MEMBERS = "matchmaker.team_members"


def remember_members(session: Session, team_id: int, listed: str | None) -> None:
    """Keep the member ids read with a team's lock, for this transaction's events."""
    ids = tuple(sorted(int(part) for part in (listed or "").split(",") if part))
    known = session.info.setdefault(_KNOWN_MEMBERS, {})
    known[team_id] = (session.get_transaction(), ids)


def member_ids(session: Session, team_id: int) -> tuple[int, ...]:
    known = session.info.get(_KNOWN_MEMBERS, {}).get(team_id)
    if known is not None and known[0] is session.get_transaction():
        return cast(tuple[int, ...], known[1])
    return tuple(session.scalars(_MEMBER_IDS, {"team_id": team_id}))


def record_change(session: Session, booking: Booking, action: str) -> None:
    public, private = payloads(booking)
    events.record(
        session,
        events.BookingChanged(
            action=action,
            space_id=booking.resource.space_id,
            resource_id=booking.resource_id,
            organization_id=booking.resource.organization_id,
            team_id=booking.team_id,
            public=public,
            private=private,
            member_user_ids=member_ids(session, booking.team_id),
        ),
    )
