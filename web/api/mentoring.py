"""Mentor requests, sessions and monthly hours in the JSON API, with their own input and answer models."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from flask import url_for
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchmaker.errors import NotFound
from matchmaker.operations import mentoring
from models import Resource, ResourceKind
from models.base import utcnow
from web.api import route
from web.api.answers import Answer, Day, Timestamp
from web.api.schemas import Body, Id, Long, Moment, OpeningIn, Printable, Short
from web.api.schemas import Day as DayIn
from web.db import get_session
from web.security import current_principal

TAG = "mentoring"

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), Printable]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), Printable]
SessionMinutes = Annotated[int, Field(ge=15, le=mentoring.MAX_SESSION_MINUTES)]
Rating = Annotated[int, Field(ge=1, le=5)]
Month = Annotated[str, StringConstraints(pattern=r"^(19\d\d|2[01]\d\d)-(0[1-9]|1[0-2])$")]
RequestStatus = Literal["pending", "proposed", "accepted", "declined", "withdrawn"]
Reason = Literal["no_time", "outside_expertise", "not_ready", "other"]


# Input -------------------------------------------------------------------------------------------


class MentorRequestIn(Body):
    team_id: Id
    mentor_id: Id
    topic: Short
    needs: Long = ""
    wanted_by: DayIn | None = None
    hours: int = Field(ge=1, le=40)


class MentorAcceptIn(Body):
    """Without a time, the request is accepted and sessions are booked later."""

    starts_at: Moment | None = None
    minutes: SessionMinutes | None = None


class MentorDeclineIn(Body):
    reason: Reason
    note: Note = ""


class MentorTimeIn(Body):
    starts_at: Moment
    minutes: SessionMinutes


class MentorProposeIn(Body):
    times: list[MentorTimeIn] = Field(min_length=1, max_length=mentoring.MAX_PROPOSED_TIMES)
    note: Note = ""


class MentorSessionIn(Body):
    request_id: Id
    starts_at: Moment
    minutes: SessionMinutes


class MentorReportIn(Body):
    hours: float = Field(ge=0.25, le=8)
    notes: Long = ""
    follow_ups: Long = ""


class MentorRatingIn(Body):
    rating: Rating
    comment: Comment = ""


class MentorPreparationIn(Body):
    rating: Rating


class MentorRequestParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: Id | None = None
    mentor_id: Id | None = None
    status: RequestStatus | None = None


class MentorSessionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: Id | None = None
    mentor_id: Id | None = None


class OfficeHoursIn(Body):
    """The weekly periods the mentor meets teams in (0 = Monday), e.g. Tuesday 14:00-18:00."""

    weekly_hours: list[OpeningIn] = Field(max_length=50)


class MentorHoursParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: Month | None = None


# Answers -----------------------------------------------------------------------------------------


class MentorTeamRef(Answer):
    id: int
    name_zh: str
    name_en: str


class MentorRef(MentorTeamRef):
    person_user_id: int | None


class ProposedTime(Answer):
    starts_at: Timestamp
    ends_at: Timestamp


class MentorSessionOut(Answer):
    id: int
    request_id: int
    mentor_id: int
    team_id: int
    starts_at: Timestamp
    ends_at: Timestamp
    status: Literal["scheduled", "delivered", "cancelled"]
    hours_delivered: float | None
    notes: str
    follow_ups: str
    team_rating: int | None
    team_comment: str
    preparation_rating: int | None


class MentorSessionList(Answer):
    items: list[MentorSessionOut]


class MentorRequestOut(Answer):
    id: int
    space_id: int
    team: MentorTeamRef
    mentor: MentorRef
    topic: str
    needs: str
    wanted_by: Day | None
    hours: int
    status: RequestStatus
    decline_reason: Reason | None
    answer_note: str
    proposed_times: list[ProposedTime]
    month: str | None
    from_round: int | None
    created_at: Timestamp
    answered_at: Timestamp | None
    escalated_at: Timestamp | None
    sessions: list[MentorSessionOut]


class MentorRequestList(Answer):
    items: list[MentorRequestOut]


class OfficeHourOut(Answer):
    weekday: int
    start: str
    end: str


class OfficeHoursOut(Answer):
    mentor_id: int
    weekly_hours: list[OfficeHourOut]


class MentorHoursOut(Answer):
    mentor_id: int
    month: str
    capacity_hours: int
    committed_hours: int
    remaining_hours: int
    delivered_hours: float


# Requests ----------------------------------------------------------------------------------------


@route(
    "/mentor-requests",
    "POST",
    "Ask a mentor for help on a topic (a member of the team, or a manager for it)",
    tag=TAG,
    body=MentorRequestIn,
    responses={
        201: "Request sent; the mentor is told",
        409: "Mentor retired, beyond this month's hours, or an open request already exists",
        422: "Invalid input",
    },
    answer=MentorRequestOut,
)
def create_mentor_request(body: MentorRequestIn) -> Any:
    ask = mentoring.Ask(body.team_id, body.mentor_id, body.topic, body.hours, body.needs, body.wanted_by)
    found = mentoring.create_request(get_session(), current_principal(), ask)
    location = url_for("api.get_mentor_request", request_id=found.id)
    return mentoring.request_out(found), 201, {"Location": location}


@route(
    "/mentor-requests",
    "GET",
    "Mentor requests the reader may see: their teams', their inbox as a mentor, their spaces' as managers",
    tag=TAG,
    query=MentorRequestParams,
    answer=MentorRequestList,
)
def list_mentor_requests(query: MentorRequestParams) -> Any:
    found = mentoring.list_requests(
        get_session(),
        current_principal(),
        team_id=query.team_id,
        mentor_id=query.mentor_id,
        status=query.status,
    )
    return {"items": [mentoring.request_out(r) for r in found]}


@route("/mentor-requests/<int:request_id>", "GET", "One mentor request", tag=TAG, answer=MentorRequestOut)
def get_mentor_request(request_id: int) -> Any:
    return mentoring.request_out(mentoring.get_request(get_session(), current_principal(), request_id))


@route(
    "/mentor-requests/<int:request_id>/accept",
    "POST",
    "Accept: the mentor a pending request (optionally booking the first session), or the team one of the "
    "proposed times",
    tag=TAG,
    body=MentorAcceptIn,
    body_required=False,
    responses={409: "Already answered, beyond the month's hours, or the time is taken"},
    answer=MentorRequestOut,
)
def accept_mentor_request(request_id: int, body: MentorAcceptIn) -> Any:
    found = mentoring.accept_request(
        get_session(), current_principal(), request_id, starts_at=body.starts_at, minutes=body.minutes
    )
    return mentoring.request_out(found)


@route(
    "/mentor-requests/<int:request_id>/decline",
    "POST",
    "Decline a request with a reason category (the mentor)",
    tag=TAG,
    body=MentorDeclineIn,
    responses={409: "Already answered"},
    answer=MentorRequestOut,
)
def decline_mentor_request(request_id: int, body: MentorDeclineIn) -> Any:
    found = mentoring.decline_request(get_session(), current_principal(), request_id, body.reason, body.note)
    return mentoring.request_out(found)


@route(
    "/mentor-requests/<int:request_id>/propose",
    "POST",
    "Propose up to five times from the mentor's office hours; the team accepts one",
    tag=TAG,
    body=MentorProposeIn,
    responses={409: "Already answered"},
    answer=MentorRequestOut,
)
def propose_mentor_times(request_id: int, body: MentorProposeIn) -> Any:
    times = [(t.starts_at, t.starts_at + timedelta(minutes=t.minutes)) for t in body.times]
    found = mentoring.propose_times(get_session(), current_principal(), request_id, times, body.note)
    return mentoring.request_out(found)


@route(
    "/mentor-requests/<int:request_id>/withdraw",
    "POST",
    "Withdraw an open request (the team)",
    tag=TAG,
    responses={409: "Already answered"},
    answer=MentorRequestOut,
)
def withdraw_mentor_request(request_id: int) -> Any:
    return mentoring.request_out(mentoring.withdraw_request(get_session(), current_principal(), request_id))


# Sessions ----------------------------------------------------------------------------------------


@route(
    "/mentor-sessions",
    "GET",
    "Mentor sessions the reader may see",
    tag=TAG,
    query=MentorSessionParams,
    answer=MentorSessionList,
)
def list_mentor_sessions(query: MentorSessionParams) -> Any:
    found = mentoring.list_sessions(
        get_session(), current_principal(), mentor_id=query.mentor_id, team_id=query.team_id
    )
    return {"items": [mentoring.session_out(s) for s in found]}


@route(
    "/mentor-sessions",
    "POST",
    "Book another session of an accepted request in the mentor's office hours",
    tag=TAG,
    body=MentorSessionIn,
    responses={201: "Booked", 409: "The mentor is busy then, or the request is not accepted"},
    answer=MentorSessionOut,
)
def create_mentor_session(body: MentorSessionIn) -> Any:
    found = mentoring.schedule_session(
        get_session(), current_principal(), body.request_id, body.starts_at, body.minutes
    )
    return mentoring.session_out(found), 201


@route("/mentor-sessions/<int:session_id>", "GET", "One mentor session", tag=TAG, answer=MentorSessionOut)
def get_mentor_session(session_id: int) -> Any:
    return mentoring.session_out(mentoring.get_session_row(get_session(), current_principal(), session_id))


@route(
    "/mentor-sessions/<int:session_id>/report",
    "POST",
    "Report a held session: hours delivered, notes and follow-ups the team sees (the mentor)",
    tag=TAG,
    body=MentorReportIn,
    responses={409: "Not started yet, or already reported or cancelled"},
    answer=MentorSessionOut,
)
def report_mentor_session(session_id: int, body: MentorReportIn) -> Any:
    found = mentoring.report_session(
        get_session(),
        current_principal(),
        session_id,
        hours=body.hours,
        notes=body.notes,
        follow_ups=body.follow_ups,
    )
    return mentoring.session_out(found)


@route(
    "/mentor-sessions/<int:session_id>/cancel",
    "POST",
    "Cancel a session before it starts",
    tag=TAG,
    responses={409: "Already started, delivered or cancelled"},
    answer=MentorSessionOut,
)
def cancel_mentor_session(session_id: int) -> Any:
    return mentoring.session_out(mentoring.cancel_session(get_session(), current_principal(), session_id))


@route(
    "/mentor-sessions/<int:session_id>/rating",
    "POST",
    "The team rates a delivered session from 1 to 5, once",
    tag=TAG,
    body=MentorRatingIn,
    responses={409: "Not delivered yet, or already rated"},
    answer=MentorSessionOut,
)
def rate_mentor_session(session_id: int, body: MentorRatingIn) -> Any:
    found = mentoring.rate_session(get_session(), current_principal(), session_id, body.rating, body.comment)
    return mentoring.session_out(found)


@route(
    "/mentor-sessions/<int:session_id>/preparation",
    "POST",
    "The mentor rates the team's preparation from 1 to 5",
    tag=TAG,
    body=MentorPreparationIn,
    responses={409: "Not delivered yet"},
    answer=MentorSessionOut,
)
def rate_team_preparation(session_id: int, body: MentorPreparationIn) -> Any:
    found = mentoring.rate_preparation(get_session(), current_principal(), session_id, body.rating)
    return mentoring.session_out(found)


@route(
    "/mentors/<int:mentor_id>/hours",
    "GET",
    "A mentor's month: capacity, hours committed and delivered (this month unless ``month`` says)",
    tag=TAG,
    query=MentorHoursParams,
    answer=MentorHoursOut,
)
def mentor_hours(mentor_id: int, query: MentorHoursParams) -> Any:
    session = get_session()
    mentor = session.get(Resource, mentor_id)
    if mentor is None or mentor.kind is not ResourceKind.MENTOR or mentor.is_retired:
        raise NotFound("mentor", "导师", mentor_id)
    month = query.month or mentoring.month_of(mentor, utcnow())
    return mentoring.hours_of(session, mentor, month)


@route(
    "/mentors/<int:mentor_id>/office-hours",
    "GET",
    "A mentor's office hours: the weekly periods sessions and proposed times lie in",
    tag=TAG,
    answer=OfficeHoursOut,
)
def office_hours(mentor_id: int) -> Any:
    session = get_session()
    return {"mentor_id": mentor_id, "weekly_hours": mentoring.office_hours(session, mentor_id)}


@route(
    "/mentors/<int:mentor_id>/office-hours",
    "PUT",
    "The mentor (or a manager) sets the office hours; overlapping periods are refused",
    tag=TAG,
    body=OfficeHoursIn,
    answer=OfficeHoursOut,
)
def set_office_hours(mentor_id: int, body: OfficeHoursIn) -> Any:
    hours = mentoring.set_office_hours(
        get_session(), current_principal(), mentor_id, [o.model_dump() for o in body.weekly_hours]
    )
    return {"mentor_id": mentor_id, "weekly_hours": hours}
