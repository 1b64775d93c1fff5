"""Reading bookings: a resource's calendar, a space's week, a team's bookings, the host's equipment,
the ledger, the slot finder and the iCalendar feeds."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from matchmaker import slots
from matchmaker.errors import InvalidInput, NotFound
from matchmaker.operations.booking_rules import (
    BOOKABLE,
    NotCertified,
    active_bookings,
    availability_of,
    availability_out,
    blackout_out,
    blackouts_between,
    bookable_resource,
    check_certified,
    occupancy,
    rules_of,
    runnable_resource,
)
from matchmaker.operations.bookings import (
    QuotaExceeded,
    booking_out,
    candidate_resources,
    payloads,
    price_for,
    similar_resources,
    team_for_booking,
)
from matchmaker.operations.catalogue import ref as resource_ref
from matchmaker.operations.teams import ref as team_ref
from matchmaker.permissions import (
    Principal,
    can_book_for,
    can_run_resource,
)
from models import (
    ACTIVE_STATUSES,
    Availability,
    Booking,
    BookingStatus,
    CalendarFeed,
    Charge,
    Resource,
    Space,
    Tag,
    Team,
)
from models.base import utcnow

# What secrets.token_urlsafe makes, with room to spare; anything else cannot be a feed.
FEED_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")


def _range(start: datetime, end: datetime, *, most: timedelta = timedelta(days=42)) -> None:
    if end <= start:
        raise InvalidInput(
            "The end of the range must come after its start.",
            "范围的结束须晚于开始。",
            details={"fields": {"to": "before_from"}},
        )
    if end - start > most:
        raise InvalidInput(
            f"Ask for at most {most.days} days at a time.",
            f"每次最多查询 {most.days} 天。",
            details={"fields": {"to": "range_too_long"}},
        )


def calendar(
    session: Session, principal: Principal, resource_id: int, start: datetime, end: datetime
) -> dict[str, Any]:
    """A resource's opening hours, blackouts and bookings in [start, end). Everyone sees which slots are
    taken; the booking team and the resource's hosts also see who and why."""
    _range(start, end)
    resource = bookable_resource(session, principal, resource_id)
    availability = availability_of(session, resource)
    rules = rules_of(resource, availability)
    hosts = can_run_resource(principal, resource_ref(resource))
    bookings = active_bookings(session, [resource.id], start, end)
    return {
        "resource": {
            "id": resource.id,
            "name_zh": resource.name_zh,
            "name_en": resource.name_en,
            "space_id": resource.space_id,
            "kind": resource.kind.value,
        },
        "timezone": rules.timezone,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "rules": availability_out(availability),
        "opening": [
            {"starts_at": s.isoformat(), "ends_at": e.isoformat()}
            for s, e in slots.opening_intervals(rules, start, end)
        ],
        "blackouts": [blackout_out(b) for b in blackouts_between(session, [resource.id], start, end)],
        "bookings": [_calendar_entry(b, hosts or b.team_id in principal.teams) for b in bookings],
        "can_manage": hosts,
    }


# How far ahead a calendar looks for the first time that can be booked, when it is opened without a date.
FIRST_BOOKABLE_WITHIN = timedelta(days=120)


def first_bookable(
    session: Session, principal: Principal, resource_id: int, now: datetime | None = None
) -> datetime | None:
    """The start of the first slot, from now on, where the resource's shortest booking could be made
    (opening hours, lead time and horizon, blackouts and what is taken considered), or None when
    nothing is bookable within its horizon: where its calendar opens."""
    now = now or utcnow()
    resource = bookable_resource(session, principal, resource_id)
    rules = rules_of(resource, availability_of(session, resource))
    until = now + min(timedelta(days=rules.horizon_days), FIRST_BOOKABLE_WITHIN)
    occ = occupancy(session, resource, rules, now, until)
    return next(occ.free_starts(now, until, timedelta(minutes=rules.min_minutes), now), None)


def _calendar_entry(b: Booking, detailed: bool) -> dict[str, Any]:
    public, private = payloads(b)
    if detailed:
        return {**public, "mine": True, "team": private["team"], "series_id": b.series_id}
    return {**public, "mine": False}


def space_week(session: Session, principal: Principal, space_id: int, week: date) -> dict[str, Any]:
    """Every bookable resource of a space with its bookings and blackouts for one week (the managers'
    wall view). Public slot data only, plus team names for managers."""
    space = session.get(Space, space_id)
    if space is None:
        raise NotFound("space", "空间", space_id)
    zone = ZoneInfo(space.timezone)
    monday = slots.week_start(week)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    resources = list(
        session.scalars(
            select(Resource)
            .where(Resource.space_id == space_id, Resource.kind.in_(BOOKABLE), Resource.retired_at.is_(None))
            .order_by(Resource.kind, Resource.id)
        )
    )
    ids = [r.id for r in resources]
    manager = principal.is_manager_of(space_id)
    by_resource: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    rows = session.execute(
        select(
            Booking.id,
            Booking.resource_id,
            Booking.unit,
            Booking.starts_at,
            Booking.ends_at,
            Booking.blocked_until,
            Booking.status,
            Booking.team_id,
            Team.name_zh,
            Team.name_en,
        )
        .join(Team, Team.id == Booking.team_id)
        .join(Resource, Resource.id == Booking.resource_id)
        .where(
            Resource.space_id == space_id,
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.starts_at >= start - slots.MAX_BOOKING,
            Booking.starts_at < end,
            Booking.blocked_until > start,
        )
        .order_by(Booking.starts_at)
    )
    for row in rows:
        if row.resource_id not in by_resource:
            continue
        entry: dict[str, Any] = {
            "id": row.id,
            "unit": row.unit,
            "starts_at": row.starts_at.isoformat(),
            "ends_at": row.ends_at.isoformat(),
            "status": row.status.value,
        }
        if manager or row.team_id in principal.teams:
            entry["team"] = {"id": row.team_id, "name_zh": row.name_zh, "name_en": row.name_en}
        by_resource[row.resource_id].append(entry)
    closures: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for b in blackouts_between(session, ids, start, end):
        closures[b.resource_id].append(blackout_out(b))
    return {
        "space_id": space_id,
        "timezone": space.timezone,
        "week_of": monday.isoformat(),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "resources": [
            {
                "id": r.id,
                "name_zh": r.name_zh,
                "name_en": r.name_en,
                "kind": r.kind.value,
                "bookings": by_resource[r.id],
                "blackouts": closures[r.id],
            }
            for r in resources
        ],
    }


def team_bookings(
    session: Session,
    principal: Principal,
    team_id: int,
    *,
    start: datetime | None = None,
    include_past: bool = False,
    now: datetime | None = None,
) -> list[Booking]:
    now = now or utcnow()
    team = session.get(Team, team_id)
    if team is None or not can_book_for(principal, team_ref(team)):
        raise NotFound("team", "团队", team_id)
    query = (
        select(Booking)
        .where(Booking.team_id == team_id)
        .options(selectinload(Booking.resource), selectinload(Booking.booked_by), selectinload(Booking.team))
        .order_by(Booking.starts_at)
    )
    if not include_past:
        query = query.where(Booking.blocked_until > (start or now - timedelta(days=1)))
    return list(session.scalars(query.limit(500)))


def host_bookings(
    session: Session, principal: Principal, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The host's "my equipment": each bookable resource the principal runs, with what is pending
    approval and the bookings of the next two weeks."""
    now = now or utcnow()
    orgs = {o for _, o in principal.organizations}
    managed = {s for s, r in principal.roles if r == "manager"}
    if not orgs and not managed and not principal.is_admin:
        return []
    query = select(Resource).where(Resource.kind.in_(BOOKABLE), Resource.retired_at.is_(None))
    if not principal.is_admin:
        query = query.where(or_(Resource.organization_id.in_(orgs), Resource.space_id.in_(managed)))
    resources = list(
        session.scalars(
            query.options(selectinload(Resource.space)).order_by(Resource.space_id, Resource.id).limit(300)
        )
    )
    ids = [r.id for r in resources]
    bookings = (
        session.scalars(
            select(Booking)
            .where(
                Booking.resource_id.in_(ids),
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.blocked_until > now - timedelta(hours=12),
                Booking.starts_at < now + timedelta(days=14),
            )
            .options(
                selectinload(Booking.team), selectinload(Booking.booked_by), selectinload(Booking.resource)
            )
            .order_by(Booking.starts_at)
        ).all()
        if ids
        else []
    )
    grouped: dict[int, list[Booking]] = {i: [] for i in ids}
    for b in bookings:
        grouped[b.resource_id].append(b)
    return [
        {
            "resource": {
                "id": r.id,
                "name_zh": r.name_zh,
                "name_en": r.name_en,
                "space_id": r.space_id,
                "timezone": r.space.timezone,
            },
            "pending": [booking_out(b) for b in grouped[r.id] if b.status is BookingStatus.PENDING],
            "upcoming": [booking_out(b) for b in grouped[r.id] if b.status is not BookingStatus.PENDING],
        }
        for r in resources
    ]


def ledger(session: Session, principal: Principal, team_id: int) -> dict[str, Any]:
    team = session.get(Team, team_id)
    if team is None or not can_book_for(principal, team_ref(team)):
        raise NotFound("team", "团队", team_id)
    rows = list(
        session.scalars(
            select(Charge).where(Charge.team_id == team_id).order_by(Charge.created_at, Charge.id)
        )
    )
    return {
        "team_id": team_id,
        "balance_cny": str(sum((c.amount_cny for c in rows), Decimal(0))),
        "lines": [
            {
                "id": c.id,
                "booking_id": c.booking_id,
                "kind": c.kind.value,
                "amount_cny": str(c.amount_cny),
                "minutes": c.minutes,
                "free_minutes": c.free_minutes,
                "month": c.month,
                "resource_kind": c.resource_kind,
                "note": c.note,
                "created_at": c.created_at.isoformat(),
            }
            for c in rows
        ],
    }


def find_slots(
    session: Session,
    principal: Principal,
    *,
    team_id: int,
    minutes: int,
    start: datetime,
    end: datetime,
    tag: str | None = None,
    resource_id: int | None = None,
    limit: int = 10,
    now: datetime | None = None,
    substitutes: bool = True,
) -> list[dict[str, Any]]:
    """The earliest free slots of ``minutes`` on any equipment that can do ``tag`` (or on ``resource_id``
    and, with ``substitutes``, what can stand in for it), across the spaces the team may use, ranked by
    start time then price."""
    now = now or utcnow()
    _range(start, end, most=timedelta(days=31))
    team = team_for_booking(session, principal, team_id, lock=False)
    if resource_id is not None:
        wanted = bookable_resource(session, principal, resource_id)
        candidates = [wanted, *similar_resources(session, team, wanted)] if substitutes else [wanted]
    elif tag is not None:
        found = session.scalar(select(Tag).where(Tag.slug == tag))
        if found is None:
            raise InvalidInput(
                f"Unknown capability tag: {tag}.",
                f"未知的能力标签：{tag}。",
                details={"fields": {"tag": "unknown"}},
            )
        candidates = candidate_resources(session, team, {found.id})
    else:
        raise InvalidInput(
            "Name a capability tag or a resource.",
            "请指定能力标签或资源。",
            details={"fields": {"tag": "required"}},
        )
    length = timedelta(minutes=minutes)
    found_slots: list[dict[str, Any]] = []
    for resource in candidates:
        availability = availability_of(session, resource)
        if availability.requires_certification and not _certified_now(
            session, principal, resource, availability, now
        ):
            continue
        rules = rules_of(resource, availability)
        occ = occupancy(session, resource, rules, start, end)
        first = next(occ.free_starts(max(start, now), end, length, now), None)
        if first is None:
            continue
        try:
            quote, _ = price_for(session, team, resource, first, first + length)
        except QuotaExceeded:
            continue
        found_slots.append(
            {
                "resource": {
                    "id": resource.id,
                    "name_zh": resource.name_zh,
                    "name_en": resource.name_en,
                    "space_id": resource.space_id,
                },
                "starts_at": first.isoformat(),
                "ends_at": (first + length).isoformat(),
                "units_free": len(occ.free_units(first, first + length)),
                "quote": quote.as_dict(),
                "requires_approval": availability.requires_approval,
                "_key": (first, quote.amount_cny, resource.id),
            }
        )
    found_slots.sort(key=lambda s: s.pop("_key"))
    return found_slots[:limit]


def _certified_now(
    session: Session, principal: Principal, resource: Resource, availability: Availability, now: datetime
) -> bool:
    try:
        check_certified(session, principal, resource, availability, now)
    except NotCertified:
        return False
    return True


def feed_token(
    session: Session, principal: Principal, owner_kind: str, owner_id: int, *, rotate: bool = False
) -> str:
    """The secret token of a team's or resource's iCalendar address; rotating it kills the old address."""
    if owner_kind == "team":
        team = session.get(Team, owner_id)
        if team is None or not can_book_for(principal, team_ref(team)):
            raise NotFound("team", "团队", owner_id)
    else:
        runnable_resource(session, principal, owner_id, "subscribe to this resource's bookings")
    feed = session.scalar(
        select(CalendarFeed).where(CalendarFeed.owner_kind == owner_kind, CalendarFeed.owner_id == owner_id)
    )
    if feed is None:
        feed = CalendarFeed(owner_kind=owner_kind, owner_id=owner_id, token=secrets.token_urlsafe(32))
        session.add(feed)
    elif rotate:
        feed.token = secrets.token_urlsafe(32)
    session.flush()
    return feed.token


def feed_bookings(
    session: Session, token: str, now: datetime | None = None
) -> tuple[str, str, list[Booking]]:
    """(owner kind, title, bookings from 90 days back on) for a feed token; unknown tokens are 404."""
    now = now or utcnow()
    if not FEED_TOKEN.fullmatch(token):  # never a query: PostgreSQL refuses NUL, and nobody's token is long
        raise NotFound("calendar", "日历", "?")
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.token == token))
    if feed is None:
        raise NotFound("calendar", "日历", "?")
    column = Booking.team_id if feed.owner_kind == "team" else Booking.resource_id
    owner: Team | Resource | None = (
        session.get(Team, feed.owner_id)
        if feed.owner_kind == "team"
        else session.get(Resource, feed.owner_id)
    )
    title = f"{owner.name_zh} / {owner.name_en}" if owner is not None else ""
    bookings = list(
        session.scalars(
            select(Booking)
            .where(
                column == feed.owner_id,
                Booking.starts_at >= now - timedelta(days=90),
                Booking.status.in_((*ACTIVE_STATUSES, BookingStatus.CANCELLED)),
            )
            .options(selectinload(Booking.resource).selectinload(Resource.space), selectinload(Booking.team))
            .order_by(Booking.starts_at)
            .limit(5000)
        )
    )
    return feed.owner_kind, title, bookings
