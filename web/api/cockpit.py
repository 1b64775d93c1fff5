"""The manager's cockpit in the JSON API: utilization, unmet demand, the filing form, quarterly outcomes,
events and trainings, the audit log and the evaluation report of a space."""

from __future__ import annotations

from typing import Any

from flask import Response

from matchmaker import utilization as util_rules
from matchmaker.operations import audit, outcomes, performance, reports, space_events, utilization
from web.api import answers, route, schemas
from web.db import get_session
from web.security import current_principal

TAG = "cockpit"


def _period(space_id: int, query: schemas.PeriodParams) -> utilization.Period:
    session = get_session()
    space = utilization.managed_space(session, current_principal(), space_id)
    return utilization.period_of(space, query.start, query.end)


@route(
    "/spaces/<int:space_id>/utilization",
    "GET",
    "Utilization of a space's bookable resources over a period of local days (managers): booked ÷ "
    "(open − blackout) hours per resource, kind and capability, actual use, no-shows, late "
    "cancellations, the weekly heatmap and the lists to act on",
    tag=TAG,
    query=schemas.PeriodParams,
    responses={422: "The period ends before it starts or spans more than five years"},
    answer=answers.UtilizationOut,
)
def get_utilization(space_id: int, query: schemas.PeriodParams) -> Any:
    period = _period(space_id, query)
    return utilization.space_utilization(get_session(), current_principal(), space_id, period)


@route(
    "/spaces/<int:space_id>/unmet-demand",
    "GET",
    "What teams asked for and did not get, grouped into capabilities the space should add or expand, "
    "with the evidence (managers)",
    tag=TAG,
    query=schemas.PeriodParams,
    responses={422: "The period ends before it starts or spans more than five years"},
    answer=answers.UnmetDemandOut,
)
def get_unmet_demand(space_id: int, query: schemas.PeriodParams) -> Any:
    period = _period(space_id, query)
    return utilization.unmet_demand(get_session(), current_principal(), space_id, period)


@route(
    "/spaces/<int:space_id>/filing",
    "GET",
    "The national basic information form (基础信息表) of a space, every field with its source, and what "
    "the profile still leaves missing (managers); the workbook is at /api/v1/spaces/<id>/filing.xlsx",
    tag=TAG,
    answer=answers.FilingOut,
)
def get_filing(space_id: int) -> Any:
    return reports.filing_report(get_session(), current_principal(), space_id)


@route(
    "/spaces/<int:space_id>/filing.xlsx",
    "GET",
    "The national basic information form (基础信息表) of a space as an XLSX workbook laid out like the "
    "form (managers); recorded in the audit log as an export",
    tag=TAG,
    media=reports.XLSX,
)
def get_filing_workbook(space_id: int) -> Any:
    raw, name = reports.export_filing_workbook(get_session(), current_principal(), space_id, via="api")
    return Response(
        raw, mimetype=reports.XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# Quarterly outcomes --------------------------------------------------------------------------------


@route(
    "/teams/<int:team_id>/outcomes",
    "POST",
    "Submit (or correct) a quarter's operating data of a team (its members); a manager verifies it",
    tag=TAG,
    body=schemas.OutcomeIn,
    responses={409: "Already verified, or the team is not admitted", 422: "A quarter that has not begun"},
    answer=answers.OutcomeOut,
)
def submit_outcome(team_id: int, body: schemas.OutcomeIn) -> Any:
    figures = outcomes.OutcomeFigures(
        revenue_band=body.revenue_band,
        employees=body.employees,
        funding_raised_10k_cny=body.funding_raised_10k_cny,
        patents_applied=body.patents_applied,
        patents_granted=body.patents_granted,
        technical_results=body.technical_results,
        results_transferred=body.results_transferred,
    )
    found = outcomes.submit_outcome(
        get_session(), current_principal(), team_id, body.year, body.quarter, figures
    )
    return outcomes.outcome_out(found)


@route(
    "/teams/<int:team_id>/outcomes",
    "GET",
    "A team's quarterly operating data (its members and the space's managers)",
    tag=TAG,
    answer=answers.OutcomeList,
)
def list_team_outcomes(team_id: int) -> Any:
    found = outcomes.team_outcomes(get_session(), current_principal(), team_id)
    return {"items": [outcomes.outcome_out(o) for o in found]}


@route(
    "/spaces/<int:space_id>/outcomes",
    "GET",
    "The quarterly operating data of a space's teams, to verify (managers)",
    tag=TAG,
    query=schemas.OutcomeListParams,
    answer=answers.OutcomeList,
)
def list_space_outcomes(space_id: int, query: schemas.OutcomeListParams) -> Any:
    found = outcomes.list_outcomes(
        get_session(), current_principal(), space_id, status=query.status, first=query.start, last=query.end
    )
    return {"items": [outcomes.outcome_out(o) for o in found]}


@route(
    "/outcomes/<int:outcome_id>/review",
    "POST",
    "Verify a team's quarterly figures or return them with a note (managers); the first decision wins",
    tag=TAG,
    body=schemas.OutcomeReviewIn,
    responses={409: "Already verified or returned"},
    answer=answers.OutcomeOut,
)
def review_outcome(outcome_id: int, body: schemas.OutcomeReviewIn) -> Any:
    found = outcomes.review_outcome(get_session(), current_principal(), outcome_id, body.decision, body.note)
    return outcomes.outcome_out(found)


# Events and trainings ------------------------------------------------------------------------------


@route(
    "/spaces/<int:space_id>/events",
    "POST",
    "Record an event or a training of the space (managers)",
    tag=TAG,
    body=schemas.EventIn,
    responses={201: "Recorded", 422: "Ends before it starts"},
    answer=answers.EventOut,
)
def create_event(space_id: int, body: schemas.EventIn) -> Any:
    event = space_events.create_event(
        get_session(),
        current_principal(),
        space_id,
        kind=body.kind,
        title_zh=body.title_zh,
        title_en=body.title_en,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        capacity=body.capacity,
    )
    return space_events.event_out(event, 0, 0), 201


@route(
    "/spaces/<int:space_id>/events",
    "GET",
    "A space's events and trainings with registrations and attendance (its people)",
    tag=TAG,
    answer=answers.EventList,
)
def list_events(space_id: int) -> Any:
    return {"items": space_events.list_events(get_session(), current_principal(), space_id)}


@route(
    "/events/<int:event_id>/registrations",
    "POST",
    "Register for an event or a training (people of its space), optionally for one's team",
    tag=TAG,
    body=schemas.RegistrationIn,
    body_required=False,
    responses={201: "Registered", 409: "Full, or already registered"},
    answer=answers.RegistrationOut,
)
def register_for_event(event_id: int, body: schemas.RegistrationIn) -> Any:
    found = space_events.register(get_session(), current_principal(), event_id, body.team_id)
    return {
        "id": found.id,
        "event_id": found.event_id,
        "user_id": found.user_id,
        "team_id": found.team_id,
        "attended": found.attended,
    }, 201


@route(
    "/events/<int:event_id>/attendance",
    "PUT",
    "Record who attended (managers): the people listed attended, every other registrant did not",
    tag=TAG,
    body=schemas.AttendanceIn,
    responses={422: "Someone listed did not register"},
    answer=answers.EventOut,
)
def record_attendance(event_id: int, body: schemas.AttendanceIn) -> Any:
    return space_events.record_attendance(get_session(), current_principal(), event_id, body.user_ids)


# The audit log and the evaluation report -------------------------------------------------------------


def audit_filter(space_id: int, query: schemas.AuditParams) -> audit.AuditFilter:
    space = utilization.managed_space(get_session(), current_principal(), space_id)
    start = end = None
    first, last = query.start or query.end, query.end or query.start
    if first is not None and last is not None:  # one day given stands for that day alone
        start, end = util_rules.period_bounds(first, last, space.timezone)
    return audit.AuditFilter(query.action, query.actor_id, query.subject, start, end, query.before_id)


@route(
    "/spaces/<int:space_id>/audit",
    "GET",
    "The audit log of a space, newest first, filtered by action, actor, subject and days (managers)",
    tag=TAG,
    query=schemas.AuditParams,
    answer=answers.AuditPage,
)
def browse_audit(space_id: int, query: schemas.AuditParams) -> Any:
    wanted = audit_filter(space_id, query)
    items = audit.browse(get_session(), current_principal(), space_id, wanted)
    return {"items": items, "next_before_id": items[-1]["id"] if len(items) == audit.PAGE else None}


@route(
    "/spaces/<int:space_id>/evaluation",
    "GET",
    "The self-evaluation report of a space for a period, each figure with its evidence, and the success "
    "cases (managers); printable at /spaces/<id>/evaluation, as PDF at /spaces/<id>/evaluation.pdf",
    tag=TAG,
    query=schemas.PeriodParams,
    responses={422: "The period ends before it starts or spans more than five years"},
    answer=answers.EvaluationOut,
)
def get_evaluation(space_id: int, query: schemas.PeriodParams) -> Any:
    period = _period(space_id, query)
    return performance.evaluation_report(get_session(), current_principal(), space_id, period)
