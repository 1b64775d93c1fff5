"""Award and cancellation, milestones delivered, reviewed and paid, ratings, the terms' history and the
figures managers report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchmaker import lifecycles
from matchmaker import tasks as rules
from matchmaker.errors import (
    AlreadyExists,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from matchmaker.operations.tasks.access import (
    _changed,
    _edge,
    _hosted,
    _member_ids,
    _tell,
    check_details_visible,
    get_task,
    ref,
)
from matchmaker.operations.tasks.bidding import _bid
from matchmaker.permissions import Principal
from models import (
    BidStatus,
    CancelReason,
    InteractionKind,
    MilestoneStatus,
    PaymentStatus,
    Space,
    Task,
    TaskBid,
    TaskMilestone,
    TaskRating,
    TaskRevision,
    TaskStatus,
)


@dataclass(frozen=True)
class MilestoneSpec:
    title: str
    due_on: date
    amount_cny: Decimal


def award(
    session: Session,
    principal: Principal,
    task_id: int,
    bid_id: int,
    milestones: Sequence[MilestoneSpec],
    now: datetime,
) -> TaskBid:
    """Award a bid: the task row is locked and read afresh, so of two awards at once the second sees the
    first; on a single-award task the database also refuses a second award."""
    task = _hosted(session, principal, task_id, lock=True)
    bid = _bid(session, bid_id, lock=True)
    if bid.task_id != task.id:
        raise NotFound("bid", "投标", bid_id)
    awarded = (
        session.scalar(
            select(func.count())
            .select_from(TaskBid)
            .where(TaskBid.task_id == task.id, TaskBid.status == BidStatus.AWARDED)
        )
        or 0
    )
    if task.status is TaskStatus.AWARDED and awarded >= task.max_awards:
        raise InvalidTransition(
            "This task has already been awarded.",
            "该任务已授标。",
            details={"status": task.status.value, "wanted": TaskStatus.AWARDED.value},
        )
    lifecycles.check_task_move(task.status, TaskStatus.AWARDED)
    lifecycles.check_bid_move(bid.status, BidStatus.AWARDED)
    plan = list(milestones) or [MilestoneSpec("交付 / Delivery", task.deadline or now.date(), bid.price_cny)]
    if len(plan) > rules.MAX_MILESTONES:
        raise InvalidInput(
            f"At most {rules.MAX_MILESTONES} milestones.",
            f"里程碑最多 {rules.MAX_MILESTONES} 个。",
            details={"fields": {"milestones": "too_long"}},
        )
    for m in plan:
        rules.check_amount(m.amount_cny, "milestones.amount_cny")
        if m.due_on < now.date():
            raise InvalidInput(
                "A milestone cannot be due in the past.",
                "里程碑的到期日不能早于今天。",
                details={"fields": {"milestones.due_on": "in_the_past"}},
            )
    try:
        with session.begin_nested():
            bid.status = BidStatus.AWARDED
            bid.awarded_at = now
            bid.sole_award = True if task.max_awards == 1 else None
            session.flush()
    except IntegrityError:
        raise InvalidTransition(
            "This task has already been awarded.",
            "该任务已授标。",
            details={"status": TaskStatus.AWARDED.value, "wanted": TaskStatus.AWARDED.value},
        ) from None
    task.status = TaskStatus.AWARDED
    for position, m in enumerate(plan, start=1):
        session.add(
            TaskMilestone(
                task_id=task.id,
                bid_id=bid.id,
                position=position,
                title=m.title,
                due_on=m.due_on,
                amount_cny=m.amount_cny,
            )
        )
    if awarded + 1 >= task.max_awards:
        _release_others(
            session, task, keep=bid.id, reason_en="awarded to another team", reason_zh="已授予其他团队"
        )
    session.flush()
    _edge(
        session,
        task,
        bid.team_id,
        InteractionKind.TASK_AWARD,
        now,
        quantity=float(bid.price_cny),
        outcome="awarded",
    )
    _tell(
        session,
        task,
        "task_decided",
        f"Your bid won: {task.title_en}",
        f"您的投标已中标：{task.title_zh}",
        user_ids=_member_ids(session, {bid.team_id}),
    )
    _changed(session, task, "awarded")
    return bid


def _release_others(
    session: Session, task: Task, *, keep: int | None, reason_en: str, reason_zh: str, comment: str = ""
) -> None:
    others = list(
        session.scalars(
            select(TaskBid).where(
                TaskBid.task_id == task.id,
                TaskBid.status.in_((BidStatus.SUBMITTED, BidStatus.SHORTLISTED)),
                TaskBid.id != (keep or 0),
            )
        )
    )
    for other in others:
        other.status = BidStatus.NOT_AWARDED
    users = _member_ids(session, {o.team_id for o in others})
    if users:
        body_en = f"{reason_en}." + (f" {comment}" if comment else "")
        body_zh = f"{reason_zh}。" + (f"{comment}" if comment else "")
        _tell(
            session,
            task,
            "task_decided",
            f"Not awarded: {task.title_en}",
            f"未中标：{task.title_zh}",
            body_en,
            body_zh,
            user_ids=users,
        )


CANCEL_REASONS: dict[str, tuple[str, str]] = {
    CancelReason.NO_BIDS: ("no bids", "无人投标"),
    CancelReason.NO_SUITABLE_BID: ("no suitable bid", "无合适投标"),
    CancelReason.REQUIREMENTS_CHANGED: ("the requirements changed", "需求变更"),
    CancelReason.BUDGET_WITHDRAWN: ("the budget was withdrawn", "预算撤销"),
    CancelReason.TEAM_UNRESPONSIVE: ("the awarded team did not respond", "中标团队无响应"),
}


def cancel_task(
    session: Session, principal: Principal, task_id: int, reason: str, comment: str, now: datetime
) -> Task:
    """Cancel with a reason from the fixed set and a comment every bidder sees."""
    task = _hosted(session, principal, task_id, lock=True)
    lifecycles.check_task_move(task.status, TaskStatus.CANCELLED)
    task.status = TaskStatus.CANCELLED
    task.cancel_reason = CancelReason(reason)
    task.cancel_comment = comment
    reason_en, reason_zh = CANCEL_REASONS[reason]
    _release_others(
        session,
        task,
        keep=None,
        reason_en=f"Cancelled: {reason_en}",
        reason_zh=f"已取消：{reason_zh}",
        comment=comment,
    )
    awarded = list(
        session.scalars(
            select(TaskBid).where(TaskBid.task_id == task.id, TaskBid.status == BidStatus.AWARDED)
        )
    )
    if awarded:
        _tell(
            session,
            task,
            "task_decided",
            f"Cancelled: {task.title_en}",
            f"任务已取消：{task.title_zh}",
            f"Reason: {reason_en}. {comment}".strip(),
            f"原因：{reason_zh}。{comment}".strip(),
            user_ids=_member_ids(session, {b.team_id for b in awarded}),
        )
    session.flush()
    _changed(session, task, "cancelled")
    return task


def _milestone(session: Session, principal: Principal, milestone_id: int) -> tuple[TaskMilestone, Task, bool]:
    found = session.get(TaskMilestone, milestone_id)
    if found is None:
        raise NotFound("milestone", "里程碑", milestone_id)
    team_id = found.bid.team_id
    try:
        task = get_task(session, principal, found.task_id, lock=True)
    except NotFound:
        raise NotFound("milestone", "里程碑", milestone_id) from None
    host = rules.is_host_of(principal, ref(session, task))
    if not host and team_id not in principal.teams:
        raise NotFound("milestone", "里程碑", milestone_id)
    session.refresh(found, with_for_update=True)
    return found, task, host


def deliver(
    session: Session, principal: Principal, milestone_id: int, note: str, now: datetime
) -> TaskMilestone:
    found, task, _host = _milestone(session, principal, milestone_id)
    if found.bid.team_id not in principal.teams:
        raise Forbidden("deliver work for another team", "代替其他团队交付")
    if task.status is TaskStatus.CANCELLED:
        lifecycles.check_task_move(task.status, TaskStatus.IN_DELIVERY)
    lifecycles.check_milestone_move(found.status, MilestoneStatus.DELIVERED)
    if task.status is TaskStatus.AWARDED:
        lifecycles.check_task_move(task.status, TaskStatus.IN_DELIVERY)
        task.status = TaskStatus.IN_DELIVERY
    found.status = MilestoneStatus.DELIVERED
    found.delivery_note = note
    found.delivered_at = now
    session.flush()
    _tell(
        session,
        task,
        "task_milestone_delivered",
        f"Delivered: {found.title} ({task.title_en})",
        f"已交付：{found.title}（{task.title_zh}）",
        note,
        note,
        to_hosts=True,
    )
    _changed(session, task, "delivered")
    return found


def review(
    session: Session, principal: Principal, milestone_id: int, accept: bool, comment: str, now: datetime
) -> TaskMilestone:
    """The host accepts a delivered milestone, or asks for a revision with comments. The last accepted
    milestone of the last awarded team completes the task."""
    found, task, host = _milestone(session, principal, milestone_id)
    if not host:
        raise Forbidden("review this delivery", "验收该交付")
    target = MilestoneStatus.ACCEPTED if accept else MilestoneStatus.REVISION_REQUESTED
    if task.status is TaskStatus.CANCELLED:  # a cancelled task's open work is not reviewed any more
        lifecycles.check_task_move(task.status, TaskStatus.COMPLETED)
    lifecycles.check_milestone_move(found.status, target)
    if not accept and not comment.strip():
        raise InvalidInput(
            "Say what should be revised.",
            "请说明需要修改的内容。",
            details={"fields": {"comment": "required"}},
        )
    found.status = target
    found.review_comment = comment
    if accept:
        found.accepted_at = now
    session.flush()
    on_time = found.delivered_at is not None and found.delivered_at.date() <= found.due_on
    _edge(
        session,
        task,
        found.bid.team_id,
        InteractionKind.TASK_DELIVERY,
        now,
        quantity=float(found.amount_cny),
        outcome="accepted" if accept else "revision_requested",
        detail={"milestone_id": found.id, "on_time": on_time},
    )
    open_left = session.scalar(
        select(func.count())
        .select_from(TaskMilestone)
        .where(TaskMilestone.task_id == task.id, TaskMilestone.status != MilestoneStatus.ACCEPTED)
    )
    if accept and not open_left and task.status is TaskStatus.IN_DELIVERY:
        lifecycles.check_task_move(task.status, TaskStatus.COMPLETED)
        task.status = TaskStatus.COMPLETED
    verb_en, verb_zh = ("Accepted", "已验收") if accept else ("Revision requested", "需修改")
    _tell(
        session,
        task,
        "task_milestone_reviewed",
        f"{verb_en}: {found.title} ({task.title_en})",
        f"{verb_zh}：{found.title}（{task.title_zh}）",
        comment,
        comment,
        user_ids=_member_ids(session, {found.bid.team_id}),
    )
    session.flush()
    _changed(session, task, "reviewed")
    return found


def mark_paid(session: Session, principal: Principal, milestone_id: int, now: datetime) -> TaskMilestone:
    found, _task, host = _milestone(session, principal, milestone_id)
    if not host:
        raise Forbidden("record payments", "记录付款")
    lifecycles.check_payment(found.status, found.payment_status, PaymentStatus.PAID)
    found.payment_status = PaymentStatus.PAID
    found.paid_at = now
    session.flush()
    return found


def milestones_of(session: Session, principal: Principal, task_id: int) -> list[TaskMilestone]:
    task = get_task(session, principal, task_id)
    query = (
        select(TaskMilestone)
        .where(TaskMilestone.task_id == task.id)
        .order_by(TaskMilestone.bid_id, TaskMilestone.position)
    )
    if not rules.is_host_of(principal, ref(session, task)):
        query = query.join(TaskBid, TaskBid.id == TaskMilestone.bid_id).where(
            TaskBid.team_id.in_(list(principal.teams) or [0])
        )
    return list(session.scalars(query))


def rate(
    session: Session,
    principal: Principal,
    task_id: int,
    team_id: int,
    score: int,
    comment: str,
    now: datetime,
) -> TaskRating:
    """When the task is completed, the host rates each awarded team and each awarded team rates the host;
    once each."""
    task = get_task(session, principal, task_id, lock=True)
    if task.status is not TaskStatus.COMPLETED:
        now_en, now_zh = lifecycles.TASK_STATUS_NAMES[task.status]
        raise InvalidTransition(
            f"Ratings are given once a task is completed; this one is {now_en}.",
            f"任务完成后方可评价；该任务当前{now_zh}。",
            details={"status": task.status.value, "wanted": "rated"},
        )
    awarded = session.scalar(
        select(TaskBid.id).where(
            TaskBid.task_id == task.id, TaskBid.team_id == team_id, TaskBid.status == BidStatus.AWARDED
        )
    )
    if awarded is None:
        raise InvalidInput(
            "Only a team that did the work is rated, and rates.",
            "只有承接该任务的团队可以被评价或评价。",
            details={"fields": {"team_id": "not_awarded"}},
        )
    if rules.is_host_of(principal, ref(session, task)):
        side = "host"
    elif team_id in principal.teams:
        side = "team"
    else:
        raise Forbidden("rate this task", "评价该任务")
    rating = TaskRating(
        task_id=task.id,
        team_id=team_id,
        by_side=side,
        rated_by_id=principal.user_id,
        score=score,
        comment=comment,
        rated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(rating)
            session.flush()
    except IntegrityError:
        raise AlreadyExists(
            "You have already rated this.", "您已评价过。", details={"task_id": task.id, "team_id": team_id}
        ) from None
    if side == "host":
        _edge(session, task, team_id, InteractionKind.TASK_RATING, now, rating=score, outcome="")
        users = _member_ids(session, {team_id})
        _tell(
            session,
            task,
            "task_rated",
            f"The host rated your work on {task.title_en}: {score}/5",
            f"发布方对您在“{task.title_zh}”中的工作评分：{score}/5",
            comment,
            comment,
            user_ids=users,
        )
    else:
        _tell(
            session,
            task,
            "task_rated",
            f"A team rated your task {task.title_en}: {score}/5",
            f"团队对您的任务“{task.title_zh}”评分：{score}/5",
            comment,
            comment,
            to_hosts=True,
        )
    return rating


def ratings_of(session: Session, principal: Principal, task_id: int) -> list[TaskRating]:
    task = get_task(session, principal, task_id)
    return list(
        session.scalars(select(TaskRating).where(TaskRating.task_id == task.id).order_by(TaskRating.id))
    )


def history_of(session: Session, principal: Principal, task_id: int) -> list[TaskRevision]:
    task = get_task(session, principal, task_id)
    check_details_visible(session, principal, task)
    return list(
        session.scalars(
            select(TaskRevision).where(TaskRevision.task_id == task.id).order_by(TaskRevision.version)
        )
    )


def figures(session: Session, space_id: int) -> dict[str, Any]:
    """What managers report: tasks posted, awarded, the value awarded, and milestones delivered on time."""
    posted = (
        session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.space_id == space_id, Task.status != TaskStatus.DRAFT)
        )
        or 0
    )
    awarded_bids = list(
        session.scalars(
            select(TaskBid)
            .join(Task, Task.id == TaskBid.task_id)
            .where(Task.space_id == space_id, TaskBid.status == BidStatus.AWARDED)
        )
    )
    delivered = list(
        session.scalars(
            select(TaskMilestone)
            .join(Task, Task.id == TaskMilestone.task_id)
            .where(Task.space_id == space_id, TaskMilestone.delivered_at.is_not(None))
        )
    )
    on_time = sum(1 for m in delivered if m.delivered_at is not None and m.delivered_at.date() <= m.due_on)
    return {
        "tasks_posted": int(posted),
        "tasks_awarded": len({b.task_id for b in awarded_bids}),
        "value_awarded_cny": str(sum((b.price_cny for b in awarded_bids), Decimal(0))),
        "milestones_delivered": len(delivered),
        "milestones_on_time": on_time,
    }


def space_figures(session: Session, principal: Principal, space_id: int) -> dict[str, Any]:
    if session.get(Space, space_id) is None:
        raise NotFound("space", "空间", space_id)
    if not principal.is_manager_of(space_id):
        raise Forbidden("see this space's task figures", "查看该空间的任务统计")
    return figures(session, space_id)
