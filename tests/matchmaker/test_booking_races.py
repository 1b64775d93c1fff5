"""Two changes to one booking, interleaved by hand: session A has read the booking, session B changes
it and commits, then A tries. Exactly one change wins, the other is refused with a clear conflict, and
the ledger always agrees with the booking's state. A lost race never ends the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.errors import InvalidTransition
from matchmaker.operations import accounts, booking_rules
from matchmaker.operations import bookings as ops
from matchmaker.operations.bookings import changes, checks
from models import Booking, BookingStatus, Charge, ChargeKind, Tag, User
from seeds import builders
from tests.conftest import World, fresh
from tests.web.booking_support import next_week
from web.db import take_write_lock

START = next_week(1, 10, weeks=2)
END = next_week(1, 12, weeks=2)
LATER, LATER_END = next_week(1, 14, weeks=2), next_week(1, 16, weeks=2)
BEFORE = START - timedelta(days=3)


def who(session: Session, world: World, name: str) -> accounts.Principal:
    user = session.get(User, world.id(name))
    assert user is not None
    return accounts.principal_for(session, user)


def book(db: Session, world: World, name: str = "founder", team_id: int | None = None) -> Booking:
    request = ops.BookingRequest(team_id or world.team1.id, world.equipment1.id, START, END)
    booking = ops.create_booking(db, who(db, world, name), request, BEFORE)
    db.commit()
    return booking


def meanwhile(factory: sessionmaker[Session], change: Callable[[Session], Any]) -> None:
    """Session B: one unit of work of its own, as a concurrent request runs it, committed."""
    with factory() as other:
        take_write_lock(other)
        change(other)
        other.commit()


def ledger(db: Session, booking_id: int) -> list[ChargeKind]:
    fresh(db)
    return list(db.scalars(select(Charge.kind).where(Charge.booking_id == booking_id).order_by(Charge.id)))


def net(db: Session, booking_id: int) -> tuple[Decimal, int]:
    fresh(db)
    lines = db.scalars(
        select(Charge).where(
            Charge.booking_id == booking_id, Charge.kind.in_((ChargeKind.USAGE, ChargeKind.REFUND))
        )
    ).all()
    return sum((c.amount_cny for c in lines), Decimal(0)), sum(c.minutes for c in lines)


def status_of(db: Session, booking_id: int) -> BookingStatus:
    fresh(db)
    found = db.scalar(select(Booking.status).where(Booking.id == booking_id))
    assert found is not None
    return found


def needs_approval(db: Session, world: World) -> None:
    booking_rules.set_availability(
        db, who(db, world, "host"), world.equipment1.id, {"requires_approval": True}
    )
    db.commit()


def test_a_second_cancel_is_refused_as_already_cancelled_and_refunds_nothing(
    db: Session, world: World, factory: sessionmaker[Session]
) -> None:
    booking = book(db, world)
    meanwhile(factory, lambda b: ops.cancel_booking(b, who(b, world, "founder"), booking.id, "", BEFORE))
    take_write_lock(db)
    with pytest.raises(InvalidTransition) as refused:
        ops.cancel_booking(db, who(db, world, "founder"), booking.id, "", BEFORE)
    assert refused.value.code == "already_cancelled" and refused.value.status == 409
    db.rollback()
    assert ledger(db, booking.id) == [ChargeKind.USAGE, ChargeKind.REFUND]


@pytest.mark.parametrize("first_approves", [True, False])
def test_of_an_approval_and_a_rejection_only_the_first_counts(
    db: Session, world: World, factory: sessionmaker[Session], first_approves: bool
) -> None:
    needs_approval(db, world)
    booking = book(db, world)
    assert booking.status is BookingStatus.PENDING
    price = booking.amount_cny
    meanwhile(
        factory,
        lambda b: ops.decide_booking(b, who(b, world, "manager"), booking.id, first_approves, "", BEFORE),
    )
    take_write_lock(db)
    with pytest.raises(InvalidTransition) as refused:
        ops.decide_booking(db, who(db, world, "host"), booking.id, not first_approves, "", BEFORE)
    assert refused.value.code == "invalid_transition"
    db.rollback()
    if first_approves:
        assert status_of(db, booking.id) is BookingStatus.CONFIRMED
        assert net(db, booking.id) == (price, 120)
    else:
        assert status_of(db, booking.id) is BookingStatus.REJECTED
        assert net(db, booking.id) == (Decimal(0), 0)


def test_a_move_after_a_cancel_is_refused_and_bills_nothing(
    db: Session, world: World, factory: sessionmaker[Session]
) -> None:
    booking = book(db, world)
    meanwhile(factory, lambda b: ops.cancel_booking(b, who(b, world, "founder"), booking.id, "", BEFORE))
    take_write_lock(db)
    with pytest.raises(InvalidTransition):
        ops.move_booking(db, who(db, world, "founder"), booking.id, LATER, LATER_END, BEFORE)
    db.rollback()
    assert status_of(db, booking.id) is BookingStatus.CANCELLED
    assert ledger(db, booking.id) == [ChargeKind.USAGE, ChargeKind.REFUND]


def test_a_cancel_after_a_move_cancels_the_moved_booking_and_refunds_all_of_it(
    db: Session, world: World, factory: sessionmaker[Session]
) -> None:
    booking = book(db, world)
    meanwhile(
        factory,
        lambda b: ops.move_booking(b, who(b, world, "founder"), booking.id, LATER, LATER_END, BEFORE),
    )
    take_write_lock(db)
    cancelled = ops.cancel_booking(db, who(db, world, "founder"), booking.id, "", BEFORE)
    assert cancelled.starts_at == LATER  # it decided on the booking as it is now, not as first read
    db.commit()
    assert status_of(db, booking.id) is BookingStatus.CANCELLED
    assert net(db, booking.id) == (Decimal(0), 0)


def test_a_check_in_after_the_no_show_release_is_refused(
    db: Session, world: World, factory: sessionmaker[Session]
) -> None:
    booking = book(db, world)
    meanwhile(factory, lambda b: ops.sweep(b, START + timedelta(minutes=16)))
    take_write_lock(db)
    with pytest.raises(InvalidTransition):
        ops.check_in(db, who(db, world, "founder"), booking.id, START + timedelta(minutes=14))
    db.rollback()
    assert status_of(db, booking.id) is BookingStatus.NO_SHOW
    assert net(db, booking.id) == (Decimal(0), 0)


def test_an_offer_accepted_after_it_expired_is_refused_and_never_billed(
    db: Session, world: World, factory: sessionmaker[Session]
) -> None:
    taken = book(db, world)
    entry = ops.join_waitlist(
        db,
        who(db, world, "other_founder"),
        ops.BookingRequest(world.team2.id, world.equipment1.id, START, END),
        BEFORE,
    )
    db.commit()
    ops.cancel_booking(db, who(db, world, "founder"), taken.id, "", BEFORE)
    db.commit()
    offered = db.get(Booking, entry.offer_booking_id)
    assert offered is not None and offered.status is BookingStatus.HELD
    db.commit()  # A has read it; its transaction ends, the row stays loaded as it was
    meanwhile(factory, lambda b: ops.sweep(b, BEFORE + timedelta(minutes=ops.OFFER_MINUTES + 1)))
    take_write_lock(db)
    with pytest.raises(InvalidTransition):
        ops.accept_offer(db, who(db, world, "other_founder"), offered.id, BEFORE + timedelta(minutes=5))
    db.rollback()
    assert status_of(db, offered.id) is BookingStatus.EXPIRED
    assert ledger(db, offered.id) == []


def _rival_takes_the_time(monkeypatch: pytest.MonkeyPatch, take: Callable[[], None]) -> list[int]:
    """Between the move's look at the calendar and its write, ``take`` books the new time."""
    real = changes.occupancy
    calls: list[int] = []

    def overtaken(*args: Any, **kw: Any) -> Any:
        found = real(*args, **kw)
        calls.append(1)
        if len(calls) == 1:
            take()
        return found

    monkeypatch.setattr(changes, "occupancy", overtaken)
    return calls


def _caller_writes_first(db: Session) -> None:
    """The caller's own earlier work in the same unit of work, which a lost race must leave alone."""
    builders.get_or_create_tag(db, "caller-work", ["调用方"], ["caller work"])
    db.flush()


def _callers_work_survives(db: Session) -> bool:
    return db.scalar(select(Tag.id).where(Tag.slug == "caller-work")) is not None


def test_a_move_onto_a_time_taken_at_that_moment_is_slot_taken_and_the_unit_of_work_goes_on(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rival row is written in the mover's own transaction, so both databases refuse the move at
    the constraint (PostgreSQL's exclusion constraint, SQLite's trigger), after the code's check."""
    booking = book(db, world)
    take_write_lock(db)
    _caller_writes_first(db)

    def rival() -> None:
        request = ops.BookingRequest(world.team2.id, world.equipment1.id, LATER, LATER_END)
        ops.create_booking(db, who(db, world, "other_founder"), request, BEFORE)

    _rival_takes_the_time(monkeypatch, rival)
    with pytest.raises(ops.SlotTaken) as refused:
        ops.move_booking(db, who(db, world, "founder"), booking.id, LATER, LATER_END, BEFORE)
    assert refused.value.status == 409 and refused.value.details["alternatives"]["later"] is not None
    assert refused.value.details["conflicts"]
    assert booking.starts_at == START
    db.commit()  # the caller's unit of work is intact and commits
    assert _callers_work_survives(db)
    fresh(db)
    assert db.get(Booking, booking.id).starts_at == START  # type: ignore[union-attr]
    assert ledger(db, booking.id) == [ChargeKind.USAGE]


@pytest.mark.postgres
def test_a_move_onto_a_time_another_transaction_books_meanwhile_is_slot_taken(
    db: Session, world: World, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe's case: another transaction books the new time and commits between the move's check
    and its write; PostgreSQL's exclusion constraint refuses the UPDATE inside the savepoint."""
    booking = book(db, world)
    _caller_writes_first(db)

    def rival() -> None:
        request = ops.BookingRequest(world.team2.id, world.equipment1.id, LATER, LATER_END)
        meanwhile(factory, lambda b: ops.create_booking(b, who(b, world, "other_founder"), request, BEFORE))

    calls = _rival_takes_the_time(monkeypatch, rival)
    with pytest.raises(ops.SlotTaken) as refused:
        ops.move_booking(db, who(db, world, "founder"), booking.id, LATER, LATER_END, BEFORE)
    assert calls and refused.value.details["conflicts"]
    db.commit()
    assert _callers_work_survives(db)
    fresh(db)
    assert db.get(Booking, booking.id).starts_at == START  # type: ignore[union-attr]
    assert ledger(db, booking.id) == [ChargeKind.USAGE]


def test_a_booking_lost_inside_a_larger_unit_of_work_leaves_the_callers_earlier_writes(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses the loser (its check saw an empty calendar); the caller's transaction
    carries on and commits what it wrote before."""
    book(db, world)
    take_write_lock(db)
    _caller_writes_first(db)
    real = checks.occupancy
    calls: list[int] = []

    def blind(*args: Any, **kw: Any) -> Any:
        found = real(*args, **kw)
        calls.append(1)
        return type(found)(found.rules, [], found.closures) if len(calls) == 1 else found

    monkeypatch.setattr(checks, "occupancy", blind)
    request = ops.BookingRequest(world.team2.id, world.equipment1.id, START, END)
    with pytest.raises(ops.SlotTaken):
        ops.create_booking(db, who(db, world, "other_founder"), request, BEFORE)
    db.commit()
    assert _callers_work_survives(db)


def test_a_ledger_that_disagrees_with_the_state_is_refused(db: Session, world: World) -> None:
    """A pending request already billed (as a lost race could leave it): approving it bills it, finds
    the ledger holding two charges for one booking and refuses, writing nothing."""
    needs_approval(db, world)
    booking = book(db, world)
    assert db.scalars(select(Charge).where(Charge.booking_id == booking.id)).all() == []
    db.add(
        Charge(
            team_id=booking.team_id,
            booking_id=booking.id,
            kind=ChargeKind.USAGE,
            amount_cny=booking.amount_cny,
            minutes=int((booking.ends_at - booking.starts_at).total_seconds() // 60),
            free_minutes=booking.free_minutes,
            month=booking.starts_at.strftime("%Y-%m"),
            resource_kind="equipment",
        )
    )
    db.commit()
    take_write_lock(db)
    with pytest.raises(ops.LedgerDisagrees) as refused:
        ops.decide_booking(db, who(db, world, "host"), booking.id, True, "", BEFORE)
    assert refused.value.status == 409 and refused.value.code == "ledger_conflict"
    db.rollback()
    assert status_of(db, booking.id) is BookingStatus.PENDING
