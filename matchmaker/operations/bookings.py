"""Booking use cases: booking (single, series, from a waitlist), the quote and the ledger lines,
approval, moving and cancelling, check-in and check-out, releasing what lapsed, the waitlist, and
blackouts that cancel or flag what they cover.

The database refuses overlapping active bookings of one unit (migration 0002); these operations check
first so the answer can name the clash and offer alternatives, and turn the database's refusal of a
concurrent loser into the same clean ``SlotTaken``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from matchmaker import events, lifecycles, pricing, slots
from matchmaker.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from matchmaker.operations.booking_rules import (
    BOOKABLE,
    active_bookings,
    availability_of,
    blackout_out,
    bookable_with_rules,
    check_certified,
    not_bookable,
    occupancy,
    record_calendar,
    rules_of,
    runnable_resource,
)
from matchmaker.operations.catalogue import ref as resource_ref
from matchmaker.operations.teams import ref as team_ref
from matchmaker.permissions import (
    Principal,
    can_book_for,
    can_handle_booking,
    can_run_resource,
)
from models import (
    AdmissionStatus,
    Allowance,
    Availability,
    Blackout,
    BlackoutEffect,
    Booking,
    BookingSeries,
    BookingStatus,
    Certification,
    Charge,
    ChargeKind,
    Interaction,
    InteractionKind,
    Resource,
    Team,
    TeamMember,
    WaitlistEntry,
    WaitlistStatus,
)
from models.base import utcnow

ACTIVE_TEAM_STAGES = ("nursery", "incubator", "accelerator")


OFFER_MINUTES = 30  # how long a waitlist offer holds the slot


CHECKIN_EARLY = timedelta(minutes=15)


class SlotTaken(Conflict):
    code = "slot_taken"


class QuotaExceeded(Conflict):
    code = "quota_exceeded"


class LedgerDisagrees(Conflict):
    """The booking's ledger lines do not add up to what its status says: refused, so the caller's
    transaction rolls back and nothing is written."""

    code = "ledger_conflict"


@dataclass(frozen=True)
class Request:
    team_id: int
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    unit: int | None = None
    note: str = ""


# The statements every booking request runs are built once, with bound parameters.
_TEAM = select(Team).where(Team.id == bindparam("team_id"))
# One team's bookings are serialised, so two at once cannot both pass its monthly cap. FOR NO KEY UPDATE:
# rows that merely refer to the team (a waitlist offer's booking, a ledger line) need not wait for it.
_LOCKED_TEAM = _TEAM.with_for_update(key_share=True)
_USED_THIS_MONTH = (
    select(
        func.coalesce(func.sum(Charge.free_minutes), 0).label("free"),
        func.coalesce(func.sum(Charge.minutes), 0).label("booked"),
    )
    .where(
        Charge.team_id == bindparam("team_id"),
        Charge.month == bindparam("month"),
        Charge.resource_kind == bindparam("kind"),
    )
    .subquery()
)
_ALLOWANCE_AND_USAGE = (
    select(
        _USED_THIS_MONTH.c.free,
        _USED_THIS_MONTH.c.booked,
        Allowance.free_hours_per_month,
        Allowance.discount_percent,
        Allowance.max_hours_per_month,
    )
    .select_from(_USED_THIS_MONTH)
    .outerjoin(
        Allowance,
        and_(
            Allowance.space_id == bindparam("space_id"),
            Allowance.resource_kind == bindparam("kind"),
            Allowance.stage == bindparam("stage"),
        ),
    )
)
_INSERT_BOOKING = {
    # The exclusion constraint's refusal becomes "no row returned" instead of an aborted transaction.
    "postgresql": pg_insert(Booking).on_conflict_do_nothing().returning(Booking),
    "sqlite": insert(Booking).returning(Booking),
}
_INSERT_CHARGE = insert(cast(Table, Charge.__table__))
_MEMBER_IDS = (
    select(TeamMember.user_id).where(TeamMember.team_id == bindparam("team_id")).order_by(TeamMember.user_id)
)


def team_for_booking(session: Session, principal: Principal, team_id: int, *, lock: bool) -> Team:
    team = session.scalar(_LOCKED_TEAM if lock else _TEAM, {"team_id": team_id})
    if team is None or not can_book_for(principal, team_ref(team)):
        raise NotFound("team", "团队", team_id)
    if team.admission_status is not AdmissionStatus.ADMITTED or team.stage.value not in ACTIVE_TEAM_STAGES:
        raise Conflict(
            "Only admitted teams that are still in residence can book.",
            "只有已入驻且仍在孵的团队可以预约。",
            details={"team_id": team.id, "stage": team.stage.value},
        )
    return team


def _check_space(team: Team, resource: Resource, availability: Availability) -> None:
    if team.space_id != resource.space_id and not availability.open_to_other_spaces:
        raise Forbidden("book resources of another space", "预约其他空间的资源")


def _allowance_and_usage(
    session: Session, team: Team, kind: str, month: str
) -> tuple[pricing.Allowance, int, int]:
    """What the space grants the team for this kind of resource, with the free minutes it has used and
    the minutes it has booked this local month: one statement."""
    row = session.execute(
        _ALLOWANCE_AND_USAGE,
        {
            "team_id": team.id,
            "month": month,
            "kind": kind,
            "space_id": team.space_id,
            "stage": team.stage.value,
        },
    ).one()
    free_used, booked, free_hours, discount, max_hours = row
    allowance = (
        pricing.Allowance()
        if free_hours is None
        else pricing.Allowance(free_hours * 60, discount, None if max_hours is None else max_hours * 60)
    )
    return allowance, int(free_used), int(booked)


def price_for(
    session: Session, team: Team, resource: Resource, start: datetime, end: datetime
) -> tuple[pricing.Quote, str]:
    """Price [start, end) for the team, counting this month's free minutes and refusing what would break
    its monthly cap."""
    month = slots.local_month(start, resource.space.timezone)
    allowance, free_used, booked = _allowance_and_usage(session, team, resource.kind.value, month)
    minutes = int((end - start) / slots.MINUTE)
    cap = allowance.max_minutes_per_month
    if cap is not None and booked + minutes > cap:
        raise QuotaExceeded(
            f"This would take the team past its {cap // 60} hours a month for this kind of resource "
            f"({booked // 60} h {booked % 60} min already booked in {month}).",
            f"超出团队本月该类资源 {cap // 60} 小时的上限"
            f"（{month} 已预约 {booked // 60} 小时 {booked % 60} 分钟）。",
            details={"month": month, "booked_minutes": booked, "cap_minutes": cap, "asked_minutes": minutes},
        )
    return pricing.quote(resource.price_cny, resource.price_unit, minutes, allowance, free_used), month


@dataclass(frozen=True)
class _Checked:
    resource: Resource
    team: Team
    availability: Availability
    rules: slots.Rules
    occupancy: slots.Occupancy


def _checked(
    session: Session, principal: Principal, request: Request, now: datetime, *, lock: bool, certified: bool
) -> _Checked:
    """Load what a request names and check every rule that does not depend on who else holds the
    time: who may book for the team, the space, the certificate (when ``certified``), the range."""
    resource, availability = bookable_with_rules(session, principal, request.resource_id)
    team = team_for_booking(session, principal, request.team_id, lock=lock)
    _check_space(team, resource, availability)
    if certified:
        check_certified(session, principal, resource, availability, now)
    rules = rules_of(resource, availability)
    occ = occupancy(session, resource, rules, request.starts_at, request.ends_at)
    slots.check_request(rules, request.starts_at, request.ends_at, now, closures=occ.closures)
    return _Checked(resource, team, availability, rules, occ)


def quote_booking(
    session: Session, principal: Principal, request: Request, now: datetime | None = None
) -> dict[str, Any]:
    """What a booking would cost and whether it can be made, without making it."""
    c = _checked(session, principal, request, now or utcnow(), lock=False, certified=False)
    quote, month = price_for(session, c.team, c.resource, request.starts_at, request.ends_at)
    return {
        **quote.as_dict(),
        "month": month,
        "available": bool(c.occupancy.free_units(request.starts_at, request.ends_at)),
        "requires_approval": c.availability.requires_approval,
        "requires_certification": c.availability.requires_certification,
    }


def _charge(
    session: Session,
    booking: Booking,
    kind: ChargeKind,
    month: str,
    *,
    amount: Decimal,
    minutes: int,
    free: int,
    note: str = "",
) -> None:
    """Write one ledger line now, with a plain INSERT (nothing reads the line back as an object)."""
    session.execute(
        _INSERT_CHARGE,
        {
            "team_id": booking.team_id,
            "booking_id": booking.id,
            "kind": kind,
            "amount_cny": amount,
            "minutes": minutes,
            "free_minutes": free,
            "month": month,
            "resource_kind": booking.resource.kind.value,
            "note": note,
        },
    )


def _month_of(booking: Booking) -> str:
    return slots.local_month(booking.starts_at, booking.resource.space.timezone)


def _bill(
    session: Session, booking: Booking, team: Team, priced: tuple[pricing.Quote, str] | None = None
) -> None:
    """Write the booking's usage line, at the price ``priced`` already set on it in this transaction, or
    priced now."""
    if priced is None:
        priced = price_for(session, team, booking.resource, booking.starts_at, booking.ends_at)
        booking.amount_cny, booking.free_minutes = priced[0].amount_cny, priced[0].free_minutes
    quote, month = priced
    _charge(
        session,
        booking,
        ChargeKind.USAGE,
        month,
        amount=quote.amount_cny,
        minutes=quote.minutes,
        free=quote.free_minutes,
    )


def _net_charged(session: Session, booking: Booking) -> tuple[Decimal, int, int]:
    """The booking's usage less its refunds: amount, minutes and free minutes."""
    charged = session.execute(
        select(
            func.coalesce(func.sum(Charge.amount_cny), 0),
            func.coalesce(func.sum(Charge.minutes), 0),
            func.coalesce(func.sum(Charge.free_minutes), 0),
        ).where(Charge.booking_id == booking.id, Charge.kind.in_((ChargeKind.USAGE, ChargeKind.REFUND)))
    ).one()
    return Decimal(charged[0]), int(charged[1]), int(charged[2])


def _refund(session: Session, booking: Booking, *, fee_percent: int = 0, note: str = "") -> None:
    """Give back what the booking was charged (its minutes too), less a late fee if any."""
    amount, minutes, free = _net_charged(session, booking)
    if minutes == 0 and amount == 0:
        return
    month = _month_of(booking)
    _charge(
        session, booking, ChargeKind.REFUND, month, amount=-amount, minutes=-minutes, free=-free, note=note
    )
    fee = pricing.late_cancel_fee(booking.amount_cny if amount else Decimal(0), fee_percent)
    if fee_percent and fee > 0:
        _charge(session, booking, ChargeKind.LATE_CANCEL_FEE, month, amount=fee, minutes=0, free=0, note=note)


def _check_ledger(session: Session, booking: Booking) -> None:
    """Money follows state: before the change is committed, the booking's ledger must hold exactly one
    charge while it is billed and none once it is released. A change that would leave them disagreeing
    (one lost to a concurrent change, say) is refused, and the caller's transaction rolls back."""
    amount, minutes, free = _net_charged(session, booking)
    if not lifecycles.booking_ledger_agrees(
        booking.status.value,
        net_amount=amount,
        net_minutes=minutes,
        net_free=free,
        amount=booking.amount_cny,
        free=booking.free_minutes,
    ):
        raise LedgerDisagrees(
            "This booking changed while we were working on it; nothing was done. Look at it again.",
            "该预约在处理过程中被他人变更，本次未作任何修改。请刷新后重试。",
            details={
                "booking_id": booking.id,
                "status": booking.status.value,
                "charged_cny": str(amount),
                "charged_minutes": minutes,
            },
        )


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


def _is_overlap_refusal(exc: DBAPIError) -> bool:
    """The database refused an overlapping booking, or a concurrent one made it give up (deadlock or
    serialisation failure): all mean "somebody else got the slot"."""
    return _sqlstate(exc) in ("23P01", "40P01", "40001") or "bookings_no_overlap" in str(exc.orig)


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)


class _GaveWay(Exception):
    """PostgreSQL ended the transaction (deadlock or serialisation failure) while inserting a booking."""


def _insert(
    session: Session, values: dict[str, Any], candidates: Sequence[int], *, guarded: bool = False
) -> Booking | None:
    """Insert the booking on the first unit the database accepts, with one INSERT ... RETURNING, and hand
    it back; None when every candidate was taken meanwhile.

    PostgreSQL's ON CONFLICT DO NOTHING turns the exclusion constraint's refusal into "no row", and
    SQLite's trigger aborts only its own statement, so the transaction carries on to the next unit
    without a savepoint. What PostgreSQL may still do is end the whole transaction (a deadlock or
    serialisation failure with a concurrent booking): that raises ``_GaveWay``, unless ``guarded``,
    where each attempt runs in a savepoint so the rest of the unit of work survives it."""
    dialect = session.get_bind().dialect.name
    postgres = dialect == "postgresql"
    statement = _INSERT_BOOKING[dialect]
    for unit in candidates:
        row = {**values, "unit": unit}
        try:
            if guarded:
                with session.begin_nested():
                    booking = session.scalars(statement, row).first()
            else:
                booking = session.scalars(statement, row).first()
        except (IntegrityError, DBAPIError) as exc:
            if not _is_overlap_refusal(exc):
                raise
            if postgres and not guarded:
                raise _GaveWay() from exc
            continue
        if booking is not None:
            return booking
    return None


def _slot_taken(
    session: Session,
    principal: Principal,
    team: Team,
    resource: Resource,
    rules: slots.Rules,
    start: datetime,
    end: datetime,
    now: datetime,
) -> SlotTaken:
    occ = occupancy(session, resource, rules, start, end, wide=True)
    clashes = sorted(
        {b for unit in range(1, rules.units + 1) for b in occ.conflicts(unit, start, end + rules.buffer)},
        key=lambda b: (b.start, b.unit),
    )
    alt = slots.alternatives(occ, start, end, now)
    zone = resource.space.timezone
    taken = clashes[0] if clashes else None
    when = (
        f"{slots.describe(taken.start, zone)}–{slots.describe(taken.blocked_until, zone)[-5:]}"
        if taken
        else ""
    )
    return SlotTaken(
        f"That time is already taken ({when}). Try one of the alternatives.",
        f"该时段已被预约（{when}），可选择其他建议时段。",
        details={
            "conflicts": slots.spans(clashes),
            "alternatives": {
                **alt.as_dict(end - start),
                "substitutes": substitutes(session, principal, team, resource, start, end, now),
            },
        },
    )


def substitutes(
    session: Session,
    principal: Principal,
    team: Team,
    resource: Resource,
    start: datetime,
    end: datetime,
    now: datetime,
    limit: int = 3,
) -> list[dict[str, Any]]:
    """Other resources with all this one's capability tags, free at the same time, that the team may use."""
    tag_ids = {t.id for t in resource.tags}
    if not tag_ids:
        return []
    out = []
    for other in candidate_resources(session, team, tag_ids, exclude=resource.id):
        availability = availability_of(session, other)
        rules = rules_of(other, availability)
        occ = occupancy(session, other, rules, start, end)
        if occ.is_bookable(start, end, now):
            out.append(
                {
                    "resource_id": other.id,
                    "name_zh": other.name_zh,
                    "name_en": other.name_en,
                    "starts_at": start.isoformat(),
                    "ends_at": end.isoformat(),
                }
            )
            if len(out) >= limit:
                break
    return out


def candidate_resources(
    session: Session, team: Team, tag_ids: set[int], *, exclude: int | None = None
) -> list[Resource]:
    """Bookable resources having all the tags, in the team's space or open to other spaces."""
    query = (
        select(Resource)
        .outerjoin(Availability, Availability.resource_id == Resource.id)
        .where(
            Resource.kind.in_(BOOKABLE),
            Resource.retired_at.is_(None),
            or_(Resource.space_id == team.space_id, Availability.open_to_other_spaces.is_(True)),
        )
        .options(selectinload(Resource.tags), selectinload(Resource.space))
        .order_by(Resource.id)
    )
    if exclude is not None:
        query = query.where(Resource.id != exclude)
    return [r for r in session.scalars(query) if tag_ids <= {t.id for t in r.tags}]


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


def _member_ids(session: Session, team_id: int) -> tuple[int, ...]:
    return tuple(session.scalars(_MEMBER_IDS, {"team_id": team_id}))


def _record(session: Session, booking: Booking, action: str) -> None:
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
            member_user_ids=_member_ids(session, booking.team_id),
        ),
    )


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
    session: Session, principal: Principal, request: Request, now: datetime | None = None
) -> Booking:
    now = now or utcnow()
    c = _checked(session, principal, request, now, lock=True, certified=True)
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
            booking = _insert(session, values, free)
        except _GaveWay as exc:
            # PostgreSQL ended the transaction: nothing more can be read in it, so the answer cannot
            # list alternatives. The caller rolls back (the web layer's dispatcher does, then answers
            # 409 slot_taken with "retry"); the calendar read afresh then shows what is free.
            raise _taken_meanwhile() from exc
    if booking is None:
        raise _slot_taken(session, principal, team, resource, rules, request.starts_at, request.ends_at, now)
    _bill(session, booking, team, priced)
    _record(session, booking, "created")
    return booking


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


def create_series(
    session: Session, principal: Principal, request: SeriesRequest, now: datetime | None = None
) -> tuple[BookingSeries, list[Booking]]:
    """Book every occurrence, or none: on a clash the answer lists each clashing date. With
    ``skip_conflicts`` the clashing dates are left out (and listed) and the rest are booked."""
    now = now or utcnow()
    resource, availability = bookable_with_rules(session, principal, request.resource_id)
    team = team_for_booking(session, principal, request.team_id, lock=True)
    _check_space(team, resource, availability)
    check_certified(session, principal, resource, availability, now)
    rules = rules_of(resource, availability)
    sweep(session, now, resource_id=resource.id)
    wanted = slots.repeat(
        request.starts_at, request.ends_at, rules.timezone, request.frequency, request.count
    )
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
        booking = _insert(session, {**values, "series_id": series.id}, units, guarded=True)
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
        _bill(session, booking, team)
    session.flush()
    for booking in made:
        _record(session, booking, "created")
    return series, made


def _taken_meanwhile() -> SlotTaken:
    return SlotTaken(
        "Someone booked this time at the same moment; nothing was booked. Look at the calendar again.",
        "该时段刚刚被他人同时预约，本次未预约。请刷新日历后重新选择。",
        details={"conflicts": [], "retry": True},
    )


def _series_clash(clashes: list[dict[str, Any]], total: int) -> SlotTaken:
    return SlotTaken(
        f"{len(clashes)} of {total} dates cannot be booked; nothing was booked. "
        "Ask to skip the clashing dates, or pick another time.",
        f"{total} 个日期中有 {len(clashes)} 个无法预约，全部未预约。可选择跳过冲突日期或换一个时间。",
        details={"occurrences": clashes},
    )


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
    """Move an active booking to a final status, refund it, and offer the freed time to waiting teams."""
    was_held = booking.status is BookingStatus.HELD
    if status is BookingStatus.CANCELLED:
        values.update(cancelled_at=now, cancel_reason=reason or None)
    _change(session, booking, status, **values)
    _refund(session, booking, fee_percent=fee_percent, note=reason[:200])
    if was_held:
        for entry in session.scalars(
            select(WaitlistEntry).where(WaitlistEntry.offer_booking_id == booking.id)
        ):
            entry.status = WaitlistStatus.LAPSED
    _check_ledger(session, booking)
    session.flush()
    _record(session, booking, status.value)
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
            if not _is_overlap_refusal(exc):
                raise
        else:
            if not moved:
                raise _lost(session, booking, seen, "moved")
    if not moved:
        raise _slot_taken(session, principal, team, resource, rules, starts_at, ends_at, now)
    _refund(session, booking, note="moved")
    _bill(session, booking, booking.team)
    _check_ledger(session, booking)
    session.flush()
    _record(session, booking, "moved")
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
    if approve:
        _change(
            session,
            booking,
            BookingStatus.CONFIRMED,
            hold_expires_at=None,
            decided_by_id=principal.user_id,
        )
        _check_ledger(session, booking)
        session.flush()
        _record(session, booking, "approved")
    else:
        _release(session, booking, BookingStatus.REJECTED, now, reason=note, decided_by_id=principal.user_id)
    return booking


def accept_offer(
    session: Session, principal: Principal, booking_id: int, now: datetime | None = None
) -> Booking:
    """A waiting team takes the slot it was offered (subject to approval where the resource needs it)."""
    now = now or utcnow()
    booking = get_booking(session, principal, booking_id, lock=True)
    if booking.status is not BookingStatus.HELD:
        lifecycles.check_booking_move(booking.status.value, lifecycles.PENDING)
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        _release(session, booking, BookingStatus.EXPIRED, now)
        raise Conflict("The offer has expired.", "该候补邀请已过期。", details={"booking_id": booking.id})
    resource = booking.resource
    availability = availability_of(session, resource)
    check_certified(session, principal, resource, availability, now)
    team = team_for_booking(session, principal, booking.team_id, lock=True)
    booked_by = principal.user_id or booking.booked_by_id
    if availability.requires_approval and not can_run_resource(principal, resource_ref(resource)):
        hold = min(now + timedelta(hours=availability.approval_hold_hours), booking.starts_at)
        _change(session, booking, BookingStatus.PENDING, hold_expires_at=hold, booked_by_id=booked_by)
    else:
        _change(session, booking, BookingStatus.CONFIRMED, hold_expires_at=None, booked_by_id=booked_by)
    _bill(session, booking, team)
    for entry in session.scalars(select(WaitlistEntry).where(WaitlistEntry.offer_booking_id == booking.id)):
        entry.status = WaitlistStatus.ACCEPTED
    _check_ledger(session, booking)
    session.flush()
    _record(session, booking, "accepted")
    return booking


def check_in(session: Session, principal: Principal, booking_id: int, now: datetime | None = None) -> Booking:
    now = now or utcnow()
    booking = get_booking(session, principal, booking_id, lock=True)
    lifecycles.check_booking_move(booking.status.value, lifecycles.CHECKED_IN)
    grace = timedelta(minutes=availability_of(session, booking.resource).checkin_grace_minutes)
    if not booking.starts_at - CHECKIN_EARLY <= now <= booking.starts_at + grace:
        raise Conflict(
            "Check-in opens 15 minutes before the start and closes at the end of the grace period.",
            "签到时间为开始前 15 分钟至宽限期结束。",
            details={"starts_at": booking.starts_at.isoformat(), "grace_minutes": int(grace / slots.MINUTE)},
        )
    _change(session, booking, BookingStatus.CHECKED_IN, checked_in_at=now)
    cert = session.scalar(
        select(Certification).where(
            Certification.user_id == principal.user_id, Certification.resource_id == booking.resource_id
        )
    )
    if cert is not None:
        cert.last_used_at = now
    session.flush()
    _record(session, booking, "checked_in")
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
    checked_in = booking.checked_in_at or booking.starts_at
    hours = max(0.0, (used_until - checked_in) / timedelta(hours=1))
    session.add(
        Interaction(
            space_id=booking.resource.space_id,
            team_id=booking.team_id,
            resource_id=booking.resource_id,
            kind=InteractionKind.BOOKING,
            occurred_at=now,
            quantity=round(hours, 2),
            outcome="completed",
            detail={"booking_id": booking.id},
        )
    )
    session.flush()
    _record(session, booking, "completed")
    events.record(
        session, events.RecommendationsChanged(booking.team_id, _member_ids(session, booking.team_id))
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
                grace = availability_of(session, booking.resource).checkin_grace_minutes
                if booking.starts_at + timedelta(minutes=grace) > now:
                    continue
                _release(session, booking, BookingStatus.NO_SHOW, now, reason="not checked in")
            else:
                _release(session, booking, BookingStatus.EXPIRED, now)
        except InvalidTransition:
            continue  # changed by someone else meanwhile (refused before anything was written)
        released.append(booking)
    return released


def join_waitlist(
    session: Session, principal: Principal, request: Request, now: datetime | None = None
) -> WaitlistEntry:
    c = _checked(session, principal, request, now or utcnow(), lock=False, certified=True)
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
        booking = _insert(session, values, units, guarded=True)
        if booking is None:
            continue
        entry.status = WaitlistStatus.OFFERED
        entry.offer_booking_id = booking.id
        session.flush()
        _record(session, booking, "offered")


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
            _refund(session, booking, note=f"blackout: {reason}"[:200])
            _check_ledger(session, booking)
            session.flush()
            _record(session, booking, "cancelled")
        else:
            booking.flagged_reason = reason[:200]
            session.flush()
            _record(session, booking, "flagged")
    record_calendar(session, resource, "blackout_added", blackout_out(blackout))
    return blackout, touched
