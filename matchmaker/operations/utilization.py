"""The cockpit's figures for one space and period: the database sums bookings, check-ins, cancellations,
blackouts and waits per resource in a few grouped statements, and ``matchmaker.utilization`` turns the
sums into ratios. Each source of figures is one function here (bookings, teams, mentors, funds, tasks);
a new source (mentor sessions, deals, fund deployments, task deliveries) is one more.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from matchmaker import slots, utilization
from matchmaker.errors import Forbidden, NotFound
from matchmaker.operations import teams
from matchmaker.operations.booking_rules import DEFAULT_HOURS
from matchmaker.permissions import Principal, can_see_cockpit
from models import (
    AdmissionStatus,
    Availability,
    Blackout,
    Booking,
    BookingStatus,
    Deal,
    DealStage,
    Introduction,
    Investment,
    MentorSession,
    MentorSessionStatus,
    Resource,
    ResourceKind,
    Space,
    Stage,
    Tag,
    Task,
    TaskMilestone,
    TaskStatus,
    Team,
    WaitlistEntry,
    WaitlistStatus,
)
from models.base import UTCDateTime, utcnow
from models.mentoring import BUSY_SESSION_STATUSES
from models.resources import resource_tags
from models.teams import team_tags

BOOKABLE = (ResourceKind.EQUIPMENT, ResourceKind.PILOT_LINE, ResourceKind.WORKSPACE)
# A booking the space granted: it took the slot from everyone else.
GRANTED = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
ATTENDED = (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)
RESIDENT_STAGES = (Stage.NURSERY, Stage.INCUBATOR, Stage.ACCELERATOR)
DEFAULT_PERIOD_DAYS = 30
DEFAULT_FREE_CANCEL_HOURS = (
    24  # what a resource nobody configured allows (booking_rules.default_availability)
)


def managed_space(session: Session, principal: Principal, space_id: int) -> Space:
    space = session.get(Space, space_id)
    if space is None:
        raise NotFound("space", "空间", space_id)
    if not can_see_cockpit(principal, space_id):
        raise Forbidden("see this space's cockpit", "查看该空间的运营数据")
    return space


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    start: datetime
    end: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "starts_at": self.start.isoformat(),
            "ends_at": self.end.isoformat(),
        }


def period_of(space: Space, first: date | None, last: date | None, now: datetime | None = None) -> Period:
    """The local days asked for; by default the last thirty days up to today on the space's clock."""
    today = teams.local_today(space, now)
    last = last or (today if first is None else max(first, today))
    first = first or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    start, end = utilization.period_bounds(first, last, space.timezone)
    return Period(first, last, start, end)


# Dialect-neutral SQL pieces ----------------------------------------------------------------------


def _moment(session: Session, value: datetime) -> ColumnElement[datetime]:
    return literal(value, UTCDateTime())


def _epoch(session: Session, column: Any) -> ColumnElement[Any]:
    """Seconds since 1970 of a stored moment, computed by the database (SQLite keeps UTC text)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column)
    if sqlite3.sqlite_version_info >= (3, 38):
        return func.unixepoch(column)
    return func.julianday(column) * 86400.0


def _seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """``later − earlier`` in seconds, computed by the database."""
    return _epoch(session, later) - _epoch(session, earlier)


def _hour(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC hour a moment falls in. SQLite stores moments as UTC text ``YYYY-MM-DD HH:MM:SS``
    (``models.base.UTCDateTime``), so the hour is its first 13 characters."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", column))
    return func.substr(column, 1, 13)


def _utc_hour(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = str(value)  # "YYYY-MM-DD HH", sliced rather than parsed: thousands of them per answer
    return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), tzinfo=UTC)


# Source: bookings ---------------------------------------------------------------------------------


@dataclass
class _Sums:
    booked_s: float = 0.0
    used_s: float = 0.0
    bookings: int = 0
    due: int = 0
    no_shows: int = 0
    made: int = 0
    late: int = 0


def _used_range(
    status: BookingStatus,
    starts: datetime,
    ends: datetime,
    checked_in: datetime | None,
    checked_out: datetime | None,
) -> tuple[datetime, datetime] | None:
    if status not in ATTENDED or checked_in is None:
        return None
    return checked_in, checked_out or ends


def _clipped(lo: datetime, hi: datetime, period: Period) -> float:
    return max(0.0, (min(hi, period.end) - max(lo, period.start)).total_seconds())


def _free_cancel_seconds(session: Session, space: Space) -> ColumnElement[Any]:
    """Each resource's free-cancellation window in seconds, as a CASE over the booking's resource:
    read once, so the scan of the bookings needs no join to the rules."""
    rows = session.execute(
        select(Availability.resource_id, Availability.free_cancel_hours)
        .join(Resource, Resource.id == Availability.resource_id)
        .where(Resource.space_id == space.id)
    ).all()
    default = DEFAULT_FREE_CANCEL_HOURS * 3600
    if not rows:
        return literal(default)
    return case({rid: hours * 3600 for rid, hours in rows}, value=Booking.resource_id, else_=default)


def booking_sums(session: Session, space: Space, period: Period) -> dict[int, _Sums]:
    """Per resource: one grouped scan of the bookings that start in the period (summed whole, by
    status), then the few that cross the period's edges are clipped here, row by row."""
    starts_inside = and_(Booking.starts_at >= period.start, Booking.starts_at < period.end)
    duration = _seconds(session, Booking.ends_at, Booking.starts_at)
    used = case(
        (
            and_(Booking.status.in_(ATTENDED), Booking.checked_in_at.is_not(None)),
            _seconds(session, func.coalesce(Booking.checked_out_at, Booking.ends_at), Booking.checked_in_at),
        ),
        else_=0,
    )
    now = min(utcnow(), period.end)
    late = and_(
        Booking.status == BookingStatus.CANCELLED,
        Booking.cancelled_at.is_not(None),
        _seconds(session, Booking.starts_at, Booking.cancelled_at) < _free_cancel_seconds(session, space),
    )
    rows = session.execute(
        select(
            Booking.resource_id,
            Booking.status,
            func.count(),
            func.sum(duration),
            func.sum(used),
            func.sum(case((Booking.starts_at < _moment(session, now), 1), else_=0)),
            func.sum(case((late, 1), else_=0)),
        )
        .join(Resource, Resource.id == Booking.resource_id)
        .where(Resource.space_id == space.id, starts_inside)
        .group_by(Booking.resource_id, Booking.status)
    )
    sums: dict[int, _Sums] = {}
    for rid, status, count, seconds, used_s, due, late_n in rows:
        acc = sums.setdefault(rid, _Sums())
        acc.made += int(count)
        acc.late += int(late_n or 0)
        if status in GRANTED:
            acc.booked_s += float(seconds or 0)
            acc.used_s += float(used_s or 0)
            acc.bookings += int(count)
            acc.due += int(due or 0)
            if status is BookingStatus.NO_SHOW:
                acc.no_shows += int(count)
    # Bookings that cross an edge: their minutes outside the period do not count.
    edges = session.execute(
        select(
            Booking.resource_id,
            Booking.status,
            Booking.starts_at,
            Booking.ends_at,
            Booking.checked_in_at,
            Booking.checked_out_at,
        )
        .join(Resource, Resource.id == Booking.resource_id)
        .where(Resource.space_id == space.id, Booking.status.in_(GRANTED))
        .where(
            or_(
                and_(
                    Booking.starts_at >= period.start - slots.MAX_BOOKING,
                    Booking.starts_at < period.start,
                    Booking.ends_at > period.start,
                ),
                and_(
                    Booking.starts_at >= period.end - slots.MAX_BOOKING,
                    Booking.starts_at < period.end,
                    Booking.ends_at > period.end,
                ),
            )
        )
    )
    for rid, status, b_start, b_end, checked_in, checked_out in edges:
        acc = sums.setdefault(rid, _Sums())
        inside = period.start <= b_start < period.end
        whole = (b_end - b_start).total_seconds() if inside else 0.0
        acc.booked_s += _clipped(b_start, b_end, period) - whole
        used_range = _used_range(status, b_start, b_end, checked_in, checked_out)
        if used_range is not None:
            used_whole = (used_range[1] - used_range[0]).total_seconds() if inside else 0.0
            acc.used_s += _clipped(*used_range, period) - used_whole
    return sums


def booking_usages(session: Session, space: Space, period: Period) -> list[utilization.Usage]:
    """One row per bookable resource of the space, summed by the database, with its capacity."""
    by_resource = booking_sums(session, space, period)
    resources = session.execute(
        select(Resource.id, Resource.kind, Resource.capacity, Availability.weekly_hours, Availability.units)
        .outerjoin(Availability, Availability.resource_id == Resource.id)
        .where(Resource.space_id == space.id, Resource.kind.in_(BOOKABLE))
        .where(or_(Resource.retired_at.is_(None), Resource.retired_at > period.start))
        .order_by(Resource.id)
    ).all()
    tags: dict[int, list[str]] = {}
    for rid, slug in session.execute(
        select(resource_tags.c.resource_id, Tag.slug)
        .join(Tag, Tag.id == resource_tags.c.tag_id)
        .join(Resource, Resource.id == resource_tags.c.resource_id)
        .where(Resource.space_id == space.id, Resource.kind.in_(BOOKABLE))
        .order_by(Tag.slug)
    ):
        tags.setdefault(rid, []).append(slug)
    closures: dict[int, list[slots.Closure]] = {}
    for rid, unit, b_start, b_end in session.execute(
        select(Blackout.resource_id, Blackout.unit, Blackout.starts_at, Blackout.ends_at)
        .join(Resource, Resource.id == Blackout.resource_id)
        .where(Resource.space_id == space.id, Blackout.removed_at.is_(None))
        .where(Blackout.starts_at < period.end, Blackout.ends_at > period.start)
    ):
        closures.setdefault(rid, []).append(slots.Closure(b_start, b_end, unit))
    # Resources with the same weekly hours share their opening intervals over the period.
    openings: dict[tuple[slots.Opening, ...], list[tuple[datetime, datetime]]] = {}
    out: list[utilization.Usage] = []
    for rid, kind, resource_capacity, weekly_hours, units in resources:
        hours = weekly_hours if weekly_hours is not None else list(DEFAULT_HOURS)
        rules = slots.Rules(
            timezone=space.timezone,
            weekly_hours=tuple(slots.Opening.parse(o) for o in hours),
            units=units if units is not None else max(1, resource_capacity),
        )
        if rules.weekly_hours not in openings:
            openings[rules.weekly_hours] = slots.opening_intervals(rules, period.start, period.end)
        cap = utilization.capacity(
            rules, period.start, period.end, closures.get(rid, ()), opening=openings[rules.weekly_hours]
        )
        acc = by_resource.get(rid, _Sums())
        out.append(
            utilization.Usage(
                resource_id=rid,
                kind=kind.value,
                tags=tuple(tags.get(rid, ())),
                capacity=cap,
                booked_minutes=round(acc.booked_s) // 60,
                used_minutes=round(acc.used_s) // 60,
                bookings=acc.bookings,
                due=acc.due,
                no_shows=acc.no_shows,
                made=acc.made,
                late_cancellations=acc.late,
            )
        )
    return out


def hourly(session: Session, space: Space, period: Period) -> list[tuple[datetime, int, float]]:
    """Granted bookings starting in each UTC hour of the period and their booked minutes (the wall
    clock places them later: a day or an hour of the week is local)."""
    hour = _hour(session, Booking.starts_at)
    rows = session.execute(
        select(hour, func.count(), func.sum(_seconds(session, Booking.ends_at, Booking.starts_at)) / 60.0)
        .join(Resource, Resource.id == Booking.resource_id)
        .where(Resource.space_id == space.id, Booking.status.in_(GRANTED))
        .where(Booking.starts_at >= period.start, Booking.starts_at < period.end)
        .group_by(hour)
    )
    return [(_utc_hour(moment), int(count), float(minutes or 0)) for moment, count, minutes in rows]


# Source: teams ------------------------------------------------------------------------------------


def _resident(space: Space) -> ColumnElement[bool]:
    return and_(
        Team.space_id == space.id,
        Team.admission_status == AdmissionStatus.ADMITTED,
        Team.stage.in_(RESIDENT_STAGES),
    )


def idle_teams(session: Session, space: Space, period: Period, limit: int = 50) -> list[dict[str, Any]]:
    """Resident teams that booked nothing in the sixty days up to the period's end."""
    since = utilization.idle_since(period.end)
    booked = exists().where(
        Booking.team_id == Team.id,
        Booking.status.in_(GRANTED),
        Booking.starts_at >= since,
        Booking.starts_at < period.end,
    )
    rows = session.execute(
        select(Team.id, Team.name_zh, Team.name_en, Team.stage)
        .where(_resident(space), ~booked)
        .order_by(Team.id)
        .limit(limit)
    )
    return [{"id": tid, "name_zh": zh, "name_en": en, "stage": stage.value} for tid, zh, en, stage in rows]


def stage_funnel(session: Session, space: Space) -> dict[str, int]:
    """Admitted teams per stage of the incubation chain, in its order."""
    counts = dict(
        session.execute(
            select(Team.stage, func.count())
            .where(Team.space_id == space.id, Team.admission_status == AdmissionStatus.ADMITTED)
            .group_by(Team.stage)
        ).all()
    )
    return {stage.value: int(counts.get(stage, 0)) for stage in Stage}


# Sources: mentors, funds and tasks as profiles and rows --------------------------------------------


def mentor_loads(session: Session, space: Space, period: Period) -> list[dict[str, Any]]:
    """Each unretired mentor of the space: the hours the profile offers over the period (monthly hours
    scaled to its length), and the hours of sessions starting in the period, delivered (as reported,
    else as scheduled) and still scheduled, summed by the database per mentor."""
    months = utilization.months_between(period.start, period.end)
    mentors = session.execute(
        select(Resource.id, Resource.name_zh, Resource.name_en, Resource.attributes)
        .where(
            Resource.space_id == space.id, Resource.kind == ResourceKind.MENTOR, Resource.retired_at.is_(None)
        )
        .order_by(Resource.id)
    ).all()
    length_h = _seconds(session, MentorSession.ends_at, MentorSession.starts_at) / 3600.0
    delivered = MentorSession.status == MentorSessionStatus.DELIVERED
    sums = {
        mid: (float(done or 0), float(planned or 0))
        for mid, done, planned in session.execute(
            select(
                MentorSession.mentor_id,
                func.sum(case((delivered, func.coalesce(MentorSession.hours_delivered, length_h)), else_=0)),
                func.sum(case((MentorSession.status == MentorSessionStatus.SCHEDULED, length_h), else_=0)),
            )
            .join(Resource, Resource.id == MentorSession.mentor_id)
            .where(Resource.space_id == space.id, MentorSession.status.in_(BUSY_SESSION_STATUSES))
            .where(MentorSession.starts_at >= period.start, MentorSession.starts_at < period.end)
            .group_by(MentorSession.mentor_id)
        )
    }
    offered = utilization.mentor_capacity_hours(
        {mid: int((attrs or {}).get("monthly_hours", 8) or 0) for mid, _, _, attrs in mentors}, months
    )
    out = []
    for mid, zh, en, _ in mentors:
        done, planned = sums.get(mid, (0.0, 0.0))
        load = utilization.MentorLoad(mid, offered[mid], round(done, 2), round(planned, 2))
        out.append({"load": load, "name_zh": zh, "name_en": en})
    return out


def _mentor_out(item: dict[str, Any]) -> dict[str, Any]:
    load: utilization.MentorLoad = item["load"]
    return {
        "id": load.mentor_id,
        "name_zh": item["name_zh"],
        "name_en": item["name_en"],
        "capacity_hours": load.capacity_hours,
        "delivered_hours": load.delivered_hours,
        "scheduled_hours": load.scheduled_hours,
        "delivery": load.delivery,
        "status": load.status,
    }


def mentor_capacity(session: Session, space: Space, period: Period) -> dict[str, Any]:
    """Mentor hours delivered against what the profiles offer, per mentor and in total, and the mentors
    a manager acts on: over capacity or under it."""
    items = mentor_loads(session, space, period)
    loads = [i["load"] for i in items]
    by_id = {i["load"].mentor_id: i for i in items}
    capacity = round(sum(m.capacity_hours for m in loads), 2)
    delivered = round(sum(m.delivered_hours for m in loads), 2)
    return {
        "mentors": len(loads),
        "capacity_hours": capacity,
        "delivered_hours": delivered,
        "scheduled_hours": round(sum(m.scheduled_hours for m in loads), 2),
        "delivery": utilization.ratio(delivered, capacity),
        "items": [_mentor_out(i) for i in items],
        "to_act_on": [_mentor_out(by_id[m.mentor_id]) for m in utilization.mentors_to_act_on(loads)],
    }


def fund_deployment(session: Session, space: Space, period: Period) -> dict[str, Any]:
    """Each unretired fund of the space: its size (the profile's), what it deployed in the period and
    up to the period's last day (investments by their date, summed by the database), and deployed ÷
    size."""
    funds = session.execute(
        select(Resource.id, Resource.name_zh, Resource.name_en, Resource.attributes)
        .where(
            Resource.space_id == space.id, Resource.kind == ResourceKind.FUND, Resource.retired_at.is_(None)
        )
        .order_by(Resource.id)
    ).all()
    in_period = and_(Investment.invested_on >= period.first, Investment.invested_on <= period.last)
    sums = {
        fid: (float(during or 0), float(upto or 0))
        for fid, during, upto in session.execute(
            select(
                Investment.fund_id,
                func.sum(case((in_period, Investment.amount_10k_cny), else_=0)),
                func.sum(Investment.amount_10k_cny),
            )
            .join(Resource, Resource.id == Investment.fund_id)
            .where(Resource.space_id == space.id, Investment.invested_on <= period.last)
            .group_by(Investment.fund_id)
        )
    }
    items = []
    for fid, zh, en, attrs in funds:
        size = float((attrs or {}).get("fund_size_10k_cny") or 0)
        during, upto = sums.get(fid, (0.0, 0.0))
        items.append(
            {
                "id": fid,
                "name_zh": zh,
                "name_en": en,
                "size_10k_cny": round(size, 2),
                "deployed_in_period_10k_cny": round(during, 2),
                "deployed_10k_cny": round(upto, 2),
                "deployed_share": utilization.deployment_share(upto, size),
            }
        )
    size = round(sum(i["size_10k_cny"] for i in items), 2)
    deployed = round(sum(i["deployed_10k_cny"] for i in items), 2)
    return {
        "funds": len(items),
        "size_10k_cny": size,
        "deployed_in_period_10k_cny": round(sum(i["deployed_in_period_10k_cny"] for i in items), 2),
        "deployed_10k_cny": deployed,
        "deployed_share": utilization.deployment_share(deployed, size),
        "items": items,
    }


def deal_flow(session: Session, space: Space, period: Period) -> dict[str, Any]:
    """Introductions asked for in the period and where they stand now, and the deals opened in the
    period by their pipeline stage, counted by the database."""
    by_status = {
        status.value: int(n)
        for status, n in session.execute(
            select(Introduction.status, func.count())
            .where(Introduction.space_id == space.id)
            .where(Introduction.created_at >= period.start, Introduction.created_at < period.end)
            .group_by(Introduction.status)
        )
    }
    by_stage = {
        stage.value: int(n)
        for stage, n in session.execute(
            select(Deal.stage, func.count())
            .where(Deal.space_id == space.id)
            .where(Deal.created_at >= period.start, Deal.created_at < period.end)
            .group_by(Deal.stage)
        )
    }
    return {
        "introductions": utilization.introduction_outcomes(by_status),
        "deals": utilization.pipeline(by_stage, [s.value for s in DealStage]),
    }


def fund_size(session: Session, space: Space) -> dict[str, Any]:
    """The funds of the space as profiles: how many and their total size (10,000 CNY)."""
    rows = session.execute(
        select(Resource.attributes).where(
            Resource.space_id == space.id, Resource.kind == ResourceKind.FUND, Resource.retired_at.is_(None)
        )
    ).scalars()
    sizes = [float((a or {}).get("fund_size_10k_cny") or 0) for a in rows]
    return {"funds": len(sizes), "size_10k_cny": round(sum(sizes), 2)}


def task_counts(session: Session, space: Space, period: Period) -> dict[str, int]:
    """Tasks published in the period (drafts are not posted yet), how many were awarded and completed,
    and their milestones delivered, on time (on or before the local due day) or not."""
    rows = dict(
        session.execute(
            select(Task.status, func.count())
            .where(
                Task.space_id == space.id,
                Task.status != TaskStatus.DRAFT,
                Task.created_at >= period.start,
                Task.created_at < period.end,
            )
            .group_by(Task.status)
        ).all()
    )
    delivered = session.execute(
        select(TaskMilestone.due_on, TaskMilestone.delivered_at)
        .join(Task, Task.id == TaskMilestone.task_id)
        .where(
            Task.space_id == space.id,
            TaskMilestone.delivered_at.is_not(None),
            TaskMilestone.delivered_at >= period.start,
            TaskMilestone.delivered_at < period.end,
        )
    ).all()
    zone = ZoneInfo(space.timezone)
    on_time = sum(1 for due, at in delivered if at is not None and at.astimezone(zone).date() <= due)
    return {
        "posted": int(sum(rows.values())),
        "awarded": int(
            sum(rows.get(s, 0) for s in (TaskStatus.AWARDED, TaskStatus.IN_DELIVERY, TaskStatus.COMPLETED))
        ),
        "completed": int(rows.get(TaskStatus.COMPLETED, 0)),
        "milestones_delivered": len(delivered),
        "milestones_on_time": on_time,
    }


# Unmet demand -------------------------------------------------------------------------------------


# Examples of evidence a suggestion lists; the counts cover every sign.
MAX_DEMAND_EXAMPLES = 50


def demand_signs(space: Space, period: Period) -> CTE:
    """One row per sign of unmet demand and capability it points at: refused and expired requests and
    waits that never became a booking (one row for each tag of the resource), and resident teams' needs
    that no offered capability meets. ``source_id`` is the booking's or the wait's id, so the examples
    of a kind keep the order in which the signs were made."""
    kind = case((Booking.status == BookingStatus.REJECTED, literal("refused")), else_=literal("expired"))
    refusals = (
        select(
            kind.label("kind"),
            Tag.slug.label("tag"),
            Booking.team_id.label("team_id"),
            Booking.resource_id.label("resource_id"),
            Booking.starts_at.label("at"),
            Booking.id.label("source_id"),
        )
        .join(Resource, Resource.id == Booking.resource_id)
        .join(resource_tags, resource_tags.c.resource_id == Resource.id)
        .join(Tag, Tag.id == resource_tags.c.tag_id)
        .where(Resource.space_id == space.id)
        .where(Booking.status.in_((BookingStatus.REJECTED, BookingStatus.EXPIRED)))
        .where(Booking.starts_at >= period.start, Booking.starts_at < period.end)
    )
    never_cleared = or_(
        WaitlistEntry.status.in_((WaitlistStatus.LAPSED, WaitlistStatus.OFFERED)),
        and_(WaitlistEntry.status == WaitlistStatus.WAITING, WaitlistEntry.ends_at <= utcnow()),
    )
    waits = (
        select(
            literal("waitlist"),
            Tag.slug,
            WaitlistEntry.team_id,
            WaitlistEntry.resource_id,
            WaitlistEntry.starts_at,
            WaitlistEntry.id,
        )
        .join(Resource, Resource.id == WaitlistEntry.resource_id)
        .join(resource_tags, resource_tags.c.resource_id == Resource.id)
        .join(Tag, Tag.id == resource_tags.c.tag_id)
        .where(Resource.space_id == space.id, never_cleared)
        .where(WaitlistEntry.starts_at >= period.start, WaitlistEntry.starts_at < period.end)
    )
    needs = (
        select(
            literal("no_resource"),
            Tag.slug,
            team_tags.c.team_id,
            null().cast(Booking.resource_id.type),
            null().cast(UTCDateTime()),
            team_tags.c.team_id,  # a team needs a capability once
        )
        .join(Tag, Tag.id == team_tags.c.tag_id)
        .join(Team, Team.id == team_tags.c.team_id)
        .where(_resident(space), Tag.slug.not_in(_offered_tags(space)))
    )
    return union_all(refusals, waits, needs).cte("demand_signs")


def _offered_tags(space: Space) -> Select[str]:
    """Capabilities some bookable, unretired resource of the space offers."""
    return (
        select(Tag.slug)
        .join(resource_tags, resource_tags.c.tag_id == Tag.id)
        .join(Resource, Resource.id == resource_tags.c.resource_id)
        .where(Resource.space_id == space.id, Resource.kind.in_(BOOKABLE), Resource.retired_at.is_(None))
        .distinct()
    )


@dataclass(frozen=True)
class DemandFigures:
    """The unmet demand of a period: per capability, the totals per kind, and each capability's examples."""

    by_tag: list[utilization.Demand]
    totals: dict[str, int]
    examples: dict[str, list[dict[str, Any]]]


def demand_figures(session: Session, signs: CTE) -> DemandFigures:
    """In one statement, so the signs are gathered once: the signs per capability and kind, the distinct
    teams behind each capability's signs, the distinct signs per kind (a refused booking on a resource
    with three tags is one refusal), and the first ``MAX_DEMAND_EXAMPLES`` signs of each capability by
    kind, team, resource and the order in which they were made. A capability left out of the
    suggestions has fewer signs than ``utilization.MIN_DEMAND_EVIDENCE``, so its examples cost little."""
    place = func.row_number().over(
        partition_by=signs.c.tag,
        order_by=(signs.c.kind, signs.c.team_id, func.coalesce(signs.c.resource_id, 0), signs.c.source_id),
    )
    ranked = select(
        signs.c.tag, signs.c.kind, signs.c.team_id, signs.c.resource_id, signs.c.at, place.label("n")
    ).subquery()
    examples = select(
        literal("example").label("part"),
        ranked.c.tag,
        ranked.c.kind,
        ranked.c.team_id,
        ranked.c.resource_id,
        ranked.c.at,
        ranked.c.n,
    ).where(ranked.c.n <= MAX_DEMAND_EXAMPLES)
    per_kind = select(
        literal("count"), signs.c.tag, signs.c.kind, null(), null(), null(), func.count()
    ).group_by(signs.c.tag, signs.c.kind)
    teams = select(
        literal("teams"), signs.c.tag, null(), null(), null(), null(), func.count(distinct(signs.c.team_id))
    ).group_by(signs.c.tag)
    need_tag = case((signs.c.kind == "no_resource", signs.c.tag))
    distinct_signs = (
        select(signs.c.kind, signs.c.team_id, signs.c.resource_id, signs.c.at, need_tag.label("need"))
        .distinct()
        .subquery()
    )
    totals = select(
        literal("total"), null(), distinct_signs.c.kind, null(), null(), null(), func.count()
    ).group_by(distinct_signs.c.kind)
    whole = union_all(examples, per_kind, teams, totals).subquery()
    counts: dict[str, dict[str, int]] = {}
    team_counts: dict[str, int] = {}
    found: dict[str, int] = {}
    listed: dict[str, list[dict[str, Any]]] = {}
    for part, tag, kind, team_id, resource_id, at, n in session.execute(
        select(whole).order_by(whole.c.tag, whole.c.n)
    ):
        if part == "example":
            listed.setdefault(tag, []).append(
                {
                    "kind": kind,
                    "team_id": team_id,
                    "resource_id": resource_id,
                    "at": at.isoformat() if at else None,
                }
            )
        elif part == "count":
            counts.setdefault(tag, {})[kind] = int(n)
        elif part == "teams":
            team_counts[tag] = int(n)
        else:
            found[kind] = int(n)
    return DemandFigures(
        [utilization.Demand(tag, by_kind, team_counts[tag]) for tag, by_kind in counts.items()],
        {kind: found.get(kind, 0) for kind in utilization.DEMAND_KINDS},
        listed,
    )


def unmet_demand(session: Session, principal: Principal, space_id: int, period: Period) -> dict[str, Any]:
    space = managed_space(session, principal, space_id)
    figures = demand_figures(session, demand_signs(space, period))
    found = utilization.suggestions(figures.by_tag, session.scalars(_offered_tags(space)))
    labels = _tag_labels(session, [s.tag for s in found])
    return {
        "space_id": space.id,
        "period": period.as_dict(),
        "totals": figures.totals,
        "suggestions": [
            {
                "tag": s.tag,
                "label_zh": labels.get(s.tag, (s.tag, s.tag))[0],
                "label_en": labels.get(s.tag, (s.tag, s.tag))[1],
                "action": s.action,
                "teams": s.teams,
                "counts": s.counts,
                "evidence": figures.examples[s.tag],
            }
            for s in found
        ],
    }


def _tag_labels(session: Session, slugs: Sequence[str]) -> dict[str, tuple[str, str]]:
    if not slugs:
        return {}
    return {
        slug: (zh, en)
        for slug, zh, en in session.execute(
            select(Tag.slug, Tag.label_zh, Tag.label_en).where(Tag.slug.in_(list(slugs)))
        )
    }


# The whole report -------------------------------------------------------------------------------------


def _figures_out(f: utilization.Figures) -> dict[str, Any]:
    return {
        "resources": f.resources,
        "open_hours": f.open_hours,
        "blackout_hours": f.blackout_hours,
        "available_hours": f.available_hours,
        "booked_hours": f.booked_hours,
        "used_hours": f.used_hours,
        "utilization": f.utilization,
        "actual_use": f.actual_use,
        "no_show_rate": f.no_show_rate,
        "late_cancellation_rate": f.late_cancellation_rate,
        "bookings": f.bookings,
    }


def space_utilization(
    session: Session, principal: Principal, space_id: int, period: Period, *, hourly_figures: bool = True
) -> dict[str, Any]:
    """Everything the cockpit shows for a period. Without ``hourly_figures`` the heatmap and the daily
    hours are left empty (the page draws its charts from the API's answer, so it skips that scan)."""
    space = managed_space(session, principal, space_id)
    usages = booking_usages(session, space, period)
    names = {
        rid: (zh, en)
        for rid, zh, en in session.execute(
            select(Resource.id, Resource.name_zh, Resource.name_en).where(
                Resource.id.in_([u.resource_id for u in usages] or [0])
            )
        )
    }
    kinds = utilization.by_kind(usages)
    hours = hourly(session, space, period) if hourly_figures else []
    empty = utilization.figures(())
    return {
        "space_id": space.id,
        "timezone": space.timezone,
        "period": period.as_dict(),
        "total": _figures_out(utilization.figures(usages)),
        "by_kind": {k: _figures_out(v) for k, v in kinds.items()},
        "by_tag": {k: _figures_out(v) for k, v in utilization.by_tag(usages).items()},
        "resources": [
            {
                "id": u.resource_id,
                "name_zh": names[u.resource_id][0],
                "name_en": names[u.resource_id][1],
                "kind": u.kind,
                **_figures_out(utilization.figures([u])),
            }
            for u in usages
        ],
        "desk_occupancy": kinds.get(ResourceKind.WORKSPACE.value, empty).utilization,
        "pilot_line_occupancy": kinds.get(ResourceKind.PILOT_LINE.value, empty).utilization,
        "heatmap": utilization.heatmap([(h, n) for h, n, _ in hours], space.timezone),
        "daily_booked_hours": [
            {"day": d, "hours": h}
            for d, h in utilization.daily_hours(
                [(h, m) for h, _, m in hours], period.first, period.last, space.timezone
            )
        ],
        "least_used": [
            {
                "id": u.resource_id,
                "name_zh": names[u.resource_id][0],
                "name_en": names[u.resource_id][1],
                "utilization": r,
            }
            for u, r in utilization.least_used(usages)
        ],
        "idle_teams": idle_teams(session, space, period),
        "stage_funnel": stage_funnel(session, space),
        "mentors": mentor_capacity(session, space, period),
        "funds": fund_deployment(session, space, period),
        "deal_flow": deal_flow(session, space, period),
        "tasks": task_counts(session, space, period),
    }
