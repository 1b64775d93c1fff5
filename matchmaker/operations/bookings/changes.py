"""Lifecycle changes of a booking (approve or reject, cancel, move, accept an offer, check in and out,
release what lapsed, blackouts): each locks the row, writes conditionally on the status it was read
in, and keeps the ledger in step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from matchmaker import booking_policy, events, lifecycles, slots
from matchmaker.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from matchmaker.operations import audit
from matchmaker.operations.booking_rules import (
    active_bookings,
    availability_of,
    blackout_out,
    check_certified,
    not_bookable,
    occupancy,
    record_calendar,
    rules_of,
    runnable_resource,
)
from matchmaker.operations.bookings.checks import team_for_booking
from matchmaker.operations.bookings.conflicts import is_overlap_refusal, slot_taken
from matchmaker.operations.bookings.ledger import bill, check_ledger, refund
from matchmaker.operations.bookings.output import member_ids, record_change
from matchmaker.operations.bookings.waitlist import offer_freed_time
from matchmaker.operations.catalogue import ref as resource_ref
from matchmaker.operations.teams import ref as team_ref
from matchmaker.permissions import (
    Principal,
    can_book_for,
    can_handle_booking,
    can_run_resource,
)
from models import (
    Blackout,
    BlackoutEffect,
    Booking,
    BookingStatus,
    Certification,
    ChargeKind,
    Interaction,
    InteractionKind,
    WaitlistEntry,
    WaitlistStatus,
)
from models.base import utcnow

CHECKIN_EARLY = timedelta(minutes=15)


def get_booking(session: Session, principal: Principal, booking_id: int, *, lock: bool = False) -> Booking:
    """A booking the principal may handle. Others learn only that it is not theirs. With ``lock`` it is
    read afresh and its row locked until the transaction ends (on PostgreSQL; SQLite writers already
    hold the database's write lock), so a change decides on the state it will change."""
    booking = (
        session.get(Booking, booking_id, with_for_update={"key_share": True}, populate_existing=True)
        if lock
        else session.get(Booking, booking_id)
    )
    if booking is None:
        raise NotFound("booking", "预约", booking_id)
    if not can_handle_booking(principal, team_ref(booking.team), resource_ref(booking.resource)):
        err = Forbidden("change another team's booking", "操作其他团队的预约")
        err.code = "not_your_booking"
        raise err
    return booking


def _guarded_update(session: Session, booking: Booking, **values: Any) -> bool:
    """Write ``values`` to the booking only if it is still in the status it was read in, with one
    ``UPDATE ... WHERE id = :id AND status = :seen RETURNING``; whether it was."""
    won = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == booking.status)
        .values(**values)
        .returning(Booking.id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    return won is not None


def _lost(session: Session, booking: Booking, seen: BookingStatus, target: str) -> InvalidTransition:
    current = session.scalar(select(Booking.status).where(Booking.id == booking.id)) or seen
    return lifecycles.booking_changed_meanwhile(seen.value, current.value, target)


def _change(session: Session, booking: Booking, target: BookingStatus, **values: Any) -> None:
    """Move the booking from the status it was read in to ``target`` (a move the lifecycle table
    allows), conditionally: of two conflicting changes exactly one wins, the other is refused."""
    seen = booking.status
    lifecycles.check_booking_move(seen.value, target.value)
    if not _guarded_update(session, booking, status=target, **values):
        raise _lost(session, booking, seen, target.value)


def _release(
    session: Session,
    booking: Booking,
    status: BookingStatus,
    now: datetime,
    *,
    reason: str = "",
    fee_percent: int = 0,
    **values: Any,
) -> None:
    """Move an active booking to a final status, refund it (less the late or no-show fee when
    ``fee_percent``), and offer the freed time to waiting teams."""
    was_held = booking.status is BookingStatus.HELD
    if status is BookingStatus.CANCELLED:
        values.update(cancelled_at=now, cancel_reason=reason or None)
    _change(session, booking, status, **values)
    fee_kind = ChargeKind.NO_SHOW_FEE if status is BookingStatus.NO_SHOW else ChargeKind.LATE_CANCEL_FEE
    refund(session, booking, fee_percent=fee_percent, note=reason[:200], fee_kind=fee_kind)
    if was_held:
        for entry in session.scalars(
            select(WaitlistEntry).where(WaitlistEntry.offer_booking_id == booking.id)
        ):
            entry.status = WaitlistStatus.LAPSED
    check_ledger(session, booking)
    session.flush()
    record_change(session, booking, status.value)
    offer_freed_time(session, booking.resource, booking.starts_at, booking.blocked_until, now)


def cancel_booking(
    session: Session, principal: Principal, booking_id: int, reason: str = "", now: datetime | None = None
) -> Booking:
    """Free until the resource's deadline; after it a late fee. A host cancelling pays no fee."""
    now = now or utcnow()
    booking = get_booking(session, principal, booking_id, lock=True)
    lifecycles.check_booking_move(booking.status.value, lifecycles.CANCELLED)
    availability = availability_of(session, booking.resource)
    late = booking.starts_at - now < timedelta(hours=availability.free_cancel_hours)
    by_host = can_run_resource(principal, resource_ref(booking.resource)) and not can_book_for(
        principal, team_ref(booking.team)
    )
    fee = (
        availability.late_cancel_fee_percent
        if late and not by_host and booking.status is BookingStatus.CONFIRMED
        else 0
    )
    if (
        booking.starts_at <= now
        and booking.status is not BookingStatus.HELD
        and booking.status is not BookingStatus.PENDING
    ):
        raise Conflict(
            "A booking that has started can no longer be cancelled; check out instead.",
            "已开始的预约不能取消，请办理签退。",
            details={"status": booking.status.value},
        )
    _release(session, booking, BookingStatus.CANCELLED, now, reason=reason, fee_percent=fee)
    return booking


def move_booking(
    session: Session,
    principal: Principal,
    booking_id: int,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime | None = None,
) -> Booking:
    """Move one booking (say, one occurrence of a series) to another time; the rest stay as they are.
    If the new time is taken the booking stays where it was."""
    now = now or utcnow()
    booking = get_booking(session, principal, booking_id, lock=True)
    lifecycles.check_booking_reschedule(booking.status.value)
    if booking.starts_at <= now:
        raise Conflict(
            "A booking that has started cannot be moved.",
            "已开始的预约不能改期。",
            details={"status": booking.status.value},
        )
    resource = booking.resource
    availability = availability_of(session, resource)
    rules = rules_of(resource, availability)
    team = (
        team_for_booking(session, principal, booking.team_id, lock=True)
        if can_book_for(principal, team_ref(booking.team))
        else booking.team
    )
    occ = occupancy(session, resource, rules, starts_at, ends_at)
    occ = slots.Occupancy(rules, [b for b in occ.busy if b.booking_id != booking.id], occ.closures)
    slots.check_request(rules, starts_at, ends_at, now, closures=occ.closures)
    free = occ.free_units(starts_at, ends_at)
    old = (booking.starts_at, booking.blocked_until)
    seen = booking.status
    moved = False
    if free:
        new = {
            "starts_at": starts_at,
            "ends_at": ends_at,
            "blocked_until": ends_at + rules.buffer,
            "unit": booking.unit if booking.unit in free else free[0],
        }
        try:
            # Only the UPDATE runs in the savepoint: when the database refuses it (a concurrent booking
            # took the time meanwhile), the rest of the unit of work goes on and the booking stays put.
            with session.begin_nested():
                moved = _guarded_update(session, booking, **new)
        except (IntegrityError, DBAPIError) as exc:
            if not is_overlap_refusal(exc):
                raise
        else:
            if not moved:
                raise _lost(session, booking, seen, "moved")
    if not moved:
        raise slot_taken(session, principal, team, resource, rules, starts_at, ends_at, now)
    refund(session, booking, note="moved")
    bill(session, booking, booking.team)
    check_ledger(session, booking)
    session.flush()
    record_change(session, booking, "moved")
    offer_freed_time(session, resource, old[0], old[1], now)
    return booking


def decide_booking(
    session: Session,
    principal: Principal,
    booking_id: int,
    approve: bool,
    note: str = "",
    now: datetime | None = None,
) -> Booking:
    now = now or utcnow()
    booking = get_booking(session, principal, booking_id, lock=True)
    if not can_run_resource(principal, resource_ref(booking.resource)):
        raise Forbidden("approve bookings of this resource", "审批该资源的预约")
    before = {"status": booking.status}
    if approve:
        _change(
            session,
            booking,
            BookingStatus.CONFIRMED,
            hold_expires_at=None,
            decided_by_id=principal.user_id,
        )
        bill(session, booking, booking.team)  # a request is charged once the host approves it
        check_ledger(session, booking)
        session.flush()
        record_change(session, booking, "approved")
    else:
        _release(session, booking, BookingStatus.REJECTED, now, reason=note, decided_by_id=principal.user_id)
    audit.record(
        session,
        principal,
        space_id=booking.resource.space_id,
        action="booking_approved" if approve else "booking_rejected",
        subject=f"booking:{booking.id}",
        before=before,
        after={"status": booking.status, "note": note},
    )
    return booking


def accept_offer(
    session: Session, principal: Principal, booking_id: int, now: datetime | None = None
) -> Booking:
    """A waiting team takes the slot it was offered (subject to approval where the resource needs it)."""
    now = now or utcnow()
    booking = get_booking(session, principal, booking_id, lock=True)
    if booking.status is not BookingStatus.HELD:
        lifecycles.check_booking_move(booking.status.value, lifecycles.B_PENDING)
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        _release(session, booking, BookingStatus.EXPIRED, now)
        raise Conflict("The offer has expired.", "该候补邀请已过期。", details={"booking_id": booking.id})
    resource = booking.resource
    availability = availability_of(session, resource)
    check_certified(session, principal, resource, availability, now, until=booking.ends_at)
    team = team_for_booking(session, principal, booking.team_id, lock=True)
    booked_by = principal.user_id or booking.booked_by_id
    if availability.requires_approval and not can_run_resource(principal, resource_ref(resource)):
        hold = min(now + timedelta(hours=availability.approval_hold_hours), booking.starts_at)
        _change(session, booking, BookingStatus.PENDING, hold_expires_at=hold, booked_by_id=booked_by)
    else:
        _change(session, booking, BookingStatus.CONFIRMED, hold_expires_at=None, booked_by_id=booked_by)
    bill(session, booking, team)
    for entry in session.scalars(select(WaitlistEntry).where(WaitlistEntry.offer_booking_id == booking.id)):
        entry.status = WaitlistStatus.ACCEPTED
    check_ledger(session, booking)
    session.flush()
    record_change(session, booking, "accepted")
    return booking


def check_in(session: Session, principal: Principal, booking_id: int, now: datetime | None = None) -> Booking:
    now = now or utcnow()
    booking = get_booking(session, principal, booking_id, lock=True)
    lifecycles.check_booking_move(booking.status.value, lifecycles.CHECKED_IN)
    availability = availability_of(session, booking.resource)
    grace = timedelta(minutes=availability.checkin_grace_minutes)
    if not booking.starts_at - CHECKIN_EARLY <= now <= booking.starts_at + grace:
        raise Conflict(
            "Check-in opens 15 minutes before the start and closes at the end of the grace period.",
            "签到时间为开始前 15 分钟至宽限期结束。",
            details={"starts_at": booking.starts_at.isoformat(), "grace_minutes": int(grace / slots.MINUTE)},
        )
    # The certificate that allowed the booking must still hold for the use itself.
    check_certified(session, principal, booking.resource, availability, now, until=booking.ends_at)
    _change(session, booking, BookingStatus.CHECKED_IN, checked_in_at=now)
    cert = session.scalar(
        select(Certification).where(
            Certification.user_id == principal.user_id, Certification.resource_id == booking.resource_id
        )
    )
    if cert is not None:
        cert.last_used_at = now
    session.flush()
    record_change(session, booking, "checked_in")
    return booking


def check_out(
    session: Session, principal: Principal, booking_id: int, now: datetime | None = None
) -> Booking:
    """Records actual use, which the matchmaker learns from; leaving early frees the rest of the slot."""
    now = now or utcnow()
    booking = get_booking(session, principal, booking_id, lock=True)
    lifecycles.check_booking_move(booking.status.value, lifecycles.COMPLETED)
    used_until = min(max(now, booking.starts_at), booking.ends_at)
    freed = booking.blocked_until
    ends_at, blocked_until = booking.ends_at, booking.blocked_until
    if used_until < booking.ends_at:
        # Leaving early gives the rest back, from the next slot boundary on.
        rules = rules_of(booking.resource, availability_of(session, booking.resource))
        ends_at = max(
            slots.align_up(rules, used_until), booking.starts_at + timedelta(minutes=rules.slot_minutes)
        )
        ends_at = min(ends_at, freed - rules.buffer)
        blocked_until = ends_at + rules.buffer
    _change(
        session,
        booking,
        BookingStatus.COMPLETED,
        checked_out_at=now,
        ends_at=ends_at,
        blocked_until=blocked_until,
    )
    hours = booking_policy.used_hours(booking.starts_at, booking.ends_at, booking.checked_in_at, used_until)
    session.add(
        Interaction(
            space_id=booking.resource.space_id,
            team_id=booking.team_id,
            resource_id=booking.resource_id,
            kind=InteractionKind.BOOKING,
            occurred_at=now,
            quantity=hours,
            outcome="completed",
            detail={"booking_id": booking.id},
        )
    )
    session.flush()
    record_change(session, booking, "completed")
    events.record(
        session, events.RecommendationsChanged(booking.team_id, member_ids(session, booking.team_id))
    )
    if booking.blocked_until < freed:
        offer_freed_time(session, booking.resource, booking.blocked_until, freed, now)
    return booking


def sweep(session: Session, now: datetime | None = None, *, resource_id: int | None = None) -> list[Booking]:
    """Release what lapsed: holds and approvals nobody acted on, and bookings not checked in within
    the grace period (no-shows). Returns the released bookings."""
    now = now or utcnow()
    query = (
        select(Booking)
        .where(
            or_(
                and_(
                    Booking.status.in_((BookingStatus.HELD, BookingStatus.PENDING)),
                    Booking.hold_expires_at <= now,
                ),
                and_(Booking.status == BookingStatus.CONFIRMED, Booking.starts_at <= now),
            )
        )
        .order_by(Booking.starts_at, Booking.id)
        .execution_options(populate_existing=True)  # decide on the rows as they are now
    )
    if resource_id is not None:
        query = query.where(Booking.resource_id == resource_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two sweepers never release one booking twice
    released = []
    for booking in session.scalars(query).all():
        try:
            if booking.status is BookingStatus.CONFIRMED:
                availability = availability_of(session, booking.resource)
                resource = booking.resource
                if not booking_policy.released_as_no_show(
                    resource.kind.value, resource.category, booking.starts_at, booking.ends_at
                ):
                    # A desk or a long booking stays the team's; once over, it counts as used.
                    if booking.ends_at <= now:
                        _change(session, booking, BookingStatus.COMPLETED)
                        check_ledger(session, booking)
                        session.flush()
                        record_change(session, booking, "completed")
                        released.append(booking)
                    continue
                if booking.starts_at + timedelta(minutes=availability.checkin_grace_minutes) > now:
                    continue
                _release(
                    session,
                    booking,
                    BookingStatus.NO_SHOW,
                    now,
                    reason="not checked in",
                    fee_percent=availability.no_show_fee_percent,
                )
            else:
                _release(session, booking, BookingStatus.EXPIRED, now)
        except InvalidTransition:
            continue  # changed by someone else meanwhile (refused before anything was written)
        released.append(booking)
    return released


def add_blackout(
    session: Session,
    principal: Principal,
    resource_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    effect: str,
    unit: int | None = None,
    now: datetime | None = None,
) -> tuple[Blackout, list[Booking]]:
    """Close the resource (or one unit) for a while. Active bookings it now overlaps are cancelled and
    refunded, or flagged for the host to sort out, as asked. Returns the bookings it touched."""
    now = now or utcnow()
    resource = runnable_resource(session, principal, resource_id, "close this resource")
    if not resource.accepts_bookings:
        raise not_bookable(resource)
    if ends_at <= starts_at:
        raise slots.BookingRefused(
            "reversed_range" if ends_at < starts_at else "empty_range",
            "A blackout must end after it starts.",
            "停用时段的结束须晚于开始。",
        )
    availability = availability_of(session, resource)
    if unit is not None and not 1 <= unit <= availability.units:
        raise InvalidInput(
            f"This resource has units 1 to {availability.units}.",
            f"该资源的单元编号为 1 至 {availability.units}。",
            details={"fields": {"unit": "out_of_range"}},
        )
    blackout = Blackout(
        resource_id=resource.id,
        unit=unit,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        effect=BlackoutEffect(effect),
        created_by_id=principal.user_id,
    )
    session.add(blackout)
    session.flush()
    audit.record(
        session,
        principal,
        space_id=resource.space_id,
        action="blackout_added",
        subject=f"resource:{resource.id}",
        after={
            "blackout_id": blackout.id,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "unit": unit,
            "reason": reason,
            "effect": effect,
        },
    )
    touched = [
        b
        for b in active_bookings(session, [resource.id], starts_at, ends_at)
        if (unit is None or b.unit == unit)
        and slots.overlaps(b.starts_at, b.ends_at, starts_at, ends_at)
        and b.status is not BookingStatus.COMPLETED
    ]
    for booking in touched:
        if blackout.effect is BlackoutEffect.CANCEL and booking.status is not BookingStatus.CHECKED_IN:
            _change(
                session,
                booking,
                BookingStatus.CANCELLED,
                cancelled_at=now,
                cancel_reason=f"blackout: {reason}"[:500],
            )
            refund(session, booking, note=f"blackout: {reason}"[:200])
            check_ledger(session, booking)
            session.flush()
            record_change(session, booking, "cancelled")
        else:
            booking.flagged_reason = reason[:200]
            session.flush()
            record_change(session, booking, "flagged")
    record_calendar(session, resource, "blackout_added", blackout_out(blackout))
    return blackout, touched


# Bookings that can still be released before they start, when the right to hold them is lost.
_RELEASABLE = (BookingStatus.HELD, BookingStatus.PENDING, BookingStatus.CONFIRMED)


def settle_lost_access(
    session: Session, where: Any, reason: str, now: datetime | None = None
) -> list[Booking]:
    """Handle the future bookings (matching ``where``) whose booker or team has lost the right to them,
    as each resource's host chose: cancelled with a full refund (the freed time is offered to waiting
    teams), or kept and flagged for the host. Returns the bookings it touched."""
    now = now or utcnow()
    query = (
        select(Booking)
        .where(where, Booking.status.in_(_RELEASABLE), Booking.starts_at > now)
        .order_by(Booking.starts_at, Booking.id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    touched = []
    for booking in session.scalars(query).all():
        effect = availability_of(session, booking.resource).lost_access_effect
        if effect is BlackoutEffect.CANCEL:
            _release(session, booking, BookingStatus.CANCELLED, now, reason=reason)
        else:
            booking.flagged_reason = reason[:200]
            session.flush()
            record_change(session, booking, "flagged")
        touched.append(booking)
    return touched
