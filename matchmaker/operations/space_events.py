"""Events and trainings a space holds: the managers record them, people of the space register, and the
managers record who attended. Held events count in the filing form and the evaluation report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchmaker.errors import Conflict, Forbidden, InvalidInput, NotFound
from matchmaker.operations import audit
from matchmaker.operations.utilization import managed_space
from matchmaker.permissions import Principal
from models import EventKind, EventRegistration, SpaceEvent


def create_event(
    session: Session,
    principal: Principal,
    space_id: int,
    *,
    kind: str,
    title_zh: str,
    title_en: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int | None,
) -> SpaceEvent:
    managed_space(session, principal, space_id)
    if ends_at <= starts_at:
        raise InvalidInput(
            "The event ends before it starts.",
            "活动结束时间早于开始时间。",
            details={"fields": {"ends_at": "before_start"}},
        )
    event = SpaceEvent(
        space_id=space_id,
        kind=EventKind(kind),
        title_zh=title_zh,
        title_en=title_en,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        created_by_id=principal.user_id,
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        principal,
        space_id=space_id,
        action="event_created",
        subject=f"event:{event.id}",
        after=event_out(event, 0, 0),
    )
    return event


def _event(session: Session, event_id: int) -> SpaceEvent:
    event = session.get(SpaceEvent, event_id)
    if event is None:
        raise NotFound("event", "活动", event_id)
    return event


def counts(session: Session, event_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(registered, attended) per event."""
    rows = session.execute(
        select(
            EventRegistration.event_id,
            func.count(),
            func.sum(case((EventRegistration.attended.is_(True), 1), else_=0)),
        )
        .where(EventRegistration.event_id.in_(list(event_ids) or [0]))
        .group_by(EventRegistration.event_id)
    )
    return {eid: (int(n), int(a or 0)) for eid, n, a in rows}


def register(
    session: Session, principal: Principal, event_id: int, team_id: int | None = None
) -> EventRegistration:
    """A person of the space (a team member, or staff) signs up; capacity is checked under a lock."""
    event = session.scalar(
        select(SpaceEvent)
        .where(SpaceEvent.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if event is None:
        raise NotFound("event", "活动", event_id)
    if not (
        principal.has_team_in(event.space_id) or principal.is_staff_in(event.space_id) or principal.is_admin
    ):
        raise Forbidden("register for this space's events", "报名该空间的活动")
    if team_id is not None and principal.teams.get(team_id, (None,))[0] != event.space_id:
        raise Forbidden("register for that team", "以该团队名义报名")
    registered = counts(session, [event.id]).get(event.id, (0, 0))[0]
    if event.capacity is not None and registered >= event.capacity:
        raise Conflict("The event is full.", "活动名额已满。")
    registration = EventRegistration(event_id=event.id, user_id=principal.user_id, team_id=team_id)
    try:
        with session.begin_nested():
            session.add(registration)
    except IntegrityError:
        raise Conflict("You are already registered.", "您已报名。") from None
    session.flush()
    return registration


def record_attendance(
    session: Session, principal: Principal, event_id: int, user_ids: Sequence[int]
) -> dict[str, Any]:
    """Mark who attended (everyone else registered is marked absent)."""
    event = _event(session, event_id)
    managed_space(session, principal, event.space_id)
    before = sorted(
        session.scalars(
            select(EventRegistration.user_id).where(
                EventRegistration.event_id == event.id, EventRegistration.attended.is_(True)
            )
        )
    )
    registered = set(
        session.scalars(select(EventRegistration.user_id).where(EventRegistration.event_id == event.id))
    )
    unknown = sorted(set(user_ids) - registered)
    if unknown:
        raise InvalidInput(
            f"Not registered for this event: {unknown}.",
            f"以下用户未报名该活动：{unknown}。",
            details={"fields": {"user_ids": "not_registered"}},
        )
    session.execute(
        update(EventRegistration)
        .where(EventRegistration.event_id == event.id)
        .values(attended=EventRegistration.user_id.in_(list(user_ids) or [0]))
    )
    after = sorted(set(user_ids))
    audit.record(
        session,
        principal,
        space_id=event.space_id,
        action="attendance_recorded",
        subject=f"event:{event.id}",
        before={"attended": before},
        after={"attended": after},
    )
    session.flush()
    n, a = counts(session, [event.id]).get(event.id, (0, 0))
    return event_out(event, n, a)


def list_events(session: Session, principal: Principal, space_id: int) -> list[dict[str, Any]]:
    if not (principal.has_team_in(space_id) or principal.is_staff_in(space_id) or principal.is_admin):
        raise Forbidden("see this space's events", "查看该空间的活动")
    events = list(
        session.scalars(
            select(SpaceEvent).where(SpaceEvent.space_id == space_id).order_by(SpaceEvent.starts_at.desc())
        )
    )
    found = counts(session, [e.id for e in events])
    return [event_out(e, *found.get(e.id, (0, 0))) for e in events]


def event_out(event: SpaceEvent, registered: int, attended: int) -> dict[str, Any]:
    return {
        "id": event.id,
        "space_id": event.space_id,
        "kind": event.kind.value,
        "title_zh": event.title_zh,
        "title_en": event.title_en,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "capacity": event.capacity,
        "registered": registered,
        "attended": attended,
    }
