"""The booking rules that keep booking fair: certificates valid for the booked time and at check-in,
lost access handled, charging on approval, no-show fees, actual use, long bookings and substitutes."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker import booking_policy
from matchmaker.errors import InvalidInput
from matchmaker.operations import accounts, booking_rules, teams
from matchmaker.operations import bookings as ops
from models import Booking, BookingStatus, Charge, ChargeKind, Interaction, InteractionKind
from seeds import builders
from tests.conftest import World
from tests.web.booking_support import next_week

START = next_week(1, 10)
END = next_week(1, 12)
BEFORE = START - timedelta(days=3)


def who(db: Session, world: World, name: str) -> accounts.Principal:
    return accounts.principal_for(db, world.users[name])


def book(
    db: Session,
    world: World,
    *,
    start: datetime = START,
    end: datetime = END,
    now: datetime = BEFORE,
    resource_id: int | None = None,
) -> Booking:
    request = ops.BookingRequest(world.team1.id, resource_id or world.equipment1.id, start, end)
    booking = ops.create_booking(db, who(db, world, "founder"), request, now)
    db.commit()
    return booking


def ledger(db: Session, booking: Booking) -> list[tuple[ChargeKind, Decimal]]:
    rows = db.scalars(select(Charge).where(Charge.booking_id == booking.id).order_by(Charge.id))
    return [(c.kind, c.amount_cny) for c in rows]


def certify(db: Session, world: World, expires_at: datetime | None, *, now: datetime = BEFORE) -> None:
    host = who(db, world, "host")
    booking_rules.set_availability(db, host, world.equipment1.id, {"requires_certification": True})
    booking_rules.grant_certification(
        db, host, world.equipment1.id, world.id("founder"), expires_at=expires_at, now=now
    )
    db.commit()


def test_a_certificate_expiring_before_the_booked_day_does_not_let_its_holder_book_it(
    db: Session, world: World
) -> None:
    monday = START - timedelta(days=1)
    certify(db, world, monday + timedelta(hours=3))  # valid now, expires on Monday at 13:00
    with pytest.raises(booking_rules.NotCertified, match="expires on"):
        book(db, world)  # Tuesday
    db.rollback()
    assert db.scalar(select(Booking.id)) is None
    # Monday morning, before the certificate expires, is fine.
    assert book(db, world, start=monday, end=monday + timedelta(hours=2)).status is BookingStatus.CONFIRMED


def test_check_in_checks_the_certificate_again(db: Session, world: World) -> None:
    certify(db, world, None)
    booking = book(db, world)
    # The booking stands; then the certificate is cut short.
    host = who(db, world, "host")
    booking_rules.grant_certification(
        db,
        host,
        world.equipment1.id,
        world.id("founder"),
        expires_at=START + timedelta(minutes=30),
        now=BEFORE,
    )
    db.commit()
    with pytest.raises(booking_rules.NotCertified):
        ops.check_in(db, who(db, world, "founder"), booking.id, START)
    db.rollback()
    assert db.get(Booking, booking.id).status is BookingStatus.CONFIRMED  # type: ignore[union-attr]


@pytest.mark.parametrize("effect", ["cancel", "flag"])
def test_revoking_a_certificate_cancels_and_refunds_or_flags_its_bookings(
    db: Session, world: World, effect: str
) -> None:
    certify(db, world, None)
    host = who(db, world, "host")
    booking_rules.set_availability(db, host, world.equipment1.id, {"lost_access_effect": effect})
    booking = book(db, world)
    booking_rules.revoke_certification(db, host, world.equipment1.id, world.id("founder"), BEFORE)
    db.commit()
    db.refresh(booking)
    if effect == "cancel":
        assert booking.status is BookingStatus.CANCELLED
        assert sum(amount for _kind, amount in ledger(db, booking)) == 0
    else:
        assert booking.status is BookingStatus.CONFIRMED
        assert booking.flagged_reason == "certificate revoked"


def test_a_team_that_exits_keeps_no_future_bookings(db: Session, world: World) -> None:
    booking = book(db, world)
    later = book(db, world, start=START + timedelta(days=7), end=END + timedelta(days=7))
    teams.change_stage(db, who(db, world, "manager"), world.team1.id, to="exited", reason="closed down")
    db.commit()
    for b in (booking, later):
        db.refresh(b)
        assert b.status is BookingStatus.CANCELLED
        assert sum(amount for _kind, amount in ledger(db, b)) == 0


def test_a_request_needing_approval_is_charged_when_approved_not_when_asked(
    db: Session, world: World
) -> None:
    booking_rules.set_availability(
        db, who(db, world, "host"), world.equipment1.id, {"requires_approval": True}
    )
    db.commit()
    pending = book(db, world)
    assert pending.status is BookingStatus.PENDING
    assert ledger(db, pending) == []
    ops.decide_booking(db, who(db, world, "host"), pending.id, True, now=BEFORE + timedelta(hours=1))
    db.commit()
    assert ledger(db, pending) == [(ChargeKind.USAGE, Decimal("800.00"))]
    rejected = book(db, world, start=START + timedelta(days=7), end=END + timedelta(days=7))
    ops.decide_booking(db, who(db, world, "host"), rejected.id, False, now=BEFORE + timedelta(hours=1))
    db.commit()
    assert ledger(db, rejected) == []


def test_not_showing_up_costs_at_least_as_much_as_cancelling_late(db: Session, world: World) -> None:
    host = who(db, world, "host")
    with pytest.raises(InvalidInput, match="no-show fee"):
        booking_rules.set_availability(
            db, host, world.equipment1.id, {"late_cancel_fee_percent": 60, "no_show_fee_percent": 40}
        )
    db.rollback()
    booking_rules.set_availability(
        db, host, world.equipment1.id, {"late_cancel_fee_percent": 50, "no_show_fee_percent": 80}
    )
    db.commit()
    no_show = book(db, world)
    ops.sweep(db, START + timedelta(minutes=16))
    db.commit()
    assert no_show.status is BookingStatus.NO_SHOW
    assert ledger(db, no_show) == [
        (ChargeKind.USAGE, Decimal("800.00")),
        (ChargeKind.REFUND, Decimal("-800.00")),
        (ChargeKind.NO_SHOW_FEE, Decimal("640.00")),
    ]
    cancelled = book(db, world, start=START + timedelta(days=7), end=END + timedelta(days=7))
    ops.cancel_booking(db, who(db, world, "founder"), cancelled.id, "", START + timedelta(days=7, hours=-1))
    db.commit()
    paid_no_show = sum(amount for _kind, amount in ledger(db, no_show))
    paid_late = sum(amount for _kind, amount in ledger(db, cancelled))
    assert paid_no_show == Decimal("640.00") and paid_late == Decimal("400.00")
    assert paid_no_show >= paid_late


def test_actual_use_does_not_count_time_before_the_booking_started(db: Session, world: World) -> None:
    booking = book(db, world)
    founder = who(db, world, "founder")
    ops.check_in(db, founder, booking.id, START - timedelta(minutes=10))
    ops.check_out(db, founder, booking.id, START + timedelta(hours=1))
    db.commit()
    used = db.scalars(select(Interaction).where(Interaction.kind == InteractionKind.BOOKING)).one()
    assert used.quantity == pytest.approx(1.0)


def test_a_desk_and_a_long_booking_are_not_released_as_no_shows(db: Session, world: World) -> None:
    desk = builders.get_or_create_resource(
        db, world.space1, world.host1, "desk", kind="workspace", category="desk", price_unit="free"
    )
    db.commit()
    taken = book(db, world, resource_id=desk.id)
    ops.sweep(db, START + timedelta(hours=1))
    db.commit()
    assert taken.status is BookingStatus.CONFIRMED
    ops.sweep(db, END + timedelta(minutes=1))
    db.commit()
    assert taken.status is BookingStatus.COMPLETED  # over, and it was the team's
    assert not booking_policy.released_as_no_show("equipment", "testing", START, START + timedelta(days=2))
    assert booking_policy.released_as_no_show("equipment", "testing", START, END)


def test_substitutes_are_alike_in_capability_not_identical_in_tags() -> None:
    sem, sem_eds, oscilloscope, generic = {1, 2, 3}, {1, 2, 4}, {5, 3}, {3}
    pool = [sem, sem_eds, oscilloscope, generic, {6}, {7}, {3, 8}, {3, 9}]
    weights = booking_policy.tag_weights(pool)
    ranked = booking_policy.rank_substitutes(sem, {2: sem_eds, 3: oscilloscope, 4: generic}, weights)
    # An SEM with EDS stands in for an SEM though their tags differ; sharing one common tag is not enough.
    assert [rid for rid, _score in ranked] == [2]
    assert booking_policy.capability_similarity(sem, sem, weights) == pytest.approx(1.0)


def test_a_resource_alike_in_capability_is_offered_as_a_substitute_though_its_tags_differ(
    db: Session, world: World
) -> None:
    wanted = builders.get_or_create_resource(
        db,
        world.space1,
        world.host1,
        "sem-vision",
        price_cny=300,
        price_unit="hour",
        tags=["sem-imaging", "failure-analysis", "machine-vision"],
    )
    unlike = builders.get_or_create_resource(
        db, world.space1, world.host1, "camera", price_cny=50, price_unit="hour", tags=["machine-vision"]
    )
    db.commit()
    team = db.merge(world.team1)
    offered = ops.substitutes(db, who(db, world, "founder"), team, wanted, START, END, BEFORE)
    ids = [s["resource_id"] for s in offered]
    # The SEM does imaging and failure analysis too (two of the three capabilities): it stands in,
    # though it lacks machine vision. A camera sharing only machine vision does not.
    assert ids == [world.equipment1.id]
    assert unlike.id not in ids
