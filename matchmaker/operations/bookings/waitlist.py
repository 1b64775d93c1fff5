"""Waiting for a taken slot, and offering freed time to the waiting teams in turn."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from matchmaker.errors import Conflict, NotFound
from matchmaker.lifecycles import check_waitlist_move
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


def _claim(session: Session, entry: WaitlistEntry, was: WaitlistStatus, becomes: WaitlistStatus) -> bool:
    """Move the entry from ``was`` to ``becomes`` only if it is still ``was`` in the database: of a
    team leaving and freed time being offered to it at the same moment, exactly one happens."""
    check_waitlist_move(was, becomes)
    moved = session.execute(  # type: ignore[attr-defined]  # an UPDATE's result has a rowcount
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == was)
        .values(status=becomes)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved:
        set_committed_value(entry, "status", becomes)
    return bool(moved)


def _reread(session: Session, entry: WaitlistEntry) -> WaitlistStatus:
    session.refresh(entry)
    return entry.status


def leave_waitlist(session: Session, principal: Principal, entry_id: int) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.team_id not in principal.teams:
        raise NotFound("waitlist entry", "候补记录", entry_id)
    if entry.status is WaitlistStatus.CANCELLED:
        return entry  # leaving twice is leaving once
    if _claim(session, entry, WaitlistStatus.WAITING, WaitlistStatus.CANCELLED):
        return entry
    now_status = _reread(session, entry)  # it changed meanwhile: say how
    if now_status is WaitlistStatus.CANCELLED:
        return entry
    if now_status is WaitlistStatus.OFFERED:
        raise Conflict(
            "The slot you waited for was just offered to your team: accept the offer or let it lapse.",
            "您候补的时段刚刚已提供给您的团队：请接受，或任其过期。",
            details={"status": now_status.value, "offer_booking_id": entry.offer_booking_id},
        )
    check_waitlist_move(now_status, WaitlistStatus.CANCELLED)
    return entry  # pragma: no cover  (every other state refuses above)


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
            _claim(session, entry, WaitlistStatus.WAITING, WaitlistStatus.LAPSED)
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
        # The entry is claimed first (a team leaving at this moment then either wins, and is not
        # offered anything, or waits and is told of the offer); the claim and the held booking stand
        # or fall together.
        attempt = session.begin_nested()
        if not _claim(session, entry, WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
            attempt.rollback()
            continue
        booking = insert_booking(session, values, units, guarded=True)
        if booking is None:
            attempt.rollback()
            continue
        entry.offer_booking_id = booking.id
        session.flush()
        attempt.commit()
        record_change(session, booking, "offered")
