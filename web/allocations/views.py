"""Allocation round pages: a manager picks the teams that asked and what each mentor or pilot line
offers, reviews the optimal draft, then publishes or discards it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from matchmaker import lifecycles
from matchmaker.errors import InvalidInput
from matchmaker.operations import allocations, spaces
from models import AdmissionStatus, Resource, Team
from web.db import get_session
from web.i18n import current_locale
from web.recommendations import model_folder
from web.security import current_principal, login_required
from web.units import attempt

bp = Blueprint("allocations", __name__)
KINDS = ("mentor", "pilot_line")


def _default_units(resource: Resource) -> int:
    if resource.kind.value == "mentor":
        return int(resource.attributes.get("monthly_hours") or 8)
    return 4  # pilot-line weeks in a round


def _choices(space_id: int, kind: str) -> tuple[list[Team], list[Resource]]:
    session = get_session()
    teams = list(
        session.scalars(
            select(Team)
            .where(
                Team.space_id == space_id,
                Team.admission_status == AdmissionStatus.ADMITTED,
                Team.stage.in_(lifecycles.ACTIVE_STAGES),
            )
            .order_by(Team.id)
        )
    )
    resources = list(
        session.scalars(
            select(Resource)
            .where(Resource.space_id == space_id, Resource.kind == kind, Resource.retired_at.is_(None))
            .order_by(Resource.id)
        )
    )
    return teams, resources


@bp.route("/spaces/<int:space_id>/allocation-rounds", methods=["GET", "POST"])
@login_required
def index(space_id: int) -> Any:
    session = get_session()
    principal = current_principal()
    space = spaces.get_space(session, space_id)
    rounds = allocations.list_rounds(session, principal, space_id)  # managers only
    kind = request.values.get("kind", "mentor")
    kind = kind if kind in KINDS else "mentor"
    teams, resources = _choices(space_id, kind)
    error = None
    if request.method == "POST":
        found, problem = attempt(
            lambda: allocations.create_round(
                session, principal, _spec(space_id, kind), model_folder=model_folder()
            )
        )
        if problem is not None or found is None:
            error = problem.message(current_locale()) if problem else None
        else:
            flash(_("The round is computed. Review it, then publish it."), "success")
            return redirect(url_for("allocations.show", round_id=found.id))
    return render_template(
        "allocations/index.html",
        space=space,
        rounds=rounds,
        kind=kind,
        teams=teams,
        resources=resources,
        default_units=_default_units,
        error_message=error,
        form=request.form,
    ), (422 if error else 200)


def _number(name: str, default: str, cast: type[int] | type[float]) -> Any:
    raw = request.form.get(name, default).strip() or default
    try:
        return cast(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"{name} must be a number.", f"{name} 必须是数字。", details={"fields": {name: "not_a_number"}}
        ) from exc


def _spec(space_id: int, kind: str) -> allocations.RoundSpec:
    capacity = {}
    for key, value in request.form.items():
        if key.startswith("capacity-") and key[9:].isdigit() and value.strip():
            units = _number(key, "0", int)
            if units > 0:
                capacity[int(key[9:])] = units
    if not capacity:
        raise InvalidInput(
            "This is a round with zero capacity: no resource offers any units.",
            "本轮分配的容量为零：没有任何资源提供可分配的单位。",
            details={"fields": {"capacity": "zero_total"}},
        )
    team_ids = [int(v) for v in request.form.getlist("team_ids") if v.isdigit()]
    title = request.form.get("title", "").strip()[:200] or _("Allocation round")
    return allocations.RoundSpec(
        space_id=space_id,
        title=title,
        resource_kind=kind,
        team_ids=team_ids,
        capacity=capacity,
        units_per_assignment=max(1, _number("units_per_assignment", "1", int)),
        team_limit=max(1, _number("team_limit", "1", int)),
        load_penalty=max(0.0, _number("load_penalty", "0", float)),
    )


@bp.get("/allocation-rounds/<int:round_id>")
@login_required
def show(round_id: int) -> Any:
    session = get_session()
    principal = current_principal()
    found = allocations.get_round(session, principal, round_id)
    teams = {t.id: t for t in session.scalars(select(Team).where(Team.id.in_(found.team_ids)))}
    return render_template(
        "allocations/show.html",
        found=found,
        view=allocations.round_out(found, principal),
        teams=teams,
        manager=principal.is_manager_of(found.space_id),
    )


@bp.post("/allocation-rounds/<int:round_id>/<action>")
@login_required
def decide(round_id: int, action: str) -> Any:
    session = get_session()
    operation = {"publish": allocations.publish_round, "discard": allocations.discard_round}.get(action)
    if operation is None:
        return redirect(url_for("allocations.show", round_id=round_id))
    _done, problem = attempt(lambda: operation(session, current_principal(), round_id))
    if problem is not None:
        flash(problem.message(current_locale()), "danger")
    else:
        flash(
            _("Published: the teams and mentors have been told.") if action == "publish" else _("Discarded."),
            "success",
        )
    return redirect(url_for("allocations.show", round_id=round_id))
