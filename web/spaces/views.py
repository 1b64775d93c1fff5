"""Pages: the list of spaces and a space's profile (with the filing figures for its managers)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from matchmaker.errors import Forbidden
from matchmaker.operations import spaces as space_ops
from matchmaker.permissions import can_edit_space
from models import Resource
from web.api import schemas
from web.db import get_session
from web.pages import form_to_model, render_form
from web.security import current_principal, login_required
from web.units import attempt

bp = Blueprint("spaces", __name__)


@bp.get("/")
def index() -> Any:
    session = get_session()
    counts = dict(
        session.execute(
            select(Resource.space_id, func.count(Resource.id))
            .where(Resource.retired_at.is_(None))
            .group_by(Resource.space_id)
        ).all()
    )
    team_counts = space_ops.resident_team_counts(session)
    return render_template(
        "spaces/index.html",
        spaces=space_ops.list_spaces(session),
        resource_counts=counts,
        team_counts=team_counts,
    )


@bp.get("/spaces/<int:space_id>")
def show(space_id: int) -> Any:
    session = get_session()
    space = space_ops.get_space(session, space_id)
    can_edit = can_edit_space(current_principal(), space_id)
    figures = space_ops.filing_figures(session, space_id) if can_edit else None
    return render_template("spaces/show.html", space=space, figures=figures, can_edit=can_edit)


@bp.route("/spaces/<int:space_id>/edit", methods=["GET", "POST"])
@login_required
def edit(space_id: int) -> Any:
    session = get_session()
    space = space_ops.get_space(session, space_id)
    if not can_edit_space(current_principal(), space_id):
        raise Forbidden("edit this space's profile", "编辑该空间的信息")
    if request.method == "GET":
        return render_form("spaces/edit.html", None, space=space)
    _done, error = attempt(
        lambda: space_ops.update_profile(
            session,
            current_principal(),
            space_id,
            schemas.changes(form_to_model(schemas.SpaceUpdate)),
        )
    )
    if error:
        return render_form("spaces/edit.html", error, space=space)
    flash(_("Space profile saved."), "success")
    return redirect(url_for("spaces.show", space_id=space_id))
