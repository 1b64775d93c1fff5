"""Pages: apply with a team, the team page (profile, members, stage history), editing, and the
manager's admission review and stage changes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from matchmaker import lifecycles
from matchmaker.errors import Forbidden
from matchmaker.operations import catalogue, spaces, teams
from matchmaker.permissions import can_edit_team, can_manage_members, can_review_team, can_see_recommendations
from web import recommendations
from web.api import schemas
from web.db import get_session
from web.i18n import current_locale
from web.pages import form_to_model, render_form
from web.security import current_principal, login_required, require_user
from web.units import attempt

bp = Blueprint("teams", __name__)


@bp.route("/spaces/<int:space_id>/apply", methods=["GET", "POST"])
@login_required
def apply(space_id: int) -> Any:
    session = get_session()
    space = spaces.get_space(session, space_id)
    context = {"space": space, "tags": catalogue.list_tags(session), "team": None}
    if request.method == "GET":
        return render_form("teams/form.html", None, **context)

    def _apply() -> Any:
        body = form_to_model(schemas.TeamApply, extra={"space_id": space_id})
        return teams.apply_for_admission(
            session,
            current_principal(),
            require_user(),
            space_id=space_id,
            fields=body.model_dump(exclude={"space_id"}),
        )

    team, error = attempt(_apply)
    if error or team is None:
        return render_form("teams/form.html", error, **context)
    flash(_("Application sent. The space's managers will review it against the entry criteria."), "success")
    return redirect(url_for("teams.show", team_id=team.id))


@bp.get("/teams/<int:team_id>")
@login_required
def show(team_id: int) -> Any:
    principal = current_principal()
    team = teams.get_team(get_session(), principal, team_id)
    ref = teams.ref(team)
    return render_template(
        "teams/show.html",
        team=team,
        recommended=_recommended(team),
        can_edit=can_edit_team(principal, ref) and team.stage not in lifecycles.FINAL_STAGES,
        can_manage_members=can_manage_members(principal, ref),
        can_review=can_review_team(principal, ref),
        next_stages=sorted(lifecycles.STAGE_TRANSITIONS[team.stage.value]),
    )


def _recommended(team: Any) -> dict[str, Any] | None:
    """What fits the team, for its members and managers once it is admitted."""
    principal = current_principal()
    if team.admission_status.value != "admitted" or not can_see_recommendations(principal, teams.ref(team)):
        return None
    return recommendations.for_team(team)


@bp.get("/teams/<int:team_id>/recommendations")
@login_required
def recommended(team_id: int) -> Any:
    """The recommendations section alone, which the team page fetches again when they change."""
    team = teams.get_team(get_session(), current_principal(), team_id)
    found = _recommended(team)
    if found is None:
        raise Forbidden("see this team's recommendations", "查看该团队的推荐")
    return render_template("teams/_recommended.html", team=team, recommended=found)


@bp.route("/teams/<int:team_id>/edit", methods=["GET", "POST"])
@login_required
def edit(team_id: int) -> Any:
    session = get_session()
    principal = current_principal()
    team = teams.get_team(session, principal, team_id)
    if not can_edit_team(principal, teams.ref(team)):
        raise Forbidden("edit this team", "编辑该团队")
    context = {"space": team.space, "tags": catalogue.list_tags(session), "team": team}
    if request.method == "GET":
        return render_form("teams/form.html", None, **context)

    def _update() -> Any:
        body = form_to_model(schemas.TeamUpdate)
        return teams.update_team(session, principal, team_id, body.model_dump(exclude_unset=True))

    updated, error = attempt(_update)
    if error or updated is None:
        return render_form("teams/form.html", error, **context)
    flash(_("Team profile saved."), "success")
    return redirect(url_for("teams.show", team_id=team_id))


@bp.post("/teams/<int:team_id>/members")
@login_required
def add_member(team_id: int) -> Any:
    def _add() -> Any:
        body = form_to_model(schemas.MemberIn)
        return teams.add_member(get_session(), current_principal(), team_id, email=body.email, role=body.role)

    _done, error = attempt(_add)
    if error:
        flash(error.message(current_locale()), "danger")
    else:
        flash(_("Member added."), "success")
    return redirect(url_for("teams.show", team_id=team_id))


@bp.post("/teams/<int:team_id>/members/<int:user_id>/remove")
@login_required
def remove_member(team_id: int, user_id: int) -> Any:
    _done, error = attempt(lambda: teams.remove_member(get_session(), current_principal(), team_id, user_id))
    if error:
        flash(error.message(current_locale()), "danger")
    else:
        flash(_("Member removed."), "info")
    return redirect(url_for("teams.show", team_id=team_id))


@bp.get("/spaces/<int:space_id>/review")
@login_required
def review_list(space_id: int) -> Any:
    session = get_session()
    space = spaces.get_space(session, space_id)
    if not current_principal().is_manager_of(space_id):
        raise Forbidden("review admissions in this space", "审核该空间的入驻申请")
    all_teams = teams.list_teams(session, current_principal(), space_id)
    return render_template("teams/review_list.html", space=space, teams=all_teams)


@bp.route("/teams/<int:team_id>/review", methods=["GET", "POST"])
@login_required
def review(team_id: int) -> Any:
    session = get_session()
    principal = current_principal()
    team = teams.get_team(session, principal, team_id)
    if not can_review_team(principal, teams.ref(team)):
        raise Forbidden("review admissions in this space", "审核该空间的入驻申请")
    context = {"team": team, "space": team.space}
    if request.method == "GET":
        return render_form("teams/review.html", None, **context)

    def _review() -> Any:
        criteria = {c["key"]: f"criterion.{c['key']}" in request.form for c in team.space.entry_criteria}
        body = form_to_model(schemas.ReviewIn, extra={"criteria_met": criteria})
        return teams.review_admission(
            session,
            principal,
            team_id,
            **body.model_dump(),
        )

    decided, error = attempt(_review)
    if error or decided is None:
        return render_form("teams/review.html", error, **context)
    flash(_("Decision recorded."), "success")
    return redirect(url_for("teams.review_list", space_id=team.space_id))


@bp.post("/teams/<int:team_id>/stage")
@login_required
def change_stage(team_id: int) -> Any:
    def _change() -> Any:
        body = form_to_model(schemas.StageIn)
        return teams.change_stage(get_session(), current_principal(), team_id, to=body.to, reason=body.reason)

    _done, error = attempt(_change)
    if error:
        flash(error.message(current_locale()), "danger")
    else:
        flash(_("Stage updated."), "success")
    return redirect(url_for("teams.show", team_id=team_id))
