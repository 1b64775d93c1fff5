"""Task pages: the task board, a task's page (live bid count, bids and amounts for its host), the host's
task desk with the posting form, and a team's bids. Actions post forms that call the same operations as
the API; the pages render on the server and follow ``task_changed`` events live."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker import lifecycles
from matchmaker import tasks as rules
from matchmaker.errors import InvalidInput, MatchmakerError
from matchmaker.operations import task_matching
from matchmaker.operations import tasks as ops
from models import Organization, Space, Tag, Task, TaskBid, TaskStatus, Team
from web.api import schemas
from web.clock import now
from web.db import get_session
from web.i18n import current_locale
from web.pages import form_to_model, render_form
from web.security import current_principal, login_required
from web.units import attempt

bp = Blueprint("tasks", __name__)

IP_TERMS: dict[str, Any] = {
    "host_owns": _l("The host owns the results"),
    "shared": _l("Shared ownership"),
    "team_owns_licensed": _l("The team owns them and licenses the host"),
    "custom": _l("Custom terms"),
}
VISIBILITY: dict[str, Any] = {
    "public": _l("Every admitted team"),
    "residents": _l("Resident teams of this space"),
    "invited": _l("Invited teams only"),
}
CANCEL_REASONS: dict[str, Any] = {
    "no_bids": _l("No bids"),
    "no_suitable_bid": _l("No suitable bid"),
    "requirements_changed": _l("Requirements changed"),
    "budget_withdrawn": _l("Budget withdrawn"),
    "team_unresponsive": _l("Awarded team unresponsive"),
}


def _names(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    zh = current_locale().startswith("zh")
    return {code: (zh_name if zh else en_name) for code, (en_name, zh_name) in table.items()}


def _context() -> dict[str, Any]:
    return {
        "task_statuses": _names(lifecycles.TASK_STATUS_NAMES),
        "bid_statuses": _names(lifecycles.BID_STATUS_NAMES),
        "milestone_statuses": _names(lifecycles.MILESTONE_STATUS_NAMES),
        "ip_terms": IP_TERMS,
        "visibility_names": VISIBILITY,
        "cancel_reasons": CANCEL_REASONS,
    }


@bp.get("/tasks")
@login_required
def board() -> Any:
    session, principal = get_session(), current_principal()
    raw = {k: v for k, v in request.args.items() if k in ("status", "reward_min", "deadline_before") and v}
    tags = [t for t in request.args.getlist("tag") if t]
    wanted = schemas.TaskBoardParams.model_validate({**raw, "tag": tags})
    found = ops.list_tasks(
        session,
        principal,
        ops.BoardFilter(
            tags=wanted.tag,
            status=wanted.status,
            reward_at_least=wanted.reward_min,
            deadline_before=wanted.deadline_before,
        ),
    )
    recommended = []
    for team in session.scalars(
        select(Team).where(Team.id.in_(list(principal.teams) or [0])).order_by(Team.id)
    ):
        if team.is_resident:
            picked = task_matching.tasks_for_team(session, principal, team.id, k=5)
            recommended.append((team, picked))
    return render_template(
        "tasks/board.html",
        recommended=recommended,
        tasks=found,
        counts={t.id: ops.bid_count(session, t.id) for t in found},
        all_tags=list(session.scalars(select(Tag).order_by(Tag.slug))),
        chosen=wanted,
        spaces=sorted(principal.spaces()),
        **_context(),
    )


def _page(task_id: int, status: int = 200, error: MatchmakerError | None = None) -> Any:
    session, principal = get_session(), current_principal()
    task = ops.get_task(session, principal, task_id)
    host = ops.is_host(session, principal, task)
    visible = ops.details_visible(session, principal, task)
    teams = [
        t
        for t in session.scalars(
            select(Team).where(Team.id.in_(list(principal.teams) or [0])).order_by(Team.id)
        )
        if t.is_resident
    ]
    _task, bids = ops.bids_for(session, principal, task.id)
    fits = ops.team_fits(session, task, [b.team_id for b in bids]) if host else {}
    context = {
        "task": task,
        "host": host,
        "details_visible": visible,
        "bid_count": ops.bid_count(session, task.id),
        "bids": bids,
        "fits": fits,
        "attached": ops.attachments_of(session, [b.id for b in bids]),
        "my_teams": teams,
        "my_bid_team_ids": {b.team_id for b in bids if b.team_id in principal.teams},
        "questions": ops.questions(session, principal, task.id) if visible else [],
        "milestones": ops.milestones_of(session, principal, task.id),
        "ratings": ops.ratings_of(session, principal, task.id),
        "fitting": ops.fitting_teams(session, principal, task.id)
        if host and task.status.value != "draft"
        else [],
        "bidding_open": task.status is TaskStatus.OPEN
        and (task.bid_deadline is None or now() < task.bid_deadline),
        "zone": ZoneInfo(task.space.timezone),
        **_context(),
    }
    if error is not None:
        return render_form("tasks/show.html", error, **context)
    return render_template("tasks/show.html", **context), status


@bp.get("/tasks/<int:task_id>")
@login_required
def show(task_id: int) -> Any:
    return _page(task_id)


def _id(name: str) -> int:
    raw = request.form.get(name, "")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= schemas.MAX_ID):
        raise InvalidInput(
            f"Choose a valid {name}.", f"请选择有效的{name}。", details={"fields": {name: "invalid_id"}}
        )
    return int(raw)


def _bid_in() -> schemas.BidIn:
    return form_to_model(schemas.BidIn)


def _file() -> tuple[str, bytes] | None:
    upload = request.files.get("attachment")
    if upload is None or not upload.filename:
        return None
    # One byte more than allowed is enough to know the file is too large.
    return upload.filename[:200], upload.stream.read(rules.MAX_ATTACHMENT_BYTES + 1)


def _attach_file(bid_id: int, moment: datetime) -> Any:
    given = _file()
    if given is None:
        raise InvalidInput("Choose a file.", "请选择文件。", details={"fields": {"attachment": "required"}})
    return ops.attach(get_session(), current_principal(), bid_id, given[0], given[1], moment)


def _place_bid_with_file(task_id: int, moment: datetime) -> Any:
    bid = ops.place_bid(
        get_session(), current_principal(), task_id, ops.BidSpec(**_bid_in().model_dump()), moment
    )
    given = _file()
    if given is not None:
        ops.attach(get_session(), current_principal(), bid.id, given[0], given[1], moment)
    return bid


def _act(task_id: int, action: str) -> Any:
    session, principal, moment = get_session(), current_principal(), now()
    actions: dict[str, Callable[[], Any]] = {
        "publish": lambda: ops.publish_task(session, principal, task_id, moment),
        "cancel": lambda: ops.cancel_task(
            session,
            principal,
            task_id,
            form_to_model(schemas.CancelTaskIn).reason,
            request.form.get("comment", "")[:4000],
            moment,
        ),
        "terms": lambda: ops.accept_terms(session, principal, task_id, _id("team_id"), moment),
        "bid": lambda: _place_bid_with_file(task_id, moment),
        "attach": lambda: _attach_file(_id("bid_id"), moment),
        "withdraw": lambda: ops.withdraw_bid(session, principal, _id("bid_id"), moment),
        "shortlist": lambda: ops.shortlist_bid(
            session, principal, _id("bid_id"), form_to_model(schemas.ShortlistIn).clarification
        ),
        "ask": lambda: ops.ask(
            session, principal, task_id, _id("team_id"), form_to_model(schemas.QuestionIn).question, moment
        ),
        "answer": lambda: ops.answer(
            session, principal, _id("question_id"), form_to_model(schemas.AnswerIn).answer, moment
        ),
        "award": lambda: ops.award(session, principal, task_id, _id("bid_id"), [], moment),
        "deliver": lambda: ops.deliver(
            session, principal, _id("milestone_id"), form_to_model(schemas.DeliveryIn).note, moment
        ),
        "accept": lambda: ops.review(
            session, principal, _id("milestone_id"), True, request.form.get("comment", "")[:4000], moment
        ),
        "revise": lambda: ops.review(
            session, principal, _id("milestone_id"), False, request.form.get("comment", "")[:4000], moment
        ),
        "paid": lambda: ops.mark_paid(session, principal, _id("milestone_id"), moment),
        "rate": lambda: ops.rate(
            session,
            principal,
            task_id,
            _id("team_id"),
            form_to_model(schemas.RatingIn).score,
            request.form.get("comment", "")[:4000],
            moment,
        ),
        "invite": lambda: ops.invite_team(session, principal, task_id, _id("team_id"), moment),
    }
    run = actions.get(action)
    if run is None:
        return redirect(url_for("tasks.show", task_id=task_id))
    _done, problem = attempt(run)
    if problem is not None:
        return _page(task_id, error=problem)
    flash(_("Done."), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<int:task_id>/<action>")
@login_required
def act(task_id: int, action: str) -> Any:
    return _act(task_id, action)


def _hosting(session: Any, principal: Any) -> list[Organization]:
    """The organisations whose tasks the person may post: their own, or every one of a managed space."""
    orgs = list(session.scalars(select(Organization).order_by(Organization.id)))
    return [
        o
        for o in orgs
        if (o.space_id, o.id) in principal.organizations or principal.is_manager_of(o.space_id)
    ]


def _moment(raw: str, space: Space | None) -> str | None:
    """A ``datetime-local`` value on the space's wall clock, as an aware time the schema accepts."""
    if not raw.strip():
        return None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(
            "Give the time as YYYY-MM-DD HH:MM.",
            "时间格式应为 YYYY-MM-DD HH:MM。",
            details={"fields": {"bid_deadline": "invalid_date"}},
        ) from exc
    zone = ZoneInfo(space.timezone if space else "Asia/Shanghai")
    return local.replace(tzinfo=local.tzinfo or zone).isoformat()


@bp.route("/tasks/desk", methods=["GET", "POST"])
@login_required
def desk() -> Any:
    session, principal = get_session(), current_principal()
    orgs = _hosting(session, principal)
    if not orgs:
        return render_template(
            "tasks/desk.html", orgs=[], tasks=[], counts={}, all_tags=[], **_context()
        ), 403
    error: MatchmakerError | None = None
    if request.method == "POST":

        def post() -> Task:
            org = session.get(Organization, _id("organization_id"))
            space = session.get(Space, org.space_id) if org else None
            body = form_to_model(
                schemas.TaskIn,
                extra={
                    "space_id": org.space_id if org else 0,
                    "bid_deadline": _moment(request.form.get("bid_deadline", ""), space),
                },
            )
            return ops.post_task(session, principal, ops.TaskSpec(**body.model_dump()), now())

        made, error = attempt(post)
        if error is None and made is not None:
            flash(_("Task posted."), "success")
            return redirect(url_for("tasks.show", task_id=made.id))
    org_ids = [o.id for o in orgs]
    tasks = list(
        session.scalars(select(Task).where(Task.organization_id.in_(org_ids)).order_by(Task.id.desc()))
    )
    return render_form(
        "tasks/desk.html",
        error,
        orgs=orgs,
        tasks=tasks,
        counts={t.id: ops.bid_count(session, t.id) for t in tasks},
        all_tags=list(session.scalars(select(Tag).order_by(Tag.slug))),
        **_context(),
    )


@bp.get("/tasks/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int) -> Any:
    """A bid's file, for the task's host and the bidding team, always as a download."""
    found = ops.get_attachment(get_session(), current_principal(), attachment_id)
    response = Response(found.content, mimetype=found.media_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(found.filename)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/tasks/my-bids")
@login_required
def my_bids() -> Any:
    session, principal = get_session(), current_principal()
    bids = list(
        session.scalars(
            select(TaskBid)
            .where(TaskBid.team_id.in_(list(principal.teams) or [0]))
            .order_by(TaskBid.id.desc())
        )
    )
    return render_template("tasks/my_bids.html", bids=bids, **_context())
