"""Crowdsourced tasks in the JSON API: post, publish, bid, ask, award, deliver, accept, rate."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import url_for

from matchmaker.errors import InvalidInput
from matchmaker.operations import task_matching
from matchmaker.operations import tasks as ops
from matchmaker.permissions import Principal
from models import Task, TaskAttachment, TaskBid, TaskMilestone, TaskQuestion, TaskRating
from web.api import answers, route, schemas
from web.clock import now
from web.db import get_session
from web.recommendations import reasons_out
from web.security import current_principal

TAG = "tasks"


def _amount(value: Any) -> str | None:
    return None if value is None else str(value)


def task_out(task: Task, principal: Principal) -> dict[str, Any]:
    session = get_session()
    host = ops.is_host(session, principal, task)
    visible = ops.details_visible(session, principal, task)
    out: dict[str, Any] = {
        "id": task.id,
        "space_id": task.space_id,
        "organization": {
            "id": task.organization_id,
            "name_zh": task.organization.name_zh,
            "name_en": task.organization.name_en,
        },
        "title_zh": task.title_zh,
        "title_en": task.title_en,
        "status": task.status.value,
        "visibility": task.visibility.value,
        "confidential": task.confidential,
        "tags": [t.slug for t in task.tags],
        "reward_min_cny": _amount(task.reward_min_cny),
        "reward_max_cny": _amount(task.reward_max_cny),
        "bid_deadline": task.bid_deadline.isoformat() if task.bid_deadline else None,
        "delivery_deadline": task.deadline.isoformat() if task.deadline else None,
        "ip_terms": task.ip_terms.value,
        "ip_terms_custom": task.ip_terms_custom,
        "terms_version": task.terms_version,
        "max_awards": task.max_awards,
        "bid_count": ops.bid_count(session, task.id),
        "published_at": task.published_at.isoformat() if task.published_at else None,
        "cancel_reason": task.cancel_reason.value if task.cancel_reason else None,
        "cancel_comment": task.cancel_comment,
        "is_host": host,
        "details_visible": visible,
        "confidentiality_terms": task.confidentiality_terms,
    }
    if visible:
        out.update(
            description_zh=task.description_zh,
            description_en=task.description_en,
            deliverables_zh=task.deliverables_zh,
            deliverables_en=task.deliverables_en,
        )
    mine = ops.my_bid(session, principal, task.id)
    if mine is not None:
        out["my_bid_id"] = mine.id
    return out


def attachment_out(a: TaskAttachment) -> dict[str, Any]:
    return {
        "id": a.id,
        "bid_id": a.bid_id,
        "filename": a.filename,
        "media_type": a.media_type,
        "size": a.size,
        "sha256": a.sha256,
    }


def bid_out(
    bid: TaskBid, fit: float | None = None, attached: list[TaskAttachment] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": bid.id,
        "task_id": bid.task_id,
        "team": {"id": bid.team_id, "name_zh": bid.team.name_zh, "name_en": bid.team.name_en},
        "status": bid.status.value,
        "approach": bid.approach,
        "price_cny": str(bid.price_cny),
        "timeline_days": bid.timeline_days,
        "credentials": bid.credentials,
        "clarification_request": bid.clarification_request,
        "awarded_at": bid.awarded_at.isoformat() if bid.awarded_at else None,
        "attachments": [attachment_out(a) for a in attached or []],
    }
    if fit is not None:
        out["fit"] = round(fit, 4)
    return out


def question_out(q: TaskQuestion, principal: Principal) -> dict[str, Any]:
    return {
        "id": q.id,
        "task_id": q.task_id,
        "question": q.question,
        "answer": q.answer,
        "answered_at": q.answered_at.isoformat() if q.answered_at else None,
        "asked_at": q.created_at.isoformat(),
        "mine": q.team_id in principal.teams,
    }


def milestone_out(m: TaskMilestone) -> dict[str, Any]:
    return {
        "id": m.id,
        "task_id": m.task_id,
        "bid_id": m.bid_id,
        "team_id": m.bid.team_id,
        "position": m.position,
        "title": m.title,
        "due_on": m.due_on.isoformat(),
        "amount_cny": str(m.amount_cny),
        "status": m.status.value,
        "payment_status": m.payment_status.value,
        "delivery_note": m.delivery_note,
        "review_comment": m.review_comment,
        "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
        "accepted_at": m.accepted_at.isoformat() if m.accepted_at else None,
        "paid_at": m.paid_at.isoformat() if m.paid_at else None,
    }


def rating_out(r: TaskRating) -> dict[str, Any]:
    return {
        "id": r.id,
        "task_id": r.task_id,
        "team_id": r.team_id,
        "by_side": r.by_side,
        "score": r.score,
        "comment": r.comment,
        "rated_at": r.rated_at.isoformat(),
    }


# Tasks ----------------------------------------------------------------------------------------------


@route(
    "/tasks",
    "POST",
    "Post a task for the host organisation (its staff, or the space's managers): a draft, or published",
    tag=TAG,
    body=schemas.TaskIn,
    responses={201: "Posted", 422: "Deadlines, amounts, tags or terms that do not make sense"},
    answer=answers.TaskOut,
)
def post_task(body: schemas.TaskIn) -> Any:
    spec = ops.TaskSpec(**body.model_dump())
    task = ops.post_task(get_session(), current_principal(), spec, now())
    return task_out(task, current_principal()), 201, {"Location": url_for("api.get_task", task_id=task.id)}


@route(
    "/tasks",
    "GET",
    "The task board: every task the reader may see, filtered by tags, reward, deadline and state",
    tag=TAG,
    query=schemas.TaskBoardParams,
    answer=answers.TaskList,
)
def list_tasks(query: schemas.TaskBoardParams) -> Any:
    principal = current_principal()
    wanted = ops.BoardFilter(
        tags=query.tag,
        status=query.status,
        reward_at_least=query.reward_min,
        deadline_before=query.deadline_before,
        space_id=query.space_id,
        limit=query.limit,
    )
    return {"items": [task_out(t, principal) for t in ops.list_tasks(get_session(), principal, wanted)]}


@route(
    "/tasks/<int:task_id>",
    "GET",
    "One task (a confidential task's details only after its terms were accepted)",
    tag=TAG,
    answer=answers.TaskOut,
)
def get_task(task_id: int) -> Any:
    principal = current_principal()
    return task_out(ops.get_task(get_session(), principal, task_id), principal)


@route(
    "/tasks/<int:task_id>/details",
    "GET",
    "A task's description and deliverables; for a confidential task only once the team accepted its terms",
    tag=TAG,
    responses={403: "The terms of this confidential task have not been accepted"},
    answer=answers.TaskDetails,
)
def get_task_details(task_id: int) -> Any:
    session, principal = get_session(), current_principal()
    task = ops.get_task(session, principal, task_id)
    ops.check_details_visible(session, principal, task)
    return {
        "id": task.id,
        "description_zh": task.description_zh,
        "description_en": task.description_en,
        "deliverables_zh": task.deliverables_zh,
        "deliverables_en": task.deliverables_en,
    }


@route(
    "/tasks/<int:task_id>",
    "PATCH",
    "Edit a task (its host): a draft freely; once published, each change of terms is kept, bidders told",
    tag=TAG,
    body=schemas.TaskUpdate,
    responses={409: "The task can no longer be edited", 422: "Invalid change"},
    answer=answers.TaskOut,
)
def update_task(task_id: int, body: schemas.TaskUpdate) -> Any:
    principal = current_principal()
    task = ops.update_task(get_session(), principal, task_id, schemas.changes(body), now())
    return task_out(task, principal)


@route(
    "/tasks/<int:task_id>/publish",
    "POST",
    "Publish a draft: bidding opens, invited teams are told; the best-fitting teams are told shortly after",
    tag=TAG,
    responses={409: "Not a draft", 422: "Deadlines missing or past"},
    answer=answers.TaskOut,
)
def publish_task(task_id: int) -> Any:
    principal = current_principal()
    return task_out(ops.publish_task(get_session(), principal, task_id, now()), principal)


@route(
    "/tasks/<int:task_id>/cancel",
    "POST",
    "Cancel a task with a reason from the fixed set and a comment every bidder sees",
    tag=TAG,
    body=schemas.CancelTaskIn,
    responses={409: "The task is past cancelling"},
    answer=answers.TaskOut,
)
def cancel_task(task_id: int, body: schemas.CancelTaskIn) -> Any:
    principal = current_principal()
    task = ops.cancel_task(get_session(), principal, task_id, body.reason, body.comment, now())
    return task_out(task, principal)


@route(
    "/tasks/<int:task_id>/history",
    "GET",
    "The changes of a published task's terms, oldest first",
    tag=TAG,
    answer=answers.RevisionList,
)
def task_history(task_id: int) -> Any:
    found = ops.history_of(get_session(), current_principal(), task_id)
    return {
        "items": [
            {"version": r.version, "changes": r.changes, "changed_at": r.changed_at.isoformat()}
            for r in found
        ]
    }


@route(
    "/tasks/<int:task_id>/invitations",
    "POST",
    "Invite a team to see and bid on the task (its host)",
    tag=TAG,
    body=schemas.TeamRefIn,
    responses={201: "Invited"},
    answer=answers.InvitationOut,
)
def invite_team(task_id: int, body: schemas.TeamRefIn) -> Any:
    found = ops.invite_team(get_session(), current_principal(), task_id, body.team_id, now())
    return {
        "task_id": found.task_id,
        "team_id": found.team_id,
        "invited_at": found.invited_at.isoformat(),
    }, 201


@route(
    "/tasks/<int:task_id>/fitting-teams",
    "GET",
    "The teams that fit the task best, with reasons (its host)",
    tag=TAG,
    answer=answers.FittingTeamList,
)
def fitting_teams(task_id: int) -> Any:
    found = ops.fitting_teams(get_session(), current_principal(), task_id)
    return {
        "items": [
            {
                "team": {"id": f.team_id, "name_zh": f.name_zh, "name_en": f.name_en},
                "fit": round(f.score, 4),
                "reasons": reasons_out(f.reasons),
                "invited": f.invited,
            }
            for f in found
        ]
    }


@route(
    "/tasks/<int:task_id>/terms",
    "POST",
    "Accept a confidential task's terms for one's team; the acceptance is recorded",
    tag=TAG,
    body=schemas.TeamRefIn,
    responses={201: "Accepted"},
    answer=answers.AcceptanceOut,
)
def accept_terms(task_id: int, body: schemas.TeamRefIn) -> Any:
    found = ops.accept_terms(get_session(), current_principal(), task_id, body.team_id, now())
    out = {
        "task_id": found.task_id,
        "team_id": found.team_id,
        "terms_version": found.terms_version,
        "accepted_at": found.accepted_at.isoformat(),
    }
    return out, 201


# Bids -----------------------------------------------------------------------------------------------


@route(
    "/tasks/<int:task_id>/bids",
    "POST",
    "Bid for one's team: one proposal per team per task, before the bid deadline",
    tag=TAG,
    body=schemas.BidIn,
    responses={201: "Bid placed", 409: "Already bid, or bidding is closed", 403: "Terms not accepted"},
    answer=answers.BidOut,
)
def place_bid(task_id: int, body: schemas.BidIn) -> Any:
    spec = ops.BidSpec(body.team_id, body.approach, body.price_cny, body.timeline_days, body.credentials)
    bid = ops.place_bid(get_session(), current_principal(), task_id, spec, now())
    return bid_out(bid), 201


@route(
    "/tasks/<int:task_id>/bids",
    "GET",
    "Bids on a task: all of them, ranked, for its host; a team's own for the team",
    tag=TAG,
    answer=answers.BidList,
)
def list_bids(task_id: int) -> Any:
    session, principal = get_session(), current_principal()
    task, found = ops.bids_for(session, principal, task_id)
    fits = (
        ops.team_fits(session, task, [b.team_id for b in found])
        if ops.is_host(session, principal, task)
        else {}
    )
    attached = ops.attachments_of(session, [b.id for b in found])
    return {
        "task_id": task.id,
        "bid_count": ops.bid_count(session, task.id),
        "items": [bid_out(b, fits.get(b.team_id), attached.get(b.id)) for b in found],
    }


@route(
    "/bids/<int:bid_id>/attachments",
    "POST",
    "Attach a file (PDF, PNG, JPEG or Office; at most 1 MB, base64) to one's bid before the bid deadline",
    tag=TAG,
    body=schemas.AttachmentIn,
    responses={
        201: "Attached",
        409: "Bidding is closed",
        422: "Empty, too large, of another type, or too many",
    },
    answer=answers.AttachmentOut,
)
def attach_to_bid(bid_id: int, body: schemas.AttachmentIn) -> Any:
    try:
        content = base64.b64decode("".join(body.content_base64.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "content_base64 is not valid base64.",
            "content_base64 不是有效的 base64 编码。",
            details={"fields": {"content_base64": "invalid_format"}},
        ) from None
    found = ops.attach(get_session(), current_principal(), bid_id, body.filename, content, now())
    return attachment_out(found), 201


@route(
    "/bids/<int:bid_id>",
    "PATCH",
    "Change one's bid before the bid deadline",
    tag=TAG,
    body=schemas.BidUpdate,
    responses={409: "Bidding is closed, or the bid no longer stands"},
    answer=answers.BidOut,
)
def update_bid(bid_id: int, body: schemas.BidUpdate) -> Any:
    return bid_out(ops.update_bid(get_session(), current_principal(), bid_id, schemas.changes(body), now()))


@route(
    "/bids/<int:bid_id>/withdraw",
    "POST",
    "Withdraw one's bid before the bid deadline",
    tag=TAG,
    responses={409: "Bidding is closed, or the bid no longer stands"},
    answer=answers.BidOut,
)
def withdraw_bid(bid_id: int) -> Any:
    return bid_out(ops.withdraw_bid(get_session(), current_principal(), bid_id, now()))


@route(
    "/bids/<int:bid_id>/shortlist",
    "POST",
    "Shortlist a bid (the task's host), optionally asking its team to clarify something",
    tag=TAG,
    body=schemas.ShortlistIn,
    body_required=False,
    responses={409: "The bid no longer stands"},
    answer=answers.BidOut,
)
def shortlist_bid(bid_id: int, body: schemas.ShortlistIn) -> Any:
    return bid_out(ops.shortlist_bid(get_session(), current_principal(), bid_id, body.clarification))


@route(
    "/tasks/<int:task_id>/award",
    "POST",
    "Award a bid with its milestones (the task's host); a single-award task takes exactly one award",
    tag=TAG,
    body=schemas.AwardIn,
    responses={409: "Already awarded, cancelled, or the bid no longer stands", 422: "Invalid milestones"},
    answer=answers.BidOut,
)
def award_task(task_id: int, body: schemas.AwardIn) -> Any:
    plan = [ops.MilestoneSpec(m.title, m.due_on, m.amount_cny) for m in body.milestones]
    return bid_out(ops.award(get_session(), current_principal(), task_id, body.bid_id, plan, now()))


# Questions ------------------------------------------------------------------------------------------


@route(
    "/tasks/<int:task_id>/questions",
    "POST",
    "Ask the host a question for one's team; the answer is for every bidder",
    tag=TAG,
    body=schemas.QuestionIn,
    responses={201: "Asked", 409: "The task takes no questions now"},
    answer=answers.QuestionOut,
)
def ask_question(task_id: int, body: schemas.QuestionIn) -> Any:
    principal = current_principal()
    asked = ops.ask(get_session(), principal, task_id, body.team_id, body.question, now())
    return question_out(asked, principal), 201


@route(
    "/tasks/<int:task_id>/questions",
    "GET",
    "A task's questions and answers",
    tag=TAG,
    answer=answers.QuestionList,
)
def list_questions(task_id: int) -> Any:
    principal = current_principal()
    return {"items": [question_out(q, principal) for q in ops.questions(get_session(), principal, task_id)]}


@route(
    "/questions/<int:question_id>/answer",
    "POST",
    "Answer a question (the task's host), for every bidder to read",
    tag=TAG,
    body=schemas.AnswerIn,
    answer=answers.QuestionOut,
)
def answer_question(question_id: int, body: schemas.AnswerIn) -> Any:
    principal = current_principal()
    return question_out(ops.answer(get_session(), principal, question_id, body.answer, now()), principal)


# Delivery and ratings -------------------------------------------------------------------------------


@route(
    "/tasks/<int:task_id>/milestones",
    "GET",
    "Milestones: all for the host, its own for an awarded team",
    tag=TAG,
    answer=answers.MilestoneList,
)
def list_milestones(task_id: int) -> Any:
    return {
        "items": [milestone_out(m) for m in ops.milestones_of(get_session(), current_principal(), task_id)]
    }


@route(
    "/milestones/<int:milestone_id>/deliver",
    "POST",
    "Deliver a milestone (the awarded team)",
    tag=TAG,
    body=schemas.DeliveryIn,
    responses={409: "Already delivered or accepted"},
    answer=answers.MilestoneOut,
)
def deliver_milestone(milestone_id: int, body: schemas.DeliveryIn) -> Any:
    return milestone_out(ops.deliver(get_session(), current_principal(), milestone_id, body.note, now()))


@route(
    "/milestones/<int:milestone_id>/review",
    "POST",
    "Accept a delivered milestone or ask for a revision with comments (the task's host)",
    tag=TAG,
    body=schemas.ReviewDeliveryIn,
    responses={409: "Nothing delivered to review"},
    answer=answers.MilestoneOut,
)
def review_delivery(milestone_id: int, body: schemas.ReviewDeliveryIn) -> Any:
    found = ops.review(get_session(), current_principal(), milestone_id, body.accept, body.comment, now())
    return milestone_out(found)


@route(
    "/milestones/<int:milestone_id>/paid",
    "POST",
    "Record that an accepted milestone was paid (the task's host)",
    tag=TAG,
    responses={409: "Not accepted yet, or already paid"},
    answer=answers.MilestoneOut,
)
def mark_milestone_paid(milestone_id: int) -> Any:
    return milestone_out(ops.mark_paid(get_session(), current_principal(), milestone_id, now()))


@route(
    "/tasks/<int:task_id>/ratings",
    "POST",
    "Rate the other side of a completed task: the host rates an awarded team, the team rates the host",
    tag=TAG,
    body=schemas.RatingIn,
    responses={201: "Rated", 409: "Not completed, or already rated"},
    answer=answers.RatingOut,
)
def rate_task(task_id: int, body: schemas.RatingIn) -> Any:
    found = ops.rate(
        get_session(), current_principal(), task_id, body.team_id, body.score, body.comment, now()
    )
    return rating_out(found), 201


@route("/tasks/<int:task_id>/ratings", "GET", "A task's ratings", tag=TAG, answer=answers.RatingList)
def list_ratings(task_id: int) -> Any:
    return {"items": [rating_out(r) for r in ops.ratings_of(get_session(), current_principal(), task_id)]}


@route(
    "/spaces/<int:space_id>/task-figures",
    "GET",
    "What managers report of a space's tasks: posted, awarded, value, milestones delivered on time",
    tag=TAG,
    answer=answers.TaskFigures,
)
def task_figures(space_id: int) -> Any:
    return ops.space_figures(get_session(), current_principal(), space_id)


@route(
    "/teams/<int:team_id>/recommended-tasks",
    "GET",
    "A team's recommended open tasks, best fit first, with reasons (its members and managers)",
    tag=TAG,
    answer=answers.RecommendedTaskList,
)
def recommended_tasks(team_id: int) -> Any:
    session, principal = get_session(), current_principal()
    found = task_matching.tasks_for_team(session, principal, team_id)
    return {
        "items": [
            {"task": task_out(task, principal), "score": round(score, 4), "reasons": reasons_out(reasons)}
            for task, score, reasons in found
        ]
    }
