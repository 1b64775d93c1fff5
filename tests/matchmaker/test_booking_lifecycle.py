"""What happens to bookings as time passes, with the clock in the test's hand: no-shows, expiring
holds and approvals, waitlist offers passing down the line, check-in and check-out, certificates that
expire or lapse."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker import events
from matchmaker.operations import accounts, booking_rules
from matchmaker.operations import bookings as ops
from matchmaker.operations.bookings import checks
from models import (
    Booking,
    BookingStatus,
    Interaction,
    InteractionKind,
    Tag,
    WaitlistEntry,
    WaitlistStatus,
)
from seeds import builders
from tests.conftest import PASSWORD_HASH, World
from tests.web.booking_support import next_week

START = next_week(1, 10)
END = next_week(1, 12)
BEFORE = START - timedelta(days=3)


def who(db: Session, world: World, name: str) -> accounts.Principal:
    return accounts.principal_for(db, world.users[name])


def book(
    db: Session, world: World, name: str, team_id: int, *, now: datetime = BEFORE, **kw: object
) -> Booking:
    request = ops.BookingRequest(team_id, world.equipment1.id, kw.pop("start", START), kw.pop("end", END))  # type: ignore[arg-type]
    booking = ops.create_booking(db, who(db, world, name), request, now)
    db.commit()
    return booking


def test_a_booking_not_checked_in_within_the_grace_period_is_released(db: Session, world: World) -> None:
    booking = book(db, world, "founder", world.team1.id)
    assert ops.sweep(db, START + timedelta(minutes=10)) == []  # still within the 15-minute grace
    released = ops.sweep(db, START + timedelta(minutes=16))
    db.commit()
    assert [b.id for b in released] == [booking.id]
    assert booking.status is BookingStatus.NO_SHOW
    again = book(
        db,
        world,
        "other_founder",
        world.team2.id,
        now=START + timedelta(minutes=16),
        start=START + timedelta(minutes=30),
    )
    assert again.status is BookingStatus.CONFIRMED


def test_check_in_opens_shortly_before_the_start_and_check_out_frees_what_is_left(
    db: Session, world: World
) -> None:
    booking = book(db, world, "founder", world.team1.id)
    founder = who(db, world, "founder")
    with pytest.raises(ops.Conflict):
        ops.check_in(db, founder, booking.id, START - timedelta(hours=1))
    ops.check_in(db, founder, booking.id, START - timedelta(minutes=5))
    ops.check_out(db, founder, booking.id, START + timedelta(hours=1))
    db.commit()
    assert booking.status is BookingStatus.COMPLETED
    assert booking.blocked_until == START + timedelta(hours=1)
    used = db.scalars(select(Interaction).where(Interaction.kind == InteractionKind.BOOKING)).one()
    assert used.quantity == pytest.approx(1.0)  # checked in early; use counts from the start
    assert used.team_id == world.team1.id and used.generated is False
    # The freed hour can be booked by someone else.
    later = book(
        db,
        world,
        "other_founder",
        world.team2.id,
        now=START + timedelta(hours=1),
        start=START + timedelta(hours=1),
    )
    assert later.status is BookingStatus.CONFIRMED


def test_an_unanswered_approval_expires_and_frees_the_slot(db: Session, world: World) -> None:
    booking_rules.set_availability(
        db,
        who(db, world, "host"),
        world.equipment1.id,
        {"requires_approval": True, "approval_hold_hours": 24},
    )
    db.commit()
    pending = book(db, world, "founder", world.team1.id)
    assert pending.status is BookingStatus.PENDING
    assert pending.hold_expires_at == BEFORE + timedelta(hours=24)
    ops.sweep(db, BEFORE + timedelta(hours=25))
    db.commit()
    assert pending.status is BookingStatus.EXPIRED


def test_a_lapsed_offer_passes_to_the_next_waiting_team(db: Session, world: World) -> None:
    third_lead = builders.get_or_create_user(db, "third@test.example", "Third", password_hash=PASSWORD_HASH)
    third = builders.get_or_create_team(
        db, world.space1, "third", lead=third_lead, name_zh="第三", name_en="Third"
    )
    db.commit()
    taken = book(db, world, "founder", world.team1.id)
    request = ops.BookingRequest(world.team2.id, world.equipment1.id, START, END)
    first = ops.join_waitlist(db, who(db, world, "other_founder"), request, BEFORE)
    second = ops.join_waitlist(
        db,
        accounts.principal_for(db, third_lead),
        ops.BookingRequest(third.id, world.equipment1.id, START, END),
        BEFORE + timedelta(minutes=1),
    )
    db.commit()
    ops.cancel_booking(db, who(db, world, "founder"), taken.id, "", BEFORE + timedelta(hours=1))
    db.commit()
    assert first.status is WaitlistStatus.OFFERED and second.status is WaitlistStatus.WAITING
    offered = db.get(Booking, first.offer_booking_id)
    assert offered is not None and offered.status is BookingStatus.HELD and offered.team_id == world.team2.id
    # Nobody answers for half an hour: the offer lapses and the next team is offered the slot.
    ops.sweep(db, BEFORE + timedelta(hours=1, minutes=31))
    db.commit()
    assert offered.status is BookingStatus.EXPIRED
    assert first.status is WaitlistStatus.LAPSED
    assert second.status is WaitlistStatus.OFFERED
    handed = db.get(Booking, second.offer_booking_id)
    assert handed is not None and handed.team_id == third.id
    accepted = ops.accept_offer(
        db, accounts.principal_for(db, third_lead), handed.id, BEFORE + timedelta(hours=2)
    )
    db.commit()
    assert accepted.status is BookingStatus.CONFIRMED
    assert db.get(WaitlistEntry, second.id).status is WaitlistStatus.ACCEPTED  # type: ignore[union-attr]


def test_a_certificate_that_expired_or_lapsed_no_longer_lets_its_holder_book(
    db: Session, world: World
) -> None:
    host = who(db, world, "host")
    booking_rules.set_availability(
        db, host, world.equipment1.id, {"requires_certification": True, "certification_lapse_days": 30}
    )
    booking_rules.grant_certification(
        db,
        host,
        world.equipment1.id,
        world.id("founder"),
        expires_at=BEFORE + timedelta(days=60),
        now=BEFORE - timedelta(days=10),
    )
    db.commit()
    assert book(db, world, "founder", world.team1.id).status is BookingStatus.CONFIRMED
    with pytest.raises(booking_rules.NotCertified, match="lapsed"):
        book(
            db,
            world,
            "founder",
            world.team1.id,
            now=BEFORE + timedelta(days=25),
            start=START + timedelta(days=21),
            end=END + timedelta(days=21),
        )
    db.rollback()
    booking_rules.grant_certification(
        db, host, world.equipment1.id, world.id("founder"), expires_at=BEFORE + timedelta(days=1), now=BEFORE
    )
    db.commit()
    with pytest.raises(booking_rules.NotCertified, match="expired"):
        book(
            db,
            world,
            "founder",
            world.team1.id,
            now=BEFORE + timedelta(days=2),
            start=START + timedelta(days=7),
            end=END + timedelta(days=7),
        )


def test_each_change_records_one_event_for_after_the_commit(db: Session, world: World) -> None:
    events.take(db)
    booking = book(db, world, "founder", world.team1.id)
    recorded = events.take(db)
    assert [(e.name, getattr(e, "action", None)) for e in recorded] == [("booking_changed", "created")]
    changed = recorded[0]
    assert isinstance(changed, events.BookingChanged)
    assert "team" not in changed.public and changed.private["team"]["id"] == world.team1.id
    assert set(changed.member_user_ids) == {world.id("founder"), world.id("member")}
    ops.cancel_booking(db, who(db, world, "founder"), booking.id, "", BEFORE)
    assert [e.action for e in events.take(db) if isinstance(e, events.BookingChanged)] == ["cancelled"]


def _count(db: Session, **where: object) -> int:
    return len(db.scalars(select(Booking).filter_by(**where)).all())


def test_when_the_database_itself_refuses_the_loser_gets_slot_taken_and_nothing_is_written(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent winner the check did not see yet: the database's refusal (PostgreSQL's exclusion
    constraint through ON CONFLICT DO NOTHING, SQLite's trigger) becomes the same clean answer."""
    winner = book(db, world, "founder", world.team1.id)
    real = booking_rules.occupancy
    calls: list[int] = []

    def blind(*args: object, **kw: object) -> object:
        """The loser's check reads an empty calendar; its answer afterwards reads the real one."""
        found = real(*args, **kw)  # type: ignore[arg-type]
        calls.append(1)
        return type(found)(found.rules, [], found.closures) if len(calls) == 1 else found

    monkeypatch.setattr(checks, "occupancy", blind)
    with pytest.raises(ops.SlotTaken) as refused:
        book(db, world, "other_founder", world.team2.id)
    db.rollback()
    assert refused.value.details["conflicts"][0]["booking_id"] == winner.id
    assert _count(db, resource_id=world.equipment1.id) == 1
    assert _count(db, team_id=world.team2.id) == 0


def test_a_transaction_postgresql_ends_mid_insert_is_slot_taken_and_left_to_the_caller(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadlock or serialisation failure with a concurrent booking aborts the whole transaction on
    PostgreSQL: the operation answers slot_taken (asking to retry) without touching the transaction,
    and its caller rolls back, writing nothing."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("only PostgreSQL ends the transaction")
    from psycopg import errors
    from sqlalchemy.exc import OperationalError

    real = db.execute

    def deadlocked(statement: object, *args: object, **kw: object) -> object:
        table = getattr(statement, "table", None) if getattr(statement, "is_insert", False) else None
        if getattr(table, "name", None) == "bookings":
            raise OperationalError("INSERT INTO bookings", {}, errors.DeadlockDetected("deadlock detected"))
        return real(statement, *args, **kw)  # type: ignore[arg-type]

    builders.get_or_create_tag(db, "caller-work", ["调用方"], ["caller work"])  # the caller's own work
    db.flush()
    monkeypatch.setattr(db, "execute", deadlocked)
    with pytest.raises(ops.SlotTaken) as refused:
        book(db, world, "founder", world.team1.id)
    monkeypatch.undo()
    assert refused.value.details["retry"] is True
    # The operation left the transaction to its caller (here PostgreSQL did not really end it).
    assert db.scalar(select(Tag.id).where(Tag.slug == "caller-work")) is not None
    db.rollback()
    assert _count(db, resource_id=world.equipment1.id) == 0
