"""Waiting for a taken slot, and offering freed time to the waiting teams in turn."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.errors import Conflict, NotFound
from matchmaker.operations.booking_rules import (
    availability_of,
    occupancy,
    rules_of,
)
from matchmaker.operations.bookings.checks import checked
from matchmaker.operations.bookings.conflicts import insert_booking
from matchmaker.operations.bookings.output import record_change
from matchmaker.permissions import (
    Principal,
)
from models import (
    BookingStatus,
    Resource,
    Team,
    WaitlistEntry,
    WaitlistStatus,
)
from models.base import utcnow

if TYPE_CHECKING:
    from matchmaker.operations.bookings.requests import BookingRequest


OFFER_MINUTES = 30  # how long a waitlist offer holds the slot


def join_waitlist(
    session: Session, principal: Principal, request: BookingRequest, now: datetime | None = None
) -> WaitlistEntry:
    c = checked(session, principal, request, now or utcnow(), lock=False, certified=True)
    resource, team = c.resource, c.team
    if c.occupancy.free_units(request.starts_at, request.ends_at):
        raise Conflict(
            "That time is free: book it instead of waiting.",
            "该时段空闲，可直接预约，无需候补。",
            details={"code": "slot_free"},
        )
    existing = session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.team_id == team.id,
            WaitlistEntry.resource_id == resource.id,
            WaitlistEntry.starts_at == request.starts_at,
            WaitlistEntry.ends_at == request.ends_at,
            WaitlistEntry.status.in_((WaitlistStatus.WAITING, WaitlistStatus.OFFERED)),
        )
    )
    if existing is not None:
        return existing
    entry = WaitlistEntry(
        resource_id=resource.id,
        team_id=team.id,
        user_id=principal.user_id,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        status=WaitlistStatus.WAITING,
    )
    session.add(entry)
    session.flush()
    return entry


def leave_waitlist(session: Session, principal: Principal, entry_id: int) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.team_id not in principal.teams:
        raise NotFound("waitlist entry", "候补记录", entry_id)
    if entry.status is WaitlistStatus.WAITING:
        entry.status = WaitlistStatus.CANCELLED
    session.flush()
    return entry


def waitlist_out(entry: WaitlistEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "resource_id": entry.resource_id,
        "team_id": entry.team_id,
        "starts_at": entry.starts_at.isoformat(),
        "ends_at": entry.ends_at.isoformat(),
        "status": entry.status.value,
        "offer_booking_id": entry.offer_booking_id,
    }


def offer_freed_time(
    session: Session, resource: Resource, start: datetime, end: datetime, now: datetime
) -> None:
    """Offer time that just freed to the teams waiting for it, first come first served: each gets a
    held booking for ``OFFER_MINUTES``; when it lapses the next team is offered."""
    waiting = session.scalars(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.resource_id == resource.id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.starts_at < end,
            WaitlistEntry.ends_at > start,
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    ).all()
    if not waiting:
        return
    availability = availability_of(session, resource)
    rules = rules_of(resource, availability)
    for entry in waiting:
        if entry.starts_at <= now:
            entry.status = WaitlistStatus.LAPSED
            continue
        occ = occupancy(session, resource, rules, entry.starts_at, entry.ends_at)
        units = occ.free_units(entry.starts_at, entry.ends_at)
        if not units:
            continue
        team = session.get(Team, entry.team_id)
        if team is None:  # pragma: no cover  (entries reference teams by foreign key)
            continue
        values = {
            "resource_id": resource.id,
            "team_id": team.id,
            "booked_by_id": entry.user_id,
            "starts_at": entry.starts_at,
            "ends_at": entry.ends_at,
            "blocked_until": entry.ends_at + rules.buffer,
            "status": BookingStatus.HELD,
            "hold_expires_at": min(now + timedelta(minutes=OFFER_MINUTES), entry.starts_at),
        }
        booking = insert_booking(session, values, units, guarded=True)
        if booking is None:
            continue
        entry.status = WaitlistStatus.OFFERED
        entry.offer_booking_id = booking.id
        session.flush()
        record_change(session, booking, "offered")
