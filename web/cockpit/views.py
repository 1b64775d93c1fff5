"""The cockpit pages of a space's managers: the figures (drawn by the server, fetched again live when a
booking changes), the charts (drawn from the API's answer, each downloadable as PNG, SVG and CSV), the
unmet-demand suggestions and the filing workbook."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _

from matchmaker.operations import reports, utilization
from models import Stage
from web.api import parse_query, schemas
from web.db import get_session
from web.security import current_principal, login_required

bp = Blueprint("cockpit", __name__)
CHARTS = ("daily", "heatmap", "funnel", "resources")


def _report(space_id: int) -> tuple[Any, utilization.Period, dict[str, Any]]:
    session = get_session()
    query = parse_query(schemas.PeriodParams)
    assert isinstance(query, schemas.PeriodParams)  # noqa: S101  (parse_query returns the model it is given)
    space = utilization.managed_space(session, current_principal(), space_id)
    period = utilization.period_of(space, query.start, query.end)
    return space, period, utilization.space_utilization(session, current_principal(), space_id, period)


@bp.get("/spaces/<int:space_id>/cockpit")
@login_required
def show(space_id: int) -> Any:
    space, period, report = _report(space_id)
    demand = utilization.unmet_demand(get_session(), current_principal(), space_id, period)
    return render_template(
        "cockpit/show.html", space=space, period=period, report=report, demand=demand, charts=CHARTS
    )


@bp.get("/spaces/<int:space_id>/cockpit/figures")
@login_required
def figures(space_id: int) -> Any:
    """The headline figures alone, as the page draws them: fetched again when a booking changes."""
    space, period, report = _report(space_id)
    return render_template("cockpit/_figures.html", space=space, period=period, report=report)


def _rows(chart: str, report: dict[str, Any]) -> list[list[Any]]:
    if chart == "daily":
        return [["day", "booked_hours"], *([d["day"], d["hours"]] for d in report["daily_booked_hours"])]
    if chart == "heatmap":
        days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        return [["weekday", *range(24)], *([days[i], *row] for i, row in enumerate(report["heatmap"]))]
    if chart == "funnel":
        return [["stage", "teams"], *([s.value, report["stage_funnel"][s.value]] for s in Stage)]
    return [
        ["resource_id", "name_zh", "name_en", "kind", "available_hours", "booked_hours", "utilization"],
        *(
            [
                r["id"],
                r["name_zh"],
                r["name_en"],
                r["kind"],
                r["available_hours"],
                r["booked_hours"],
                r["utilization"],
            ]
            for r in report["resources"]
        ),
    ]


@bp.get("/spaces/<int:space_id>/cockpit/<any(daily,heatmap,funnel,resources):chart>.csv")
@login_required
def chart_csv(space_id: int, chart: str) -> Any:
    space, period, report = _report(space_id)
    out = io.StringIO()
    csv.writer(out).writerows(_rows(chart, report))
    name = f"{space.slug}-{chart}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        "\ufeff" + out.getvalue(),  # a byte-order mark, so spreadsheet programs read the Chinese right
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/spaces/<int:space_id>/filing.xlsx")
@login_required
def filing_workbook(space_id: int) -> Any:
    raw = reports.filing_workbook(get_session(), current_principal(), space_id)
    space = utilization.managed_space(get_session(), current_principal(), space_id)
    return Response(
        raw,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{space.slug}-filing.xlsx"'},
    )


def chart_titles() -> dict[str, str]:
    return {
        "daily": _("Booked hours per day"),
        "heatmap": _("Bookings by weekday and hour"),
        "funnel": _("Teams along the incubation chain"),
        "resources": _("Utilization per resource"),
    }
