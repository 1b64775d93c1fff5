"""The cockpit pages of a space's managers: the figures (drawn by the server, fetched again live when a
booking changes), the charts (drawn from the API's answer, each downloadable as PNG, SVG and CSV), the
unmet-demand suggestions and the filing workbook."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from matchmaker import utilization as util_rules
from matchmaker.lifecycles import DEAL_STAGE_NAMES
from matchmaker.operations import audit, performance, reports, utilization
from models import DealStage, Stage
from web.api import schemas
from web.db import get_session
from web.security import current_principal, login_required

bp = Blueprint("cockpit", __name__)


def _args() -> dict[str, str]:
    """A page's query, parsed by the API's schema; a field the form left empty counts as not given."""
    return {k: v for k, v in request.args.items() if v.strip() and k != "lang"}


CHARTS = ("daily", "heatmap", "funnel", "resources", "pipeline")


def _space_and_period(space_id: int) -> tuple[Any, utilization.Period]:
    query = schemas.PeriodParams.model_validate(_args())
    space = utilization.managed_space(get_session(), current_principal(), space_id)
    return space, utilization.period_of(space, query.start, query.end)


def _report(space_id: int, *, hourly_figures: bool = True) -> tuple[Any, utilization.Period, dict[str, Any]]:
    space, period = _space_and_period(space_id)
    found = utilization.space_utilization(
        get_session(), current_principal(), space_id, period, hourly_figures=hourly_figures
    )
    return space, period, found


@bp.get("/spaces/<int:space_id>/cockpit")
@login_required
def show(space_id: int) -> Any:
    space, period, report = _report(space_id, hourly_figures=False)
    demand = utilization.unmet_demand(get_session(), current_principal(), space_id, period)
    return render_template(
        "cockpit/show.html",
        space=space,
        period=period,
        report=report,
        demand=demand,
        charts=CHARTS,
        deal_stage_names=DEAL_STAGE_NAMES,
    )


@bp.get("/spaces/<int:space_id>/cockpit/figures")
@login_required
def figures(space_id: int) -> Any:
    """The headline figures alone, as the page draws them: fetched again when a booking changes."""
    space, period, report = _report(space_id, hourly_figures=False)
    return render_template("cockpit/_figures.html", space=space, period=period, report=report)


def _rows(chart: str, report: dict[str, Any]) -> list[list[Any]]:
    if chart == "daily":
        return [["day", "booked_hours"], *([d["day"], d["hours"]] for d in report["daily_booked_hours"])]
    if chart == "heatmap":
        days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        return [["weekday", *range(24)], *([days[i], *row] for i, row in enumerate(report["heatmap"]))]
    if chart == "funnel":
        return [["stage", "teams"], *([s.value, report["stage_funnel"][s.value]] for s in Stage)]
    if chart == "pipeline":
        deals = report["deal_flow"]["deals"]
        return [["deal_stage", "deals"], *([s.value, deals[s.value]] for s in DealStage)]
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


@bp.get("/spaces/<int:space_id>/cockpit/<any(daily,heatmap,funnel,resources,pipeline):chart>.csv")
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
    raw, name = reports.export_filing_workbook(get_session(), current_principal(), space_id, via="page")
    return Response(
        raw,
        mimetype=reports.XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# The evaluation report ---------------------------------------------------------------------------------

REPORT_CSS = Path(__file__).resolve().parents[1] / "static" / "report.css"


def item_labels() -> dict[str, str]:
    return {
        "desks_provided": _("Desks provided"),
        "desk_occupancy": _("Desk occupancy"),
        "resident_teams": _("Resident teams"),
        "resident_makers": _("Resident makers"),
        "graduates": _("Teams graduated in the period"),
        "events_held": _("Innovation and entrepreneurship events held"),
        "trainings_held": _("Trainings held"),
        "investment_raised_10k_cny": _("Investment raised (10,000 CNY)"),
        "patents_applied": _("Patents applied for"),
        "patents_granted": _("Patents granted"),
        "technical_results": _("Technical results"),
        "results_transferred": _("Results transferred"),
        "shared_equipment_utilization": _("Utilization of shared equipment and pilot lines"),
    }


def _evaluation(space_id: int) -> tuple[Any, dict[str, Any]]:
    space, period = _space_and_period(space_id)
    return space, performance.evaluation_report(get_session(), current_principal(), space_id, period)


@bp.get("/spaces/<int:space_id>/evaluation")
@login_required
def evaluation(space_id: int) -> Any:
    space, found = _evaluation(space_id)
    return render_template(
        "cockpit/evaluation.html", space=space, report=found, item_labels=item_labels(), pdf=False
    )


@bp.get("/spaces/<int:space_id>/evaluation.pdf")
@login_required
def evaluation_pdf(space_id: int) -> Any:
    from weasyprint import CSS, HTML

    space, found = _evaluation(space_id)
    html = render_template(
        "cockpit/evaluation.html", space=space, report=found, item_labels=item_labels(), pdf=True
    )
    pdf = HTML(string=html, base_url=request.url_root).write_pdf(stylesheets=[CSS(filename=str(REPORT_CSS))])
    audit.record(
        get_session(),
        current_principal(),
        space_id=space.id,
        action="evaluation_exported",
        subject=f"space:{space.id}",
        period=found["period"],
    )
    name = f"{space.slug}-evaluation-{found['period']['start']}-{found['period']['end']}.pdf"
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# The audit log -------------------------------------------------------------------------------------------


def _audit_filter(space_id: int) -> tuple[Any, schemas.AuditParams, audit.AuditFilter]:
    query = schemas.AuditParams.model_validate(_args())
    space = utilization.managed_space(get_session(), current_principal(), space_id)
    start = end = None
    first, last = query.start or query.end, query.end or query.start
    if first is not None and last is not None:
        start, end = util_rules.period_bounds(first, last, space.timezone)
    return (
        space,
        query,
        audit.AuditFilter(query.action, query.actor_id, query.subject, start, end, query.before_id),
    )


@bp.get("/spaces/<int:space_id>/audit")
@login_required
def audit_log(space_id: int) -> Any:
    space, query, wanted = _audit_filter(space_id)
    entries = audit.browse(get_session(), current_principal(), space_id, wanted)
    return render_template(
        "cockpit/audit.html",
        space=space,
        query=query,
        entries=entries,
        actions=audit.actions(get_session(), space_id),
        older=entries[-1]["id"] if len(entries) == audit.PAGE else None,
    )


@bp.get("/spaces/<int:space_id>/audit.csv")
@login_required
def audit_csv(space_id: int) -> Any:
    space, _query, wanted = _audit_filter(space_id)
    entries = audit.browse(get_session(), current_principal(), space_id, wanted, limit=audit.CSV_LIMIT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at", "actor_id", "actor_name", "action", "subject", "before", "after", "detail"])
    for e in entries:
        writer.writerow(
            [
                e["id"],
                e["at"],
                e["actor_id"],
                e["actor_name"],
                e["action"],
                e["subject"],
                json.dumps(e["before"], ensure_ascii=False),
                json.dumps(e["after"], ensure_ascii=False),
                json.dumps(e["detail"], ensure_ascii=False),
            ]
        )
    audit.record(
        get_session(),
        current_principal(),
        space_id=space.id,
        action="audit_exported",
        subject=f"space:{space.id}",
        rows=len(entries),
    )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{space.slug}-audit.csv"'},
    )
