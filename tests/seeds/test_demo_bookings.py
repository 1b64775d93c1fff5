"""The demo spaces' booking rules, allowances, certificates and generated bookings (HISTORY.md, "Booking")."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import booking_policy, slots
from matchmaker.operations.booking_rules import certificate_problem, rules_of
from models import (
    ACTIVE_STATUSES,
    Allowance,
    Availability,
    Booking,
    BookingStatus,
    Certification,
    Charge,
    Interaction,
    InteractionKind,
    Resource,
    Space,
    TeamMember,
    User,
)
from models.database import make_session_factory
from seeds import bookings, demo
from seeds.schema import ResourceData, load_space_file, load_vocabulary, space_files
from tests.conftest import _empty

# Every test here reads both demo spaces with their generated bookings, which take long to build.
pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 24)  # the day the demo is "loaded"; upcoming bookings follow it
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def loaded(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Both demo spaces, loaded once for this module (a load takes seconds), emptied afterwards."""
    factory = make_session_factory(engine)
    demo.load_demo(factory, today=TODAY)
    yield factory
    _empty(engine)


@pytest.fixture
def db(loaded: sessionmaker[Session]) -> Iterator[Session]:
    with loaded() as session:
        yield session


def _bookable(db: Session) -> list[Resource]:
    return [r for r in db.scalars(select(Resource).order_by(Resource.id)) if r.accepts_bookings]


def _rules(db: Session, resource: Resource) -> slots.Rules:
    return rules_of(resource, db.get_one(Availability, resource.id))


def test_every_bookable_demo_resource_has_booking_rules(db: Session) -> None:
    resources = _bookable(db)
    assert len(resources) > 80
    for resource in resources:
        availability = db.get(Availability, resource.id)
        assert availability is not None, resource.key
        assert availability.units == max(1, resource.capacity)
        assert availability.weekly_hours, resource.key
        assert availability.min_minutes % availability.slot_minutes == 0
        assert availability.max_minutes % availability.slot_minutes == 0


def test_pilot_lines_are_booked_in_whole_days_with_a_clearance_day_and_the_hosts_approval(
    db: Session,
) -> None:
    lines = [r for r in _bookable(db) if r.kind.value == "pilot_line"]
    assert len(lines) >= 4
    for line in lines:
        availability = db.get_one(Availability, line.id)
        assert len(availability.weekly_hours) == 7
        assert (availability.slot_minutes, availability.buffer_minutes) == (24 * 60, 24 * 60)
        assert availability.max_minutes == 5 * 24 * 60
        assert availability.requires_approval


def test_the_data_files_name_the_delicate_instruments_and_the_other_exceptions(db: Session) -> None:
    vocabulary = load_vocabulary()
    extras = {r.key: r.booking for p in space_files() for r in load_space_file(p, vocabulary).resources}
    certified = {key for key, extra in extras.items() if extra and extra.certification}
    assert 3 <= len(certified) <= 12  # a few delicate instruments, not every one that needs training
    for resource in _bookable(db):
        availability = db.get_one(Availability, resource.id)
        assert availability.requires_certification == (resource.key in certified), resource.key
        if resource.key in certified:
            assert availability.certification_lapse_days == bookings.CERTIFICATE_LAPSE_DAYS
        extra = extras.get(resource.key)
        if extra is not None and extra.hours is not None:
            expected = bookings.OPENING_HOURS[extra.hours]
            assert [(o["weekday"], o["start"], o["end"]) for o in availability.weekly_hours] == list(expected)
    open_ones = [r.key for r in _bookable(db) if db.get_one(Availability, r.id).open_to_other_spaces]
    assert open_ones == [key for key, extra in extras.items() if extra and extra.open_to_other_spaces]


def test_every_space_grants_allowances_for_every_bookable_kind_and_stage(db: Session) -> None:
    for space in db.scalars(select(Space)):
        rows = {
            (a.resource_kind, a.stage): a
            for a in db.scalars(select(Allowance).where(Allowance.space_id == space.id))
        }
        assert set(rows) == {
            (k, s) for k in ("equipment", "pilot_line", "workspace") for s in bookings.STAGES
        }
        for kind in ("equipment", "pilot_line", "workspace"):
            nursery, incubator, accelerator = (rows[kind, s] for s in bookings.STAGES)
            # Earlier stages get at least as many free hours and as big a discount.
            assert nursery.free_hours_per_month >= incubator.free_hours_per_month
            assert incubator.free_hours_per_month >= accelerator.free_hours_per_month
            assert nursery.discount_percent >= incubator.discount_percent >= accelerator.discount_percent


def test_no_two_active_bookings_of_one_unit_overlap(db: Session) -> None:
    rows = db.scalars(
        select(Booking)
        .where(Booking.status.in_(ACTIVE_STATUSES))
        .order_by(Booking.resource_id, Booking.unit, Booking.starts_at)
    ).all()
    assert len(rows) > 1000
    for before, after in pairwise(rows):
        if (before.resource_id, before.unit) == (after.resource_id, after.unit):
            assert before.blocked_until <= after.starts_at, (before.id, after.id)


def test_every_generated_booking_lies_on_its_resources_slot_grid_inside_opening_hours(db: Session) -> None:
    rules = {r.id: _rules(db, r) for r in _bookable(db)}
    rows = db.scalars(select(Booking)).all()
    assert rows and all(b.generated for b in rows)
    for b in rows:
        r = rules[b.resource_id]
        assert slots.is_aligned(r, b.starts_at) and slots.is_aligned(r, b.ends_at), b.id
        assert any(
            s <= b.starts_at and b.ends_at <= e for s, e in slots.opening_intervals(r, b.starts_at, b.ends_at)
        )
        assert r.min_minutes <= (b.ends_at - b.starts_at) / slots.MINUTE <= r.max_minutes
        assert b.blocked_until == b.ends_at + r.buffer
        assert 1 <= b.unit <= r.units


def test_each_booking_interaction_of_a_bookable_resource_has_its_booking(db: Session) -> None:
    bookable = {r.id for r in _bookable(db)}
    interactions = [
        i
        for i in db.scalars(select(Interaction).where(Interaction.kind == InteractionKind.BOOKING))
        if i.resource_id in bookable
    ]
    linked = [i for i in interactions if "booking_id" in i.detail]
    assert len(linked) >= 0.98 * len(interactions)  # the rest found no free time nearby and were left
    for i in linked:
        b = db.get_one(Booking, i.detail["booking_id"])
        assert (b.team_id, b.resource_id) == (i.team_id, i.resource_id)
        moved = b.starts_at.astimezone(ZONE).date() - i.occurred_at.astimezone(ZONE).date()
        assert timedelta(0) <= moved < timedelta(days=bookings.SHIFT_DAYS)
        if i.outcome == "no_show":
            assert b.checked_in_at is None
            kept = not booking_policy.released_as_no_show(
                b.resource.kind.value, b.resource.category, b.starts_at, b.ends_at
            )
            # A desk or a long booking nobody came to is kept (and paid), as the platform keeps it.
            assert b.status is (BookingStatus.COMPLETED if kept else BookingStatus.NO_SHOW)
        else:
            assert b.status is BookingStatus.COMPLETED
            assert b.checked_in_at == b.starts_at and b.checked_out_at is not None
            assert b.checked_out_at <= b.ends_at
            assert (b.checked_out_at - b.checked_in_at) / timedelta(hours=1) == pytest.approx(i.quantity)
    # Every past booking stands for one interaction.
    past = db.scalar(select(func.count(Booking.id)).where(Booking.starts_at < _day(demo.HISTORY_END)))
    assert past == len(linked)


def test_every_booking_is_made_by_a_member_of_its_team(db: Session) -> None:
    members = {(m.team_id, m.user_id) for m in db.scalars(select(TeamMember))}
    for b in db.scalars(select(Booking)):
        assert (b.team_id, b.booked_by_id) in members, b.id


def test_instruments_needing_a_certificate_are_booked_by_certified_members(db: Session) -> None:
    certified = [r for r in _bookable(db) if db.get_one(Availability, r.id).requires_certification]
    assert certified
    staff = {u.id for u in db.scalars(select(User).where(User.email.like("host@%")))}
    certificates = {(c.user_id, c.resource_id): c for c in db.scalars(select(Certification))}
    assert certificates and all(c.resource_id in {r.id for r in certified} for c in certificates.values())
    booked = db.scalars(select(Booking).where(Booking.resource_id.in_([r.id for r in certified]))).all()
    assert booked
    for b in booked:
        cert = certificates[b.booked_by_id, b.resource_id]
        assert cert.granted_by_id in staff
    for cert in certificates.values():
        theirs = [b for b in booked if (b.booked_by_id, b.resource_id) == (cert.user_id, cert.resource_id)]
        assert cert.granted_at < max(b.created_at for b in theirs)
        used = [b.checked_in_at for b in theirs if b.checked_in_at and b.checked_in_at >= cert.granted_at]
        assert cert.last_used_at == (max(used) if used else None)
    # Upcoming bookings of such instruments were made by holders of a certificate valid at the time.
    for b in booked:
        if b.status in (BookingStatus.CONFIRMED, BookingStatus.PENDING):
            availability = db.get_one(Availability, b.resource_id)
            moment = _day(TODAY + timedelta(days=1))
            assert (
                certificate_problem(certificates[b.booked_by_id, b.resource_id], availability, moment) is None
            )


def test_upcoming_bookings_fill_the_two_weeks_after_the_load_day(db: Session) -> None:
    upcoming = db.scalars(select(Booking).where(Booking.starts_at >= _day(demo.HISTORY_END))).all()
    assert 20 <= len(upcoming) <= 120
    kinds = Counter(b.resource.kind.value for b in upcoming)
    assert kinds["equipment"] and kinds["workspace"]
    days = {b.starts_at.astimezone(ZONE).date() for b in upcoming}
    assert min(days) > TODAY and max(days) <= TODAY + timedelta(days=bookings.UPCOMING_DAYS)
    for b in upcoming:
        availability = db.get_one(Availability, b.resource_id)
        assert b.status in (BookingStatus.CONFIRMED, BookingStatus.PENDING)
        if b.status is BookingStatus.PENDING:
            assert availability.requires_approval and b.decided_by_id is None
            assert b.hold_expires_at is not None and b.hold_expires_at <= b.starts_at
        elif availability.requires_approval:
            assert b.decided_by_id is not None
    spaces = {b.resource.space_id for b in upcoming}
    assert spaces == set(db.scalars(select(Space.id)))


def test_every_booking_is_charged_as_the_ledger_would_and_marked_generated(db: Session) -> None:
    charged: dict[int, list[Charge]] = {}
    for c in db.scalars(select(Charge)):
        assert c.note.startswith(bookings.NOTE)
        assert c.booking_id is not None
        charged.setdefault(c.booking_id, []).append(c)
    for b in db.scalars(select(Booking)):
        assert b.note == bookings.NOTE
        if b.status is BookingStatus.PENDING:
            assert b.id not in charged  # charged once the host approves
            continue
        lines = charged[b.id]
        total = sum(c.amount_cny for c in lines)
        minutes = int((b.ends_at - b.starts_at) / slots.MINUTE)
        assert lines[0].kind.value == "usage" and lines[0].minutes == minutes
        assert lines[0].amount_cny == b.amount_cny and lines[0].free_minutes == b.free_minutes
        # A no-show pays its no-show fee (the full price by default), never less than cancelling late.
        assert total == b.amount_cny


def test_loading_twice_adds_nothing_even_on_another_day(loaded: sessionmaker[Session]) -> None:
    first = _census(loaded)
    demo.load_demo(loaded, today=TODAY + timedelta(days=30))
    assert _census(loaded) == first
    assert first["bookings"] > 1000 and first["certifications"] > 10


def test_the_bookings_are_the_same_every_time(loaded: sessionmaker[Session]) -> None:
    before = _bookings(loaded)
    with loaded.begin() as session:
        for table in (Charge, Booking, Certification):
            session.execute(delete(table))
    with loaded.begin() as session:
        for space in session.scalars(select(Space).order_by(Space.id)):
            rng = random.Random(f"{demo.DEFAULT_SEED}:{space.slug}:bookings")
            bookings.generate(session, space, rng=rng, end=demo.HISTORY_END, today=TODAY)
    assert _bookings(loaded) == before


def test_a_data_file_asks_for_certificates_only_where_the_catalogue_needs_training() -> None:
    resource = {
        "key": "a-scope",
        "kind": "equipment",
        "category": "testing",
        "org": "host",
        "name_zh": "示波器",
        "name_en": "Scope",
        "description_zh": "示波器",
        "description_en": "A scope",
        "tags": ["failure-analysis"],
        "service_content_zh": "测试",
        "service_content_en": "Testing",
        "service_unit_zh": "实验室",
        "service_unit_en": "Lab",
        "price_unit": "hour",
        "booking": {"certification": True},
    }
    with pytest.raises(ValidationError, match="training"):
        ResourceData.model_validate(resource)
    assert ResourceData.model_validate({**resource, "attributes": {"requires_training": True}}).booking
    with pytest.raises(ValidationError, match="booking rules"):
        ResourceData.model_validate({**resource, "kind": "service", "category": "ip", "booking": {}})


def _day(day: date) -> datetime:
    """Local midnight at the start of ``day``."""
    return datetime.combine(day, time(), ZONE)


def _census(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {
            name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in {
                "bookings": Booking,
                "availabilities": Availability,
                "allowances": Allowance,
                "certifications": Certification,
                "charges": Charge,
                "interactions": Interaction,
                "users": User,
            }.items()
        }


def _bookings(factory: sessionmaker[Session]) -> list[tuple[object, ...]]:
    with factory() as session:
        rows = session.scalars(select(Booking).order_by(Booking.resource_id, Booking.unit, Booking.starts_at))
        return [
            (
                b.resource_id,
                b.unit,
                b.team_id,
                b.booked_by_id,
                b.starts_at,
                b.ends_at,
                b.status,
                b.amount_cny,
                b.free_minutes,
                b.checked_out_at,
            )
            for b in rows
        ]
