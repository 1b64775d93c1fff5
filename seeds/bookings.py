"""Booking rules, allowances, certificates and generated bookings of the demo spaces.

A bookable resource's rules follow from its kind, category and price unit, with the few exceptions its
data file names (``booking`` in ``seeds/data/spaces/*.json``). The generated bookings follow the
generated history: each booking interaction of a bookable resource becomes one booking on the resource's
slot grid, plus a few upcoming bookings. The rules are in HISTORY.md ("Booking"); every booking written
here is marked ``generated`` and is never real activity.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from matchmaker import booking_policy, pricing, slots
from matchmaker.operations.booking_rules import BOOKABLE, availability_of, certificate_problem, rules_of
from matchmaker.operations.bookings import ledger
from models import (
    ACTIVE_STATUSES,
    AdmissionStatus,
    Allowance,
    Availability,
    Blackout,
    Booking,
    BookingStatus,
    Certification,
    Charge,
    ChargeKind,
    Interaction,
    InteractionKind,
    Membership,
    Organization,
    Resource,
    Role,
    Space,
    Team,
)
from seeds import builders, history
from seeds.schema import BookingData

STAGES = ("nursery", "incubator", "accelerator")
NOTE = "演示数据（生成）/ generated demo data"
DAY = 24 * 60  # minutes

# Opening hours by name: (weekday, Monday 0; from; to) on the space's clock.
OPENING_HOURS: dict[str, tuple[tuple[int, str, str], ...]] = {
    "office": tuple((d, "09:00", "18:00") for d in range(5)),
    "extended": (*((d, "08:00", "22:00") for d in range(5)), (5, "09:00", "17:00")),
    "always": tuple((d, "00:00", "24:00") for d in range(7)),
    "desk": tuple((d, "08:00", "22:00") for d in range(7)),
    "meeting": tuple((d, "08:00", "21:00") for d in range(5)),
}
DEFAULT_RULES: dict[str, Any] = {
    "slot_minutes": 30,
    "min_minutes": 30,
    "max_minutes": 8 * 60,
    "lead_minutes": 0,
    "horizon_days": 60,
    "buffer_minutes": 0,
    "requires_certification": False,
    "certification_lapse_days": None,
    "requires_approval": False,
    "approval_hold_hours": 48,
    "free_cancel_hours": 24,
    "late_cancel_fee_percent": 50,
    "no_show_fee_percent": 100,
    "checkin_grace_minutes": 15,
    "open_to_other_spaces": False,
}
CERTIFICATE_LAPSE_DAYS = 180
# Per kind and stage: free hours a month, discount on the rest (%), most hours a month (None: no cap).
ALLOWANCES: dict[str, dict[str, tuple[int, int, int | None]]] = {
    "equipment": {"nursery": (8, 50, 40), "incubator": (4, 50, 80), "accelerator": (0, 30, None)},
    "pilot_line": {"nursery": (0, 30, 48), "incubator": (0, 30, 240), "accelerator": (0, 20, 480)},
    "workspace": {"nursery": (16, 50, None), "incubator": (8, 30, None), "accelerator": (4, 0, None)},
}
SHIFT_DAYS = 7  # how far a booking may move from the day of its interaction to find free time
BOOKED_AHEAD_HOURS = (2, 7 * 24)  # a booking is made this long before it starts (plus the lead time)
TRAINED_DAYS_BEFORE = (1, 14)  # a certificate is granted this long before the booking that needs it
UPCOMING_DAYS = 14
UPCOMING_PER_TEAM = (0, 1, 1, 2)  # drawn uniformly: how many upcoming bookings a resident team has
APPROVED_WITHIN_DAYS = 7  # upcoming pilot-line requests starting later still wait for the host


def booking_rules(
    kind: str, category: str, price_unit: str, capacity: int, extra: BookingData | None = None
) -> dict[str, Any]:
    """The ``Availability`` fields of one bookable resource (HISTORY.md, "Booking rules")."""
    rules = {**DEFAULT_RULES, "units": max(1, capacity)}
    if kind == "pilot_line":
        hours = "always"
        rules.update(
            slot_minutes=DAY,
            min_minutes=DAY,
            max_minutes=5 * DAY,
            buffer_minutes=DAY,
            lead_minutes=2 * DAY,
            horizon_days=120,
            requires_approval=True,
            approval_hold_hours=72,
            free_cancel_hours=7 * 24,
            checkin_grace_minutes=240,
        )
    elif kind == "workspace" and category == "meeting_room":
        hours = "meeting"
        rules.update(horizon_days=30, free_cancel_hours=2, late_cancel_fee_percent=0)
    elif kind == "workspace":
        hours = "desk"
        rules.update(
            slot_minutes=60,
            min_minutes=60,
            max_minutes=14 * 60,
            horizon_days=30,
            free_cancel_hours=2,
            late_cancel_fee_percent=0,
        )
    elif price_unit in ("day", "month"):
        hours = "always"
        rules.update(slot_minutes=60, min_minutes=60, max_minutes=7 * DAY)
    elif price_unit == "hour":
        hours = "office"
    else:  # priced per sample or session: the sample slot is an hour
        hours = "office"
        rules.update(slot_minutes=60, min_minutes=60)
    if extra is not None:
        hours = extra.hours or hours
        if extra.certification:
            rules.update(requires_certification=True, certification_lapse_days=CERTIFICATE_LAPSE_DAYS)
        rules["open_to_other_spaces"] = extra.open_to_other_spaces
    rules["weekly_hours"] = [{"weekday": d, "start": s, "end": e} for d, s, e in OPENING_HOURS[hours]]
    return rules


def configure(session: Session, space: Space, extras: Mapping[str, BookingData | None]) -> None:
    """Give each bookable resource of the space its rules and the space its allowances, keeping any
    already there (``extras``: the data file's exceptions by resource key)."""
    resources = _bookable(session, space)
    # One query puts the rules already there in the session, so the builder finds them without another.
    session.scalars(select(Availability).where(Availability.resource_id.in_([r.id for r in resources]))).all()
    for resource in resources:
        builders.get_or_create_availability(
            session,
            resource,
            **booking_rules(
                resource.kind.value,
                resource.category,
                resource.price_unit,
                resource.capacity,
                extras.get(resource.key),
            ),
        )
    for kind, stages in ALLOWANCES.items():
        for stage, (free, discount, cap) in stages.items():
            builders.get_or_create_allowance(
                session,
                space,
                kind,
                stage,
                free_hours_per_month=free,
                discount_percent=discount,
                max_hours_per_month=cap,
            )


def _bookable(session: Session, space: Space) -> list[Resource]:
    return list(
        session.scalars(
            select(Resource)
            .where(Resource.space_id == space.id, Resource.kind.in_(BOOKABLE), Resource.retired_at.is_(None))
            .order_by(Resource.id)
        )
    )


@dataclass
class _Calendar:
    """Which unit of one resource is taken when, as the generator fills it (kept sorted per unit)."""

    resource: Resource
    availability: Availability
    rules: slots.Rules
    taken: dict[int, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    closures: list[slots.Closure] = field(default_factory=list)

    def free_unit(self, start: datetime, end: datetime) -> int | None:
        blocked_until = end + self.rules.buffer
        for unit in range(1, self.rules.units + 1):
            if any(
                (c.unit is None or c.unit == unit) and slots.overlaps(c.start, c.end, start, end)
                for c in self.closures
            ):
                continue
            line = self.taken.get(unit, [])
            # Ranges of one unit never overlap, so only the last one starting before ours can reach it.
            i = bisect.bisect_left(line, blocked_until, key=lambda item: item[0])
            if i == 0 or line[i - 1][1] <= start:
                return unit
        return None

    def take(self, unit: int, start: datetime, blocked_until: datetime) -> None:
        bisect.insort(self.taken.setdefault(unit, []), (start, blocked_until))

    def open_throughout(self, start: datetime, end: datetime) -> bool:
        return any(s <= start and end <= e for s, e in slots.opening_intervals(self.rules, start, end))

    def starts_near(self, wish: datetime, days: int) -> Iterator[datetime]:
        """Slot starts inside opening hours on the wished day (nearest the wished clock time first,
        later before earlier), then on each following day in the same order."""
        zone = self.rules.zone
        local = wish.astimezone(zone)
        grid = slots.Occupancy(self.rules)
        for offset in range(days):
            day = local.date() + timedelta(days=offset)
            target = datetime.combine(day, local.time(), zone)
            day_starts = grid.grid(_midnight(day, zone), _midnight(day + timedelta(days=1), zone))
            yield from sorted(day_starts, key=lambda s: (abs(s - target), s < target))

    def place(
        self,
        wish: datetime,
        minutes: int,
        *,
        not_after: datetime,
        days: int,
        not_before: datetime | None = None,
    ) -> tuple[int, datetime] | None:
        """The first free (unit, start) for ``minutes`` near ``wish`` that ends by ``not_after``."""
        length = timedelta(minutes=minutes)
        for start in self.starts_near(wish, days):
            if (not_before is not None and start < not_before) or start + length > not_after:
                continue
            if self.open_throughout(start, start + length):
                unit = self.free_unit(start, start + length)
                if unit is not None:
                    return unit, start
        return None


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def booked_minutes(hours: float, availability: Availability) -> int:
    """The hours used, rounded up to whole slots and to at least the shortest booking."""
    slot = availability.slot_minutes
    return max(availability.min_minutes, math.ceil(hours * 60 / slot) * slot)


@dataclass(frozen=True)
class Made:
    past: int
    upcoming: int
    dropped: int
    certificates: int


@dataclass
class _Generator:
    space: Space
    rng: random.Random
    staff_id: int
    calendars: dict[int, _Calendar]
    teams: dict[int, Team]
    allowances: dict[tuple[str, str], pricing.Allowance]
    bookers: dict[tuple[int, int], int] = field(default_factory=dict)  # (team, resource) -> user
    certificates: dict[tuple[int, int], Certification] = field(default_factory=dict)  # (user, resource)
    usage: dict[tuple[int, str, str], list[int]] = field(default_factory=dict)  # -> [free, booked] minutes
    charges: list[tuple[Booking, dict[str, Any]]] = field(default_factory=list)
    used: dict[int, set[int]] = field(default_factory=dict)  # team -> resources it used in the history

    def booker(self, team: Team, resource: Resource) -> int | None:
        """The member who books this resource for the team: drawn once, then always the same."""
        key = (team.id, resource.id)
        if key not in self.bookers:
            members = sorted(team.members, key=lambda m: m.id)
            if not members:
                return None
            self.bookers[key] = self.rng.choice(members).user_id
        return self.bookers[key]

    def certified(self, user_id: int, calendar: _Calendar, now: datetime, *, train: bool) -> bool:
        """Whether the user may book now; with ``train`` a missing or lapsed certificate is (re)granted
        by the host staff shortly before, as the host's training would."""
        availability = calendar.availability
        if not availability.requires_certification:
            return True
        cert = self.certificates.get((user_id, calendar.resource.id))
        if cert is not None and certificate_problem(cert, availability, now) is None:
            return True
        if not train:
            return False
        granted = now - timedelta(days=self.rng.randint(*TRAINED_DAYS_BEFORE))
        if cert is None:
            cert = Certification(
                user_id=user_id, resource_id=calendar.resource.id, granted_by_id=self.staff_id
            )
            self.certificates[(user_id, calendar.resource.id)] = cert
        cert.granted_at, cert.last_used_at = granted, None
        return True

    def quote(
        self, team: Team, stage: str, resource: Resource, start: datetime, minutes: int
    ) -> tuple[pricing.Quote, str] | None:
        """The price as the booking operation quotes it, or None when it would break the monthly cap."""
        month = slots.local_month(start, self.space.timezone)
        allowance = self.allowances.get((resource.kind.value, stage), pricing.Allowance())
        free_used, booked = self.usage.get((team.id, resource.kind.value, month), [0, 0])
        try:
            return ledger.quote_within_cap(resource, minutes, allowance, free_used, booked, month), month
        except ledger.QuotaExceeded:
            return None

    def bill(self, booking: Booking, quote: pricing.Quote, month: str, at: datetime | None) -> dict[str, Any]:
        """The booking's usage line, as the booking operation writes it; returned for a refund."""
        booking.amount_cny, booking.free_minutes = quote.amount_cny, quote.free_minutes
        self._count(booking, month, quote.free_minutes, quote.minutes)
        kind = self.calendars[booking.resource_id].resource.kind.value
        usage = ledger.usage_line(booking.team_id, kind, quote, month, note=NOTE)
        self._add(booking, usage, at)
        return usage

    def refund(
        self, booking: Booking, usage: dict[str, Any], month: str, at: datetime, *, fee_percent: int
    ) -> None:
        """A no-show gets its charge back less the no-show fee, as the sweep that releases it does."""
        self._count(booking, month, -usage["free_minutes"], -usage["minutes"])
        note = f"{NOTE} · not checked in"
        self._add(booking, ledger.refund_line(usage, note=note), at)
        fee = pricing.late_cancel_fee(booking.amount_cny, fee_percent)
        if fee > 0:
            kind = self.calendars[booking.resource_id].resource.kind.value
            line = ledger.line(
                booking.team_id,
                kind,
                ChargeKind.NO_SHOW_FEE,
                month,
                amount=fee,
                minutes=0,
                free=0,
                note=note,
            )
            self._add(booking, line, at)

    def _count(self, booking: Booking, month: str, free: int, minutes: int) -> None:
        kind = self.calendars[booking.resource_id].resource.kind.value
        total = self.usage.setdefault((booking.team_id, kind, month), [0, 0])
        total[0] += free
        total[1] += minutes

    def _add(self, booking: Booking, fields: dict[str, Any], at: datetime | None) -> None:
        if at is not None:
            fields = {**fields, "created_at": at}
        self.charges.append((booking, fields))

    def past(self, interaction: Interaction, end_at: datetime) -> Booking | None:
        """The booking behind one generated booking interaction, or None when it cannot be placed."""
        if interaction.resource_id is None:
            return None
        calendar = self.calendars[interaction.resource_id]
        resource, availability = calendar.resource, calendar.availability
        team = self.teams[interaction.team_id]
        no_show = interaction.outcome == "no_show"
        hours = (
            float(self.rng.randint(*history.HOURS[resource.kind.value])) if no_show else interaction.quantity
        )
        minutes = booked_minutes(hours, availability)
        user_id = self.booker(team, resource)
        if minutes > availability.max_minutes or user_id is None:
            return None
        spot = calendar.place(interaction.occurred_at, minutes, not_after=end_at, days=SHIFT_DAYS)
        if spot is None:
            return None
        unit, start = spot
        stage = _stage_on(team, start)
        priced = self.quote(team, stage, resource, start, minutes) if stage in STAGES else None
        if priced is None:
            return None  # no longer resident by then, or over the month's cap
        ahead = timedelta(minutes=availability.lead_minutes, hours=self.rng.randint(*BOOKED_AHEAD_HOURS))
        made_at = start - ahead
        self.certified(user_id, calendar, made_at, train=True)
        end = start + timedelta(minutes=minutes)
        grace = start + timedelta(minutes=availability.checkin_grace_minutes)
        booking = self._booking(calendar, team, user_id, unit, start, end)
        booking.created_at = made_at
        released = no_show and booking_policy.released_as_no_show(
            resource.kind.value, resource.category, start, end
        )
        if no_show and not released:
            # A desk or a long booking nobody came to stays the team's and is paid: over, it is completed.
            booking.status, booking.updated_at = BookingStatus.COMPLETED, end
        elif no_show:
            booking.status, booking.updated_at = BookingStatus.NO_SHOW, grace
        else:
            booking.status = BookingStatus.COMPLETED
            booking.checked_in_at = start
            booking.checked_out_at = booking.updated_at = start + timedelta(hours=hours)
            cert = self.certificates.get((user_id, resource.id))
            if cert is not None and start >= cert.granted_at:  # checking in marks the certificate used
                cert.last_used_at = max(cert.last_used_at or start, start)
            self.used.setdefault(team.id, set()).add(resource.id)
        if availability.requires_approval:
            booking.decided_by_id = self.staff_id
        quote, month = priced
        usage = self.bill(booking, quote, month, made_at)
        if released:
            self.refund(booking, usage, month, grace, fee_percent=availability.no_show_fee_percent)
        return booking

    def upcoming(self, team: Team, now: datetime, until: datetime) -> Booking | None:
        """One upcoming booking of a resource the team used in the history, or None when none fits."""
        resource_id = self.rng.choice(sorted(self.used[team.id]))
        calendar = self.calendars[resource_id]
        resource, availability = calendar.resource, calendar.availability
        hours = self.rng.randint(*history.HOURS[resource.kind.value])
        wish = now + timedelta(days=self.rng.randrange(UPCOMING_DAYS), hours=9 + 9 * self.rng.random())
        user_id = self.booker(team, resource)
        if user_id is None or not self.certified(user_id, calendar, now, train=False):
            return None  # a member whose certificate lapsed does not book again before retraining
        minutes = booked_minutes(hours, availability)
        spot = calendar.place(
            wish,
            minutes,
            not_before=now + timedelta(minutes=availability.lead_minutes),
            not_after=min(until, now + timedelta(days=availability.horizon_days)),
            days=UPCOMING_DAYS,
        )
        if spot is None:
            return None
        unit, start = spot
        priced = self.quote(team, team.stage.value, resource, start, minutes)
        if priced is None:
            return None
        booking = self._booking(calendar, team, user_id, unit, start, start + timedelta(minutes=minutes))
        booking.status = BookingStatus.CONFIRMED
        if availability.requires_approval:
            if start < now + timedelta(days=APPROVED_WITHIN_DAYS):
                booking.decided_by_id = self.staff_id
            else:
                booking.status = BookingStatus.PENDING
                booking.hold_expires_at = min(now + timedelta(hours=availability.approval_hold_hours), start)
        if booking.status is BookingStatus.PENDING:
            # A request waiting for the host is quoted but not charged until approved.
            booking.amount_cny, booking.free_minutes = priced[0].amount_cny, priced[0].free_minutes
        else:
            self.bill(booking, *priced, None)
        return booking

    def _booking(
        self, calendar: _Calendar, team: Team, user_id: int, unit: int, start: datetime, end: datetime
    ) -> Booking:
        blocked_until = end + calendar.rules.buffer
        calendar.take(unit, start, blocked_until)
        return Booking(
            resource_id=calendar.resource.id,
            unit=unit,
            team_id=team.id,
            booked_by_id=user_id,
            starts_at=start,
            ends_at=end,
            blocked_until=blocked_until,
            note=NOTE,
            generated=True,
        )


def _stage_on(team: Team, moment: datetime) -> str | None:
    current = None
    for change in sorted(team.stage_changes, key=lambda c: c.changed_at):
        if change.changed_at <= moment:
            current = change.to_stage.value
    return current


def generate(
    session: Session, space: Space, *, rng: random.Random, end: date, today: date | None = None
) -> Made | None:
    """Write the space's generated bookings: one per booking interaction of the generated history
    (ending at ``end``), then upcoming ones in the two weeks after ``today`` (the load day by default).
    Does nothing, and returns None, when the space already has generated bookings."""
    exists = session.scalar(
        select(Booking.id)
        .join(Resource, Resource.id == Booking.resource_id)
        .where(Resource.space_id == space.id, Booking.generated.is_(True))
        .limit(1)
    )
    if exists is not None:
        return None
    zone = ZoneInfo(space.timezone)
    gen = _Generator(
        space=space,
        rng=rng,
        staff_id=_host_staff(session, space),
        calendars=_calendars(session, space),
        teams={
            t.id: t
            for t in session.scalars(
                select(Team)
                .where(Team.space_id == space.id)
                .options(selectinload(Team.members), selectinload(Team.stage_changes))
                .order_by(Team.id)
            )
        },
        allowances=_allowances(session, space),
    )
    interactions = list(
        session.scalars(
            select(Interaction)
            .where(
                Interaction.space_id == space.id,
                Interaction.generated.is_(True),
                Interaction.kind == InteractionKind.BOOKING,
                Interaction.resource_id.in_(gen.calendars),
            )
            .order_by(Interaction.occurred_at, Interaction.id)
        )
    )
    end_at = datetime(end.year, end.month, end.day, tzinfo=UTC)
    placed: list[tuple[Interaction, Booking]] = []
    for interaction in interactions:
        booking = gen.past(interaction, end_at)
        if booking is not None:
            placed.append((interaction, booking))

    first_day = max(today or datetime.now(zone).date(), end) + timedelta(days=1)
    now = _midnight(first_day, zone)
    upcoming: list[Booking] = []
    for team in gen.teams.values():
        if (
            team.admission_status is not AdmissionStatus.ADMITTED
            or team.stage.value not in STAGES
            or not gen.used.get(team.id)
        ):
            continue
        for _ in range(rng.choice(UPCOMING_PER_TEAM)):
            booking = gen.upcoming(team, now, now + timedelta(days=UPCOMING_DAYS))
            if booking is not None:
                upcoming.append(booking)

    session.add_all([b for _, b in placed] + upcoming)
    session.add_all(gen.certificates.values())
    session.flush()
    session.add_all([Charge(booking_id=b.id, **fields) for b, fields in gen.charges])
    for interaction, booking in placed:
        interaction.detail = {**interaction.detail, "booking_id": booking.id}
    session.flush()
    return Made(
        past=len(placed),
        upcoming=len(upcoming),
        dropped=len(interactions) - len(placed),
        certificates=len(gen.certificates),
    )


def _host_staff(session: Session, space: Space) -> int:
    """The host organisation's staff member who approves, trains and certifies."""
    user_id = session.scalar(
        select(Membership.user_id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(
            Membership.space_id == space.id,
            Membership.role == Role.HOST_STAFF,
            Organization.is_host.is_(True),
        )
        .order_by(Membership.id)
        .limit(1)
    )
    if user_id is None:
        raise ValueError(f"{space.slug}: no host staff to approve and certify the generated bookings")
    return user_id


def _calendars(session: Session, space: Space) -> dict[int, _Calendar]:
    """Every bookable resource's rules, with the active bookings and blackouts already there."""
    calendars = {}
    for resource in _bookable(session, space):
        availability = availability_of(session, resource)
        calendars[resource.id] = _Calendar(resource, availability, rules_of(resource, availability))
    for b in session.scalars(
        select(Booking)
        .where(Booking.resource_id.in_(calendars), Booking.status.in_(ACTIVE_STATUSES))
        .order_by(Booking.starts_at)
    ):
        calendars[b.resource_id].take(b.unit, b.starts_at, b.blocked_until)
    for blackout in session.scalars(
        select(Blackout).where(Blackout.resource_id.in_(calendars), Blackout.removed_at.is_(None))
    ):
        calendars[blackout.resource_id].closures.append(
            slots.Closure(blackout.starts_at, blackout.ends_at, blackout.unit, blackout.reason)
        )
    return calendars


def _allowances(session: Session, space: Space) -> dict[tuple[str, str], pricing.Allowance]:
    return {
        (a.resource_kind, a.stage): pricing.Allowance(
            a.free_hours_per_month * 60,
            a.discount_percent,
            None if a.max_hours_per_month is None else a.max_hours_per_month * 60,
        )
        for a in session.scalars(select(Allowance).where(Allowance.space_id == space.id))
    }
