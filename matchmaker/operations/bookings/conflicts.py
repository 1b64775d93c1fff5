"""Where a booking meets others: inserting it on a unit the database accepts, the database's refusal
of an overlap, and the slot_taken answer with alternatives and substitutes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from matchmaker import booking_policy, slots
from matchmaker.errors import Conflict
from matchmaker.operations.booking_rules import (
    BOOKABLE,
    availability_of,
    occupancy,
    rules_of,
)
from matchmaker.permissions import (
    Principal,
)
from models import (
    Availability,
    Booking,
    Resource,
    Team,
)
from models.narrow import Narrow


class SlotTaken(Conflict):
    code = "slot_taken"


# A plain INSERT ... RETURNING every column, whose row the session then adopts as the new Booking
# (``models.narrow``): what the ORM would do, for a fraction of its work.
_BOOKING = Narrow(Booking)
_BOOKINGS = cast(Table, Booking.__table__)
_INSERT_BOOKING = {
    # The exclusion constraint's refusal becomes "no row returned" instead of an aborted transaction.
    "postgresql": pg_insert(_BOOKINGS).on_conflict_do_nothing().returning(*_BOOKING.columns),
    "sqlite": insert(_BOOKINGS).returning(*_BOOKING.columns),
}


def is_overlap_refusal(exc: DBAPIError) -> bool:
    """The database refused an overlapping booking, or a concurrent one made it give up (deadlock or
    serialisation failure): all mean "somebody else got the slot"."""
    return _sqlstate(exc) in ("23P01", "40P01", "40001") or "bookings_no_overlap" in str(exc.orig)


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)


class GaveWay(Exception):
    """PostgreSQL ended the transaction (deadlock or serialisation failure) while inserting a booking."""


def insert_booking(
    session: Session, values: dict[str, Any], candidates: Sequence[int], *, guarded: bool = False
) -> Booking | None:
    """Insert the booking on the first unit the database accepts, with one INSERT ... RETURNING, and hand
    it back; None when every candidate was taken meanwhile.

    PostgreSQL's ON CONFLICT DO NOTHING turns the exclusion constraint's refusal into "no row", and
    SQLite's trigger aborts only its own statement, so the transaction carries on to the next unit
    without a savepoint. What PostgreSQL may still do is end the whole transaction (a deadlock or
    serialisation failure with a concurrent booking): that raises ``GaveWay``, unless ``guarded``,
    where each attempt runs in a savepoint so the rest of the unit of work survives it."""
    dialect = session.get_bind().dialect.name
    postgres = dialect == "postgresql"
    statement = _INSERT_BOOKING[dialect]
    for unit in candidates:
        row = {**values, "unit": unit}
        try:
            if guarded:
                with session.begin_nested():
                    made = session.execute(statement, row).first()
            else:
                made = session.execute(statement, row).first()
        except (IntegrityError, DBAPIError) as exc:
            if not is_overlap_refusal(exc):
                raise
            if postgres and not guarded:
                raise GaveWay() from exc
            continue
        if made is not None:
            return cast(Booking, _BOOKING.adopt(session, made))
    return None


def slot_taken(
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


def taken_meanwhile() -> SlotTaken:
    return SlotTaken(
        "Someone booked this time at the same moment; nothing was booked. Look at the calendar again.",
        "该时段刚刚被他人同时预约，本次未预约。请刷新日历后重新选择。",
        details={"conflicts": [], "retry": True},
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
    """Other resources alike in capability, free at the same time, that the team may use."""
    out = []
    for other in similar_resources(session, team, resource):
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


def similar_resources(session: Session, team: Team, resource: Resource) -> list[Resource]:
    """Resources of the same kind that can stand in for ``resource``, most alike first: their capability
    tags overlap enough, a tag few resources carry counting more than a common one (see
    ``booking_policy.capability_similarity``). Only those the team may book."""
    wanted = {t.id for t in resource.tags}
    if not wanted:
        return []
    pool = _bookable_for(session, team)
    weights = booking_policy.tag_weights([{t.id for t in r.tags} for r in pool])
    by_id = {r.id: r for r in pool if r.id != resource.id and r.kind is resource.kind}
    ranked = booking_policy.rank_substitutes(
        wanted, {rid: {t.id for t in r.tags} for rid, r in by_id.items()}, weights
    )
    return [by_id[rid] for rid, _score in ranked]


def _bookable_for(session: Session, team: Team) -> list[Resource]:
    """Bookable resources in the team's space or open to other spaces, with their tags."""
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
    return list(session.scalars(query))


def candidate_resources(
    session: Session, team: Team, tag_ids: set[int], *, exclude: int | None = None
) -> list[Resource]:
    """Bookable resources having all the tags, in the team's space or open to other spaces."""
    return [r for r in _bookable_for(session, team) if r.id != exclude and tag_ids <= {t.id for t in r.tags}]
