"""Booking: quoting, a single booking on its fast path, and a weekly or daily series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from matchmaker import slots
from matchmaker.errors import InvalidInput
from matchmaker.operations.booking_rules import (
    bookable_with_rules,
    check_certified,
    occupancy,
    rules_of,
)
from matchmaker.operations.bookings.changes import sweep
from matchmaker.operations.bookings.checks import check_space, checked, team_for_booking
from matchmaker.operations.bookings.conflicts import (
    GaveWay,
    SlotTaken,
    insert_booking,
    slot_taken,
    taken_meanwhile,
)
from matchmaker.operations.bookings.ledger import bill, price_for
from matchmaker.operations.bookings.output import record_change
from matchmaker.operations.catalogue import ref as resource_ref
from matchmaker.permissions import (
    Principal,
    can_run_resource,
)
from models import (
    Availability,
    Booking,
    BookingSeries,
    BookingStatus,
    Resource,
    Team,
)
from models.base import utcnow


@dataclass(frozen=True)
class BookingRequest:
    team_id: int
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    unit: int | None = None
    note: str = ""


@dataclass(frozen=True)
class SeriesRequest:
    team_id: int
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    frequency: str  # "weekly" | "daily"
    count: int
    skip_conflicts: bool = False
    note: str = ""


def quote_booking(
    session: Session, principal: Principal, request: BookingRequest, now: datetime | None = None
) -> dict[str, Any]:
    """What a booking would cost and whether it can be made, without making it."""
    c = checked(session, principal, request, now or utcnow(), lock=False, certified=False)
    quote, month = price_for(session, c.team, c.resource, request.starts_at, request.ends_at)
    return {
        **quote.as_dict(),
        "month": month,
        "available": bool(c.occupancy.free_units(request.starts_at, request.ends_at)),
        "requires_approval": c.availability.requires_approval,
        "requires_certification": c.availability.requires_certification,
    }


def _booking_values(
    principal: Principal,
    team: Team,
    resource: Resource,
    availability: Availability,
    start: datetime,
    end: datetime,
    now: datetime,
    note: str,
) -> dict[str, Any]:
    """The columns of a new booking: confirmed, or pending (held until the host answers) where the
    resource asks for approval and the booker does not run it."""
    values: dict[str, Any] = {
        "resource_id": resource.id,
        "team_id": team.id,
        "booked_by_id": principal.user_id,
        "starts_at": start,
        "ends_at": end,
        "blocked_until": end + timedelta(minutes=availability.buffer_minutes),
        "note": note,
        "status": BookingStatus.CONFIRMED,
        "hold_expires_at": None,
    }
    if availability.requires_approval and not can_run_resource(principal, resource_ref(resource)):
        values["status"] = BookingStatus.PENDING
        values["hold_expires_at"] = min(now + timedelta(hours=availability.approval_hold_hours), start)
    return values


def create_booking(
    session: Session, principal: Principal, request: BookingRequest, now: datetime | None = None
) -> Booking:
    now = now or utcnow()
    c = checked(session, principal, request, now, lock=True, certified=True)
    resource, team, availability, rules, occ = c.resource, c.team, c.availability, c.rules, c.occupancy
    if request.unit is not None and not 1 <= request.unit <= rules.units:
        raise InvalidInput(
            f"This resource has units 1 to {rules.units}.",
            f"该资源的单元编号为 1 至 {rules.units}。",
            details={"fields": {"unit": "out_of_range"}},
        )

    def free_units(occ: slots.Occupancy) -> list[int]:
        found = occ.free_units(request.starts_at, request.ends_at)
        return [u for u in found if request.unit is None or u == request.unit]

    free = free_units(occ)
    if not free and sweep(session, now, resource_id=resource.id):
        # What looked taken may be a hold or a no-show that has just lapsed: look again.
        free = free_units(occupancy(session, resource, rules, request.starts_at, request.ends_at))
    values = _booking_values(
        principal, team, resource, availability, request.starts_at, request.ends_at, now, request.note
    )
    priced = price_for(session, team, resource, request.starts_at, request.ends_at)  # refuses over the cap
    values["amount_cny"], values["free_minutes"] = priced[0].amount_cny, priced[0].free_minutes
    booking = None
    if free:
        try:
            booking = insert_booking(session, values, free)
        except GaveWay as exc:
            # PostgreSQL ended the transaction: nothing more can be read in it, so the answer cannot
            # list alternatives. The caller rolls back (the web layer's dispatcher does, then answers
            # 409 slot_taken with "retry"); the calendar read afresh then shows what is free.
            raise taken_meanwhile() from exc
    if booking is None:
        raise slot_taken(session, principal, team, resource, rules, request.starts_at, request.ends_at, now)
    bill(session, booking, team, priced)
    record_change(session, booking, "created")
    return booking


def create_series(
    session: Session, principal: Principal, request: SeriesRequest, now: datetime | None = None
) -> tuple[BookingSeries, list[Booking]]:
    """Book every occurrence, or none: on a clash the answer lists each clashing date. With
    ``skip_conflicts`` the clashing dates are left out (and listed) and the rest are booked."""
    now = now or utcnow()
    resource, availability = bookable_with_rules(session, principal, request.resource_id)
    team = team_for_booking(session, principal, request.team_id, lock=True)
    check_space(team, resource, availability)
    rules = rules_of(resource, availability)
    sweep(session, now, resource_id=resource.id)
    wanted = slots.repeat(
        request.starts_at, request.ends_at, rules.timezone, request.frequency, request.count
    )
    check_certified(session, principal, resource, availability, now, until=wanted[-1][1])
    occ = occupancy(session, resource, rules, wanted[0][0], wanted[-1][1])
    clashes: list[dict[str, Any]] = []
    plan: list[tuple[datetime, datetime, list[int]]] = []
    for start, end in wanted:
        try:
            slots.check_request(rules, start, end, now, closures=occ.closures)
        except slots.BookingRefused as exc:
            clashes.append(
                {
                    "starts_at": start.isoformat(),
                    "ends_at": end.isoformat(),
                    "code": exc.code,
                    "message_en": exc.message_en,
                    "message_zh": exc.message_zh,
                }
            )
            continue
        units = occ.free_units(start, end)
        if not units:
            clashes.append(
                {
                    "starts_at": start.isoformat(),
                    "ends_at": end.isoformat(),
                    "code": "slot_taken",
                    "message_en": "already taken",
                    "message_zh": "已被预约",
                }
            )
            continue
        plan.append((start, end, units))
    if clashes and not request.skip_conflicts:
        raise _series_clash(clashes, len(wanted))
    if not plan:
        raise _series_clash(clashes, len(wanted))
    series = BookingSeries(
        resource_id=resource.id,
        team_id=team.id,
        created_by_id=principal.user_id,
        frequency=request.frequency,
        count=request.count,
        skipped=clashes,
    )
    session.add(series)
    session.flush()
    made: list[Booking] = []
    for start, end, units in plan:
        values = _booking_values(principal, team, resource, availability, start, end, now, request.note)
        booking = insert_booking(session, {**values, "series_id": series.id}, units, guarded=True)
        if booking is not None:
            made.append(booking)
        else:
            clashes.append(
                {
                    "starts_at": start.isoformat(),
                    "ends_at": end.isoformat(),
                    "code": "slot_taken",
                    "message_en": "taken a moment ago",
                    "message_zh": "刚刚被他人预约",
                }
            )
    if (clashes and not request.skip_conflicts) or not made:
        raise _series_clash(clashes, len(wanted))
    series.skipped = clashes
    for booking in made:
        bill(session, booking, team)
    session.flush()
    for booking in made:
        record_change(session, booking, "created")
    return series, made


def _series_clash(clashes: list[dict[str, Any]], total: int) -> SlotTaken:
    return SlotTaken(
        f"{len(clashes)} of {total} dates cannot be booked; nothing was booked. "
        "Ask to skip the clashing dates, or pick another time.",
        f"{total} 个日期中有 {len(clashes)} 个无法预约，全部未预约。可选择跳过冲突日期或换一个时间。",
        details={"occurrences": clashes},
    )
