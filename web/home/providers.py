"""What a person's home lists: each provider looks at one area and returns the items that need the
person now. A feature adds its items by registering one more provider (see ``provides``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from matchmaker.permissions import Principal
from models import (
    AdmissionStatus,
    Booking,
    BookingStatus,
    Introduction,
    IntroductionStatus,
    MentorRequest,
    MentorRequestStatus,
    MilestoneStatus,
    Resource,
    Task,
    TaskBid,
    TaskMilestone,
    TaskStatus,
    Team,
)
from web.i18n import loc


@dataclass(frozen=True)
class HomeItem:
    """One thing that needs the person: what, about which object, by when, and where to act on it."""

    section: str  # a key of SECTIONS
    title: str
    detail: str
    url: str
    when: datetime | None = None


Provider = Callable[[Session, Principal, datetime], Iterable[HomeItem]]

# Section key -> heading, in the order the home shows them. A provider of a new area adds its section.
SECTIONS: dict[str, object] = {
    "approvals": _l("Bookings waiting for your approval"),
    "admissions": _l("Applications to review"),
    "offers": _l("Offers about to expire"),
    "bookings": _l("Your upcoming bookings"),
}

PROVIDERS: list[Provider] = []

# How many items one section lists at most: the home is a to-do list, not an archive.
LIMIT = 8


def provides(provider: Provider) -> Provider:
    """Register a provider of home items (use as a decorator)."""
    PROVIDERS.append(provider)
    return provider


def items_for(session: Session, principal: Principal, now: datetime) -> dict[str, list[HomeItem]]:
    """Every registered provider's items, grouped by section in the order of SECTIONS."""
    grouped: dict[str, list[HomeItem]] = {key: [] for key in SECTIONS}
    for provider in PROVIDERS:
        for item in provider(session, principal, now):
            grouped.setdefault(item.section, []).append(item)
    return {key: items[:LIMIT] for key, items in grouped.items() if items}


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clock(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


@provides
def pending_approvals(session: Session, principal: Principal, now: datetime) -> Iterable[HomeItem]:
    orgs = {o for _, o in principal.organizations}
    managed = {s for s, r in principal.roles if r == "manager"}
    if not orgs and not managed and not principal.is_admin:
        return []
    query = (
        select(Booking)
        .join(Resource, Resource.id == Booking.resource_id)
        .where(Booking.status == BookingStatus.PENDING, Booking.starts_at > now)
        .options(selectinload(Booking.resource).selectinload(Resource.space), selectinload(Booking.team))
        .order_by(Booking.starts_at)
        .limit(LIMIT)
    )
    if not principal.is_admin:
        query = query.where(or_(Resource.organization_id.in_(orgs), Resource.space_id.in_(managed)))
    return [
        HomeItem(
            "approvals",
            loc(b.resource, "name"),
            f"{loc(b.team, 'name')} · {_clock(b.starts_at, b.resource.space.timezone)}",
            url_for("bookings.hosted"),
            b.starts_at,
        )
        for b in session.scalars(query)
    ]


@provides
def applications_to_review(session: Session, principal: Principal, now: datetime) -> Iterable[HomeItem]:
    managed = sorted(s for s, r in principal.roles if r == "manager")
    if not managed and not principal.is_admin:
        return []
    query = (
        select(Team).where(Team.admission_status == AdmissionStatus.PENDING).order_by(Team.id).limit(LIMIT)
    )
    if not principal.is_admin:
        query = query.where(Team.space_id.in_(managed))
    return [
        HomeItem("admissions", loc(t, "name"), _short(loc(t, "needs")), url_for("teams.review", team_id=t.id))
        for t in session.scalars(query)
    ]


def _team_bookings(
    session: Session, principal: Principal, now: datetime, statuses: tuple[BookingStatus, ...]
) -> list[Booking]:
    if not principal.teams:
        return []
    found = session.scalars(
        select(Booking)
        .where(
            Booking.team_id.in_(list(principal.teams)), Booking.status.in_(statuses), Booking.ends_at > now
        )
        .options(selectinload(Booking.resource).selectinload(Resource.space))
        .order_by(Booking.starts_at)
        .limit(LIMIT)
    )
    return list(found)


@provides
def offers_about_to_expire(session: Session, principal: Principal, now: datetime) -> Iterable[HomeItem]:
    return [
        HomeItem(
            "offers",
            loc(b.resource, "name"),
            _clock(b.starts_at, b.resource.space.timezone),
            url_for("bookings.mine"),
            b.hold_expires_at,
        )
        for b in _team_bookings(session, principal, now, (BookingStatus.HELD,))
    ]


@provides
def upcoming_bookings(session: Session, principal: Principal, now: datetime) -> Iterable[HomeItem]:
    soon = now + timedelta(days=7)
    wanted = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)
    return [
        HomeItem(
            "bookings",
            loc(b.resource, "name"),
            _clock(b.starts_at, b.resource.space.timezone),
            url_for("bookings.calendar", resource_id=b.resource_id),
            b.starts_at,
        )
        for b in _team_bookings(session, principal, now, wanted)
        if b.starts_at < soon
    ]


# Mentoring, introductions and tasks -----------------------------------------------------------------

SECTIONS["mentor_requests"] = _l("Mentor requests to answer")
SECTIONS["proposed_times"] = _l("Times a mentor proposed to your team")
SECTIONS["introductions"] = _l("Introductions waiting for your answer")
SECTIONS["task_reviews"] = _l("Task milestones to review")
SECTIONS["task_due"] = _l("Task milestones your team owes")


@provides
def mentor_requests_to_answer(session: Session, principal: Principal, now: datetime) -> Iterable[HomeItem]:
    """A mentor's open requests, oldest first (the escalation clock runs on them)."""
    if not principal.is_authenticated:
        return []
    found = session.scalars(
        select(MentorRequest)
        .join(Resource, Resource.id == MentorRequest.mentor_id)
        .where(
            Resource.person_user_id == principal.user_id, MentorRequest.status == MentorRequestStatus.PENDING
        )
        .options(selectinload(MentorRequest.team))
        .order_by(MentorRequest.created_at)
        .limit(LIMIT)
    )
    return [
        HomeItem("mentor_requests", r.topic, loc(r.team, "name"), url_for("mentoring.index"), r.created_at)
        for r in found
    ]


@provides
def proposed_times_to_take(session: Session, principal: Principal, now: datetime) -> Iterable[HomeItem]:
    if not principal.teams:
        return []
    found = session.scalars(
        select(MentorRequest)
        .where(
            MentorRequest.team_id.in_(list(principal.teams)),
            MentorRequest.status == MentorRequestStatus.PROPOSED,
        )
        .options(selectinload(MentorRequest.mentor))
        .order_by(MentorRequest.updated_at)
        .limit(LIMIT)
    )
    return [
        HomeItem("proposed_times", r.topic, loc(r.mentor, "name"), url_for("mentoring.index"), r.updated_at)
        for r in found
    ]


@provides
def introductions_to_answer(session: Session, principal: Principal, now: datetime) -> Iterable[HomeItem]:
    if not principal.is_authenticated:
        return []
    found = session.scalars(
        select(Introduction)
        .join(Resource, Resource.id == Introduction.fund_id)
        .where(
            Resource.person_user_id == principal.user_id,
            Introduction.status == IntroductionStatus.REQUESTED,
        )
        .options(selectinload(Introduction.team))
        .order_by(Introduction.created_at)
        .limit(LIMIT)
    )
    return [
        HomeItem(
            "introductions",
            loc(i.team, "name"),
            f"{i.amount_sought_10k_cny} {_l('10k CNY')}",
            url_for("mentoring.board"),
            i.created_at,
        )
        for i in found
    ]


@provides
def task_milestones_to_review(session: Session, principal: Principal, now: datetime) -> Iterable[HomeItem]:
    """Work a team delivered on a task of the person's organisation, waiting for acceptance."""
    orgs = {o for _, o in principal.organizations}
    if not orgs:
        return []
    found = session.execute(
        select(TaskMilestone, Task)
        .join(Task, Task.id == TaskMilestone.task_id)
        .where(Task.organization_id.in_(orgs), TaskMilestone.status == MilestoneStatus.DELIVERED)
        .order_by(TaskMilestone.delivered_at)
        .limit(LIMIT)
    ).all()
    return [
        HomeItem(
            "task_reviews", loc(t, "title"), m.title, url_for("tasks.show", task_id=t.id), m.delivered_at
        )
        for m, t in found
    ]


@provides
def task_milestones_due(session: Session, principal: Principal, now: datetime) -> Iterable[HomeItem]:
    """Milestones of the person's teams' awarded bids still to deliver (or to deliver again)."""
    if not principal.teams:
        return []
    found = session.execute(
        select(TaskMilestone, Task)
        .join(Task, Task.id == TaskMilestone.task_id)
        .join(TaskBid, TaskBid.id == TaskMilestone.bid_id)
        .where(
            TaskBid.team_id.in_(list(principal.teams)),
            TaskMilestone.status.in_((MilestoneStatus.PENDING, MilestoneStatus.REVISION_REQUESTED)),
            Task.status.in_((TaskStatus.AWARDED, TaskStatus.IN_DELIVERY)),
        )
        .order_by(TaskMilestone.due_on)
        .limit(LIMIT)
    ).all()
    return [
        HomeItem(
            "task_due",
            loc(t, "title"),
            f"{m.title} · {m.due_on.isoformat()}",
            url_for("tasks.show", task_id=t.id),
        )
        for m, t in found
    ]
