"""The manager's cockpit in the JSON API: utilization, unmet demand and the filing form of a space."""

from __future__ import annotations

from typing import Any

from matchmaker.operations import reports, utilization
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
    "the profile still leaves missing (managers); the workbook is at /spaces/<id>/filing.xlsx",
    tag=TAG,
    answer=answers.FilingOut,
)
def get_filing(space_id: int) -> Any:
    return reports.filing_report(get_session(), current_principal(), space_id)
