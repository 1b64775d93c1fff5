"""Mentor requests and sessions: a team asks, the mentor answers, a session is held in the mentor's
office hours, both sides rate it; every outcome is a team–resource interaction the ranker learns from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from matchmaker import events, lifecycles, permissions, rule_checks, slots
from matchmaker.errors import AlreadyExists, Conflict, Forbidden, InvalidInput, NotFound, ResourceRetired
from matchmaker.operations import audit, booking_rules, moves, teams
from matchmaker.permissions import Principal
from models import (
    AdmissionStatus,
    DeclineReason,
    Interaction,
    InteractionKind,
    Membership,
    MentorMonth,
    MentorRequest,
    MentorRequestStatus,
    MentorSession,
    MentorSessionStatus,
    Resource,
    ResourceKind,
    Role,
    Team,
)
from models.base import utcnow
from models.mentoring import OPEN_REQUEST_STATUSES

ESCALATE_AFTER = timedelta(hours=72)  # an open request nobody answered goes to the space's managers
MAX_SESSION_MINUTES = 8 * 60
MAX_PROPOSED_TIMES = 5


class BeyondCapacity(Conflict):
    code = "beyond_capacity"


class SessionTaken(Conflict):
    code = "slot_taken"


# Reading -----------------------------------------------------------------------------------------


def monthly_hours(mentor: Resource) -> int:
    return int(mentor.attributes.get("monthly_hours", 8) or 0)


def month_of(mentor: Resource, moment: datetime) -> str:
    return slots.local_month(moment, mentor.space.timezone)


def committed_hours(session: Session, mentor_id: int, month: str) -> int:
    found = session.get(MentorMonth, (mentor_id, month), populate_existing=True)
    return found.committed_hours if found is not None else 0


def hours_of(session: Session, mentor: Resource, month: str) -> dict[str, Any]:
    """A mentor's month: capacity, hours committed by accepted requests, and hours delivered."""
    delivered = sum(
        s.hours_delivered or 0
        for s in session.scalars(
            select(MentorSession).where(
                MentorSession.mentor_id == mentor.id, MentorSession.status == MentorSessionStatus.DELIVERED
            )
        )
        if month_of(mentor, s.starts_at) == month
    )
    capacity = monthly_hours(mentor)
    committed = committed_hours(session, mentor.id, month)
    return {
        "mentor_id": mentor.id,
        "month": month,
        "capacity_hours": capacity,
        "committed_hours": committed,
        "remaining_hours": max(0, capacity - committed),
        "delivered_hours": round(delivered, 2),
    }


def _member_ids(session: Session, team_id: int) -> tuple[int, ...]:
    from matchmaker.operations.bookings.output import member_ids

    return member_ids(session, team_id)


def _manager_ids(session: Session, space_id: int) -> tuple[int, ...]:
    return tuple(
        sorted(
            session.scalars(
                select(Membership.user_id).where(
                    Membership.space_id == space_id, Membership.role == Role.MANAGER
                )
            )
        )
    )


def is_mentor_of(principal: Principal, mentor: Resource) -> bool:
    return principal.user_id is not None and principal.user_id == mentor.person_user_id


def can_view_request(principal: Principal, request: MentorRequest) -> bool:
    """The team's members, the mentor, and the space's managers; nobody else learns what a team asked."""
    return (
        request.team_id in principal.teams
        or is_mentor_of(principal, request.mentor)
        or principal.is_manager_of(request.space_id)
    )


def get_request(
    session: Session, principal: Principal, request_id: int, *, lock: bool = False
) -> MentorRequest:
    found = session.get(MentorRequest, request_id, with_for_update=lock, populate_existing=lock)
    if found is None or not can_view_request(principal, found):
        raise NotFound("mentor request", "辅导申请", request_id)
    return found


def list_requests(
    session: Session,
    principal: Principal,
    *,
    team_id: int | None = None,
    mentor_id: int | None = None,
    status: str | None = None,
) -> list[MentorRequest]:
    """What the reader may see: their teams' requests, their own mentor inbox, their spaces' as managers."""
    query = select(MentorRequest).order_by(MentorRequest.created_at.desc(), MentorRequest.id.desc())
    if team_id is not None:
        query = query.where(MentorRequest.team_id == team_id)
    if mentor_id is not None:
        query = query.where(MentorRequest.mentor_id == mentor_id)
    if status is not None:
        query = query.where(MentorRequest.status == status)
    query = query.where(
        _visible(principal, MentorRequest.space_id, MentorRequest.team_id, MentorRequest.mentor_id)
    )
    return [r for r in session.scalars(query.limit(500)) if can_view_request(principal, r)]


def _visible(principal: Principal, space_id: Any, team_id: Any, mentor_id: Any) -> Any:
    """The rows a reader may see, as a SQL condition (so a page of 500 is never someone else's 500)."""
    if principal.is_admin:
        return true()
    managed = [s for s, role in principal.roles if role == permissions.MANAGER]
    mine = select(Resource.id).where(Resource.person_user_id == (principal.user_id or 0))
    return or_(team_id.in_(list(principal.teams)), mentor_id.in_(mine), space_id.in_(managed))


def request_out(request: MentorRequest) -> dict[str, Any]:
    mentor, team = request.mentor, request.team
    return {
        "id": request.id,
        "space_id": request.space_id,
        "team": {"id": team.id, "name_zh": team.name_zh, "name_en": team.name_en},
        "mentor": {
            "id": mentor.id,
            "name_zh": mentor.name_zh,
            "name_en": mentor.name_en,
            "person_user_id": mentor.person_user_id,
        },
        "topic": request.topic,
        "needs": request.needs,
        "wanted_by": request.wanted_by.isoformat() if request.wanted_by else None,
        "hours": request.hours,
        "status": request.status.value,
        "decline_reason": request.decline_reason.value if request.decline_reason else None,
        "answer_note": request.answer_note,
        "proposed_times": list(request.proposed_times),
        "month": request.month,
        "from_round": request.round_id,
        "created_at": request.created_at.isoformat(),
        "answered_at": request.answered_at.isoformat() if request.answered_at else None,
        "escalated_at": request.escalated_at.isoformat() if request.escalated_at else None,
        "sessions": [session_out(s) for s in request.sessions],
    }


def session_out(found: MentorSession) -> dict[str, Any]:
    return {
        "id": found.id,
        "request_id": found.request_id,
        "mentor_id": found.mentor_id,
        "team_id": found.team_id,
        "starts_at": found.starts_at.isoformat(),
        "ends_at": found.ends_at.isoformat(),
        "status": found.status.value,
        "hours_delivered": found.hours_delivered,
        "notes": found.notes,
        "follow_ups": found.follow_ups,
        "team_rating": found.team_rating,
        "team_comment": found.team_comment,
        "preparation_rating": found.preparation_rating,
    }


def _record(session: Session, request: MentorRequest, action: str, *, to_managers: bool = False) -> None:
    session.flush()
    session.refresh(request)
    events.record(
        session,
        events.MentorRequestChanged(
            action=action,
            space_id=request.space_id,
            request_id=request.id,
            payload=request_out(request),
            member_user_ids=_member_ids(session, request.team_id),
            mentor_user_id=request.mentor.person_user_id,
            manager_user_ids=_manager_ids(session, request.space_id) if to_managers else (),
        ),
    )


def _record_session(session: Session, found: MentorSession, action: str) -> None:
    session.flush()
    mentor = found.request.mentor
    events.record(
        session,
        events.MentorSessionChanged(
            action=action,
            space_id=mentor.space_id,
            session_id=found.id,
            payload={
                **session_out(found),
                "mentor": {"id": mentor.id, "name_zh": mentor.name_zh, "name_en": mentor.name_en},
                "team": {
                    "id": found.team_id,
                    "name_zh": found.request.team.name_zh,
                    "name_en": found.request.team.name_en,
                },
                "timezone": mentor.space.timezone,
            },
            member_user_ids=_member_ids(session, found.team_id),
            mentor_user_id=mentor.person_user_id,
        ),
    )


def _learn(
    session: Session,
    request: MentorRequest,
    kind: InteractionKind,
    outcome: str,
    now: datetime,
    *,
    quantity: float = 0,
    rating: int | None = None,
    **detail: Any,
) -> None:
    """Every answer and every session is a timestamped, labelled edge for the ranker's next training."""
    session.add(
        Interaction(
            space_id=request.space_id,
            team_id=request.team_id,
            resource_id=request.mentor_id,
            kind=kind,
            occurred_at=now,
            quantity=quantity,
            rating=rating,
            outcome=outcome,
            detail={"mentor_request_id": request.id, **detail},
        )
    )
    events.record(
        session, events.RecommendationsChanged(request.team_id, _member_ids(session, request.team_id))
    )


# Asking ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    team_id: int
    mentor_id: int
    topic: str
    hours: int
    needs: str = ""
    wanted_by: date | None = None


def _mentor(session: Session, mentor_id: int) -> Resource:
    mentor = session.get(Resource, mentor_id)
    if mentor is None or mentor.kind is not ResourceKind.MENTOR:
        raise NotFound("mentor", "导师", mentor_id)
    return mentor


def create_request(
    session: Session, principal: Principal, ask: Ask, *, now: datetime | None = None
) -> MentorRequest:
    now = now or utcnow()
    team = teams.team_to_act_for(
        session, principal, ask.team_id, "ask a mentor for this team", "以该团队名义申请导师辅导"
    )
    if (
        team.admission_status is not AdmissionStatus.ADMITTED
        or team.stage.value not in lifecycles.ACTIVE_STAGES
    ):
        raise InvalidInput(
            "Only admitted, active teams can ask a mentor.",
            "只有已入驻且在孵的团队才能申请导师辅导。",
            details={"fields": {"team_id": "not_active"}},
        )
    mentor = _mentor(session, ask.mentor_id)
    if mentor.space_id != team.space_id:
        raise InvalidInput(
            "This mentor serves another space.",
            "该导师属于其他空间。",
            details={"fields": {"mentor_id": "not_in_space"}},
        )
    if mentor.is_retired:
        raise ResourceRetired(mentor.id)
    if ask.wanted_by is not None and ask.wanted_by < now.date():
        raise InvalidInput(
            "The date you need help by has already passed.",
            "期望完成日期已经过去。",
            details={"fields": {"wanted_by": "in_the_past"}},
        )
    month = month_of(mentor, now)
    remaining = monthly_hours(mentor) - committed_hours(session, mentor.id, month)
    if ask.hours > remaining:
        raise BeyondCapacity(
            f"This mentor has {max(remaining, 0)} hours left this month; ask for fewer or try next month.",
            f"该导师本月仅剩 {max(remaining, 0)} 小时，请减少时长或下月再申请。",
            details={"fields": {"hours": "beyond_capacity"}, "remaining_hours": max(remaining, 0)},
        )
    duplicate = AlreadyExists(
        "Your team already has an open request to this mentor.",
        "您的团队已有一条待答复的该导师辅导申请。",
        details={"fields": {"mentor_id": "duplicate"}},
    )
    if session.scalar(
        select(MentorRequest.id).where(
            MentorRequest.team_id == team.id,
            MentorRequest.mentor_id == mentor.id,
            MentorRequest.status.in_(OPEN_REQUEST_STATUSES),
        )
    ):
        raise duplicate
    request = MentorRequest(
        space_id=team.space_id,
        team_id=team.id,
        mentor_id=mentor.id,
        requested_by_id=principal.user_id,
        topic=ask.topic,
        needs=ask.needs,
        wanted_by=ask.wanted_by,
        hours=ask.hours,
        status=MentorRequestStatus.PENDING,
    )
    try:
        with session.begin_nested():  # two asks at once: the partial unique index lets one in
            session.add(request)
            session.flush()
    except IntegrityError as exc:
        raise duplicate from exc
    _record(session, request, "created")
    return request


# Answering ---------------------------------------------------------------------------------------


def _move(session: Session, request: MentorRequest, target: MentorRequestStatus, **values: Any) -> None:
    """Change the request only if it is still in the status it was read in: of two answers at once,
    one wins and the other is refused with the status it found."""
    seen = request.status
    lifecycles.check_mentor_request_move(seen, target)
    moves.move_if_unchanged(session, request, seen, target, "request", "辅导申请", **values)


def _commit_hours(session: Session, mentor: Resource, month: str, hours: int) -> None:
    """Count ``hours`` against the mentor's month. One conditional UPDATE does it, and the table's CHECK
    backs it: of two accepts at once that together exceed the month, the second is refused."""
    capacity = monthly_hours(mentor)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(MentorMonth)
        .values(mentor_id=mentor.id, month=month, capacity_hours=capacity, committed_hours=0)
        .on_conflict_do_nothing(index_elements=["mentor_id", "month"])
    )
    refused = BeyondCapacity(
        f"This would take the mentor beyond their {capacity} hours for {month}.",
        f"接受后将超出该导师 {month} 的 {capacity} 小时月度上限。",
        details={"month": month, "capacity_hours": capacity},
    )
    try:
        with session.begin_nested():
            done = session.execute(
                update(MentorMonth)
                .where(
                    MentorMonth.mentor_id == mentor.id,
                    MentorMonth.month == month,
                    MentorMonth.committed_hours + hours <= capacity,
                )
                .values(committed_hours=MentorMonth.committed_hours + hours, capacity_hours=capacity)
            )
    except IntegrityError as exc:
        raise refused from exc
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise refused


def _office_hours(session: Session, mentor: Resource) -> slots.Rules:
    return booking_rules.rules_of(mentor, booking_rules.availability_of(session, mentor))


def _check_time(
    session: Session, mentor: Resource, starts_at: datetime, ends_at: datetime, now: datetime
) -> None:
    if ends_at <= starts_at or ends_at - starts_at > timedelta(minutes=MAX_SESSION_MINUTES):
        raise InvalidInput(
            f"A session lasts from a few minutes up to {MAX_SESSION_MINUTES // 60} hours.",
            f"每次辅导时长须在 {MAX_SESSION_MINUTES // 60} 小时以内。",
            details={"fields": {"minutes": "out_of_range"}},
        )
    if starts_at < now:
        raise InvalidInput(
            "A session cannot start in the past.",
            "辅导不能安排在过去的时间。",
            details={"fields": {"starts_at": "in_the_past"}},
        )
    rules = _office_hours(session, mentor)
    inside = any(
        s <= starts_at and ends_at <= e for s, e in slots.opening_intervals(rules, starts_at, ends_at)
    )
    if not inside:
        raise InvalidInput(
            "That time is outside the mentor's office hours.",
            "该时间不在导师的接待时间内。",
            details={"fields": {"starts_at": "outside_office_hours"}},
        )


def _book(session: Session, request: MentorRequest, starts_at: datetime, ends_at: datetime) -> MentorSession:
    """Book a session; the database refuses one that overlaps another of the same mentor."""
    found = MentorSession(
        request_id=request.id,
        mentor_id=request.mentor_id,
        team_id=request.team_id,
        starts_at=starts_at,
        ends_at=ends_at,
        status=MentorSessionStatus.SCHEDULED,
    )
    try:
        with session.begin_nested():
            session.add(found)
            session.flush()
    except (IntegrityError, DBAPIError) as exc:
        if "mentor_sessions_no_overlap" not in str(exc.orig):
            raise
        raise SessionTaken(
            "The mentor already has a session at that time; pick another.",
            "导师在该时段已有安排，请另选时间。",
            details={"fields": {"starts_at": "slot_taken"}},
        ) from exc
    session.refresh(request)
    return found


def accept_request(
    session: Session,
    principal: Principal,
    request_id: int,
    *,
    starts_at: datetime | None = None,
    minutes: int | None = None,
    now: datetime | None = None,
) -> MentorRequest:
    """The mentor accepts a pending request (optionally booking the first session at once); or the team
    accepts one of the times the mentor proposed. The hours count against the month of the session, or
    of the answer when no time is set yet."""
    now = now or utcnow()
    request = get_request(session, principal, request_id)
    mentor = request.mentor
    if request.status is MentorRequestStatus.PROPOSED and request.team_id in principal.teams:
        if starts_at is None:
            raise InvalidInput(
                "Pick one of the times the mentor proposed.",
                "请选择导师提议的一个时间。",
                details={"fields": {"starts_at": "required"}},
            )
        offered = {
            datetime.fromisoformat(t["starts_at"]): datetime.fromisoformat(t["ends_at"])
            for t in request.proposed_times
        }
        if starts_at not in offered:
            raise InvalidInput(
                "That is not one of the times the mentor proposed.",
                "该时间不在导师提议的时间之中。",
                details={"fields": {"starts_at": "not_proposed"}},
            )
        ends_at: datetime | None = offered[starts_at]
    elif is_mentor_of(principal, mentor) or principal.is_manager_of(request.space_id):
        ends_at = starts_at + timedelta(minutes=minutes or request.hours * 60) if starts_at else None
    else:
        raise Forbidden("accept this request", "接受该辅导申请")
    if mentor.is_retired:
        raise ResourceRetired(mentor.id)
    lifecycles.check_mentor_request_move(request.status, MentorRequestStatus.ACCEPTED)
    if starts_at is not None and ends_at is not None:
        _check_time(session, mentor, starts_at, ends_at, now)
    month = month_of(mentor, starts_at or now)
    _commit_hours(session, mentor, month, request.hours)
    _move(session, request, MentorRequestStatus.ACCEPTED, month=month, answered_at=now)
    if starts_at is not None and ends_at is not None:
        booked = _book(session, request, starts_at, ends_at)
        _record_session(session, booked, "scheduled")
    _learn(session, request, InteractionKind.MENTOR_SESSION, "accepted", now, quantity=request.hours)
    _record(session, request, "accepted")
    return request


def _must_be_mentor(principal: Principal, request: MentorRequest, what_en: str, what_zh: str) -> None:
    if not (is_mentor_of(principal, request.mentor) or principal.is_manager_of(request.space_id)):
        raise Forbidden(what_en, what_zh)


def decline_request(
    session: Session,
    principal: Principal,
    request_id: int,
    reason: str,
    note: str = "",
    *,
    now: datetime | None = None,
) -> MentorRequest:
    now = now or utcnow()
    request = get_request(session, principal, request_id)
    _must_be_mentor(principal, request, "decline this request", "婉拒该辅导申请")
    _move(
        session,
        request,
        MentorRequestStatus.DECLINED,
        decline_reason=DeclineReason(reason),
        answer_note=note,
        answered_at=now,
    )
    _learn(session, request, InteractionKind.DECLINE, "declined", now, reason=reason)
    _record(session, request, "declined")
    return request


def propose_times(
    session: Session,
    principal: Principal,
    request_id: int,
    times: list[tuple[datetime, datetime]],
    note: str = "",
    *,
    now: datetime | None = None,
) -> MentorRequest:
    """The mentor offers up to five times from their office hours; the team accepts one."""
    now = now or utcnow()
    request = get_request(session, principal, request_id)
    _must_be_mentor(principal, request, "propose times for this request", "为该申请提议时间")
    if not times or len(times) > MAX_PROPOSED_TIMES:
        raise InvalidInput(
            f"Propose between one and {MAX_PROPOSED_TIMES} times.",
            f"请提议 1 到 {MAX_PROPOSED_TIMES} 个时间。",
            details={"fields": {"times": "out_of_range"}},
        )
    for start, end in times:
        _check_time(session, request.mentor, start, end, now)
    _move(
        session,
        request,
        MentorRequestStatus.PROPOSED,
        proposed_times=[{"starts_at": s.isoformat(), "ends_at": e.isoformat()} for s, e in times],
        answer_note=note,
        answered_at=now,
    )
    _record(session, request, "proposed")
    return request


def withdraw_request(session: Session, principal: Principal, request_id: int) -> MentorRequest:
    request = get_request(session, principal, request_id)
    if not (request.team_id in principal.teams or principal.is_manager_of(request.space_id)):
        raise Forbidden("withdraw this request", "撤回该辅导申请")
    _move(session, request, MentorRequestStatus.WITHDRAWN)
    _record(session, request, "withdrawn")
    return request


def escalate_unanswered(session: Session, now: datetime, *, after: timedelta = ESCALATE_AFTER) -> list[int]:
    """Hand every open request nobody answered within ``after`` to its space's managers, once."""
    due = list(
        session.scalars(
            select(MentorRequest).where(
                MentorRequest.status.in_(OPEN_REQUEST_STATUSES),
                MentorRequest.escalated_at.is_(None),
                MentorRequest.created_at <= now - after,
            )
        )
    )
    escalated = []
    for request in due:
        won = session.execute(
            update(MentorRequest)
            .where(MentorRequest.id == request.id, MentorRequest.escalated_at.is_(None))
            .values(escalated_at=now)
            .returning(MentorRequest.id)
        ).scalar_one_or_none()
        if won is not None:
            session.refresh(request)
            _record(session, request, "escalated", to_managers=True)
            escalated.append(request.id)
    return escalated


def accept_round_line(
    session: Session, *, round_id: int, team_id: int, mentor: Resource, hours: int, title: str, now: datetime
) -> MentorRequest | None:
    """A published allocation round's line becomes an accepted request. Its hours come out of the
    round's capacity, which the managers set, so they do not count against the mentor's month again."""
    team = session.get(Team, team_id)
    if team is None or mentor.is_retired:
        return None
    request = MentorRequest(
        space_id=mentor.space_id,
        team_id=team_id,
        mentor_id=mentor.id,
        requested_by_id=None,
        topic=title[:200],
        hours=max(1, hours),
        status=MentorRequestStatus.ACCEPTED,
        answered_at=now,
        round_id=round_id,
    )
    session.add(request)
    session.flush()
    _learn(session, request, InteractionKind.MENTOR_SESSION, "accepted", now, quantity=request.hours)
    _record(session, request, "accepted")
    return request


# Sessions ----------------------------------------------------------------------------------------


def _session(session: Session, principal: Principal, session_id: int, *, lock: bool = False) -> MentorSession:
    found = session.get(MentorSession, session_id, with_for_update=lock, populate_existing=lock)
    if found is None or not can_view_request(principal, found.request):
        raise NotFound("mentor session", "辅导场次", session_id)
    return found


def get_session_row(session: Session, principal: Principal, session_id: int) -> MentorSession:
    return _session(session, principal, session_id)


def list_sessions(
    session: Session, principal: Principal, *, mentor_id: int | None = None, team_id: int | None = None
) -> list[MentorSession]:
    query = (
        select(MentorSession)
        .join(MentorRequest)
        .where(_visible(principal, MentorRequest.space_id, MentorRequest.team_id, MentorRequest.mentor_id))
        .order_by(MentorSession.starts_at)
    )
    if mentor_id is not None:
        query = query.where(MentorSession.mentor_id == mentor_id)
    if team_id is not None:
        query = query.where(MentorSession.team_id == team_id)
    return [s for s in session.scalars(query.limit(500)) if can_view_request(principal, s.request)]


def schedule_session(
    session: Session,
    principal: Principal,
    request_id: int,
    starts_at: datetime,
    minutes: int,
    *,
    now: datetime | None = None,
) -> MentorSession:
    """Another session of an accepted request, booked by its mentor or its team, in office hours."""
    now = now or utcnow()
    request = get_request(session, principal, request_id)
    if not (
        request.team_id in principal.teams
        or is_mentor_of(principal, request.mentor)
        or principal.is_manager_of(request.space_id)
    ):
        raise Forbidden("book a session for this request", "为该申请安排辅导")
    if request.status is not MentorRequestStatus.ACCEPTED:
        now_en, now_zh = lifecycles.MENTOR_REQUEST_STATUS_NAMES[request.status]
        raise Conflict(
            f"Sessions follow an accepted request; this one is {now_en}.",
            f"只有已接受的申请才能安排辅导，该申请为“{now_zh}”。",
            details={"status": request.status.value},
        )
    ends_at = starts_at + timedelta(minutes=minutes)
    _check_time(session, request.mentor, starts_at, ends_at, now)
    booked = _book(session, request, starts_at, ends_at)
    _record_session(session, booked, "scheduled")
    return booked


def _move_session(session: Session, found: MentorSession, target: MentorSessionStatus, **values: Any) -> None:
    seen = found.status
    lifecycles.check_mentor_session_move(seen, target)
    moves.move_if_unchanged(session, found, seen, target, "session", "辅导场次", **values)


def report_session(
    session: Session,
    principal: Principal,
    session_id: int,
    *,
    hours: float,
    notes: str,
    follow_ups: str,
    now: datetime | None = None,
) -> MentorSession:
    """The mentor reports a held session: hours delivered, notes and follow-ups the team sees."""
    now = now or utcnow()
    found = _session(session, principal, session_id)
    _must_be_mentor(principal, found.request, "report this session", "填报该辅导记录")
    if found.starts_at > now:
        raise Conflict(
            "A session can be reported once it has started.",
            "辅导开始后才能填报。",
            details={"starts_at": found.starts_at.isoformat()},
        )
    _move_session(
        session,
        found,
        MentorSessionStatus.DELIVERED,
        hours_delivered=hours,
        notes=notes,
        follow_ups=follow_ups,
    )
    _learn(
        session,
        found.request,
        InteractionKind.MENTOR_SESSION,
        "delivered",
        now,
        quantity=hours,
        session_id=found.id,
    )
    _record_session(session, found, "delivered")
    return found


def cancel_session(
    session: Session, principal: Principal, session_id: int, *, now: datetime | None = None
) -> MentorSession:
    now = now or utcnow()
    found = _session(session, principal, session_id)
    if found.starts_at <= now:
        raise Conflict("A session that has started cannot be cancelled.", "已开始的辅导不能取消。")
    _move_session(session, found, MentorSessionStatus.CANCELLED)
    _record_session(session, found, "cancelled")
    return found


def _rating_refused(what_en: str, what_zh: str) -> Forbidden:
    return Forbidden(what_en, what_zh)


def rate_session(
    session: Session,
    principal: Principal,
    session_id: int,
    rating: int,
    comment: str = "",
    *,
    now: datetime | None = None,
) -> MentorSession:
    """The team rates a delivered session, once; only its members may."""
    now = now or utcnow()
    found = _session(session, principal, session_id)
    if found.team_id not in principal.teams:
        raise _rating_refused("rate a session you were not in", "评价未参加的辅导")
    _check_rating(rating)
    if found.status is not MentorSessionStatus.DELIVERED:
        raise Conflict(
            "A session can be rated once the mentor has reported it.",
            "导师填报辅导记录后才能评价。",
            details={"status": found.status.value},
        )
    won = session.execute(
        update(MentorSession)
        .where(MentorSession.id == found.id, MentorSession.team_rating.is_(None))
        .values(team_rating=rating, team_comment=comment)
        .returning(MentorSession.id)
    ).scalar_one_or_none()
    if won is None:
        raise AlreadyExists("Your team has already rated this session.", "您的团队已评价过该辅导。")
    session.refresh(found)
    _learn(
        session,
        found.request,
        InteractionKind.MENTOR_SESSION,
        "rated",
        now,
        rating=rating,
        session_id=found.id,
    )
    _record_session(session, found, "rated")
    return found


def rate_preparation(session: Session, principal: Principal, session_id: int, rating: int) -> MentorSession:
    """The mentor's view of how well the team prepared."""
    found = _session(session, principal, session_id)
    if not is_mentor_of(principal, found.request.mentor):
        raise _rating_refused("rate this team's preparation", "评价该团队的准备情况")
    _check_rating(rating)
    if found.status is not MentorSessionStatus.DELIVERED:
        raise Conflict(
            "Report the session before rating the team's preparation.",
            "请先填报辅导记录，再评价团队准备情况。",
            details={"status": found.status.value},
        )
    found.preparation_rating = rating
    _record_session(session, found, "preparation_rated")
    return found


def _check_rating(rating: int) -> None:
    if not 1 <= rating <= 5:
        raise InvalidInput(
            "A rating is a whole number from 1 to 5.",
            "评分须为 1 到 5 的整数。",
            details={"fields": {"rating": "out_of_range"}},
        )


def mentor_for_user(session: Session, user_id: int) -> list[Resource]:
    """The mentor profiles a person stands behind."""
    return list(
        session.scalars(
            select(Resource).where(Resource.person_user_id == user_id, Resource.kind == ResourceKind.MENTOR)
        )
    )


def office_hours(session: Session, mentor_id: int) -> list[dict[str, Any]]:
    """The weekly periods a mentor meets teams in (the default opening hours until they set their own)."""
    return list(booking_rules.availability_of(session, _mentor(session, mentor_id)).weekly_hours)


def set_office_hours(
    session: Session, principal: Principal, mentor_id: int, weekly_hours: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The mentor (or a manager of the space) sets the weekly periods sessions and proposed times must
    lie in; periods that overlap or end before they start are refused, nothing saved. Sessions already
    booked stay as they are."""
    mentor = _mentor(session, mentor_id)
    if mentor.is_retired:
        raise ResourceRetired(mentor.id)
    if principal.user_id != mentor.person_user_id and not principal.is_manager_of(mentor.space_id):
        raise Forbidden("set this mentor's office hours", "设置该导师的辅导时间")
    hours = booking_rules.check_weekly_hours(weekly_hours)
    problem = rule_checks.opening_problem([slots.Opening.parse(o) for o in hours])
    if problem is not None:
        raise InvalidInput(problem.en, problem.zh, details={"fields": {problem.field: problem.code}})
    current = booking_rules.availability_of(session, mentor)
    before = list(current.weekly_hours)
    if current not in session:
        session.add(current)
    current.weekly_hours = hours
    session.flush()
    audit.record(
        session,
        principal,
        space_id=mentor.space_id,
        action="mentor_office_hours_changed",
        subject=f"resource:{mentor.id}",
        before={"weekly_hours": before},
        after={"weekly_hours": hours},
    )
    return hours
