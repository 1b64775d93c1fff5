"""Bids (one per team per task, until the deadline by the server's clock), their attachments, the
question-and-answer thread, and closing bidding when the deadline comes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from matchmaker import lifecycles
from matchmaker import tasks as rules
from matchmaker.errors import (
    AlreadyExists,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    check_editable,
)
from matchmaker.operations.tasks.access import (
    _bidder_user_ids,
    _changed,
    _edge,
    _hosted,
    _member_ids,
    _tell,
    check_details_visible,
    get_task,
    is_host,
    ref,
)
from matchmaker.operations.tasks.posting import _own_team
from matchmaker.permissions import Principal
from models import (
    BidStatus,
    InteractionKind,
    Task,
    TaskAttachment,
    TaskBid,
    TaskQuestion,
    TaskStatus,
    TaskTermsAcceptance,
    Team,
)


@dataclass(frozen=True)
class BidSpec:
    team_id: int
    approach: str
    price_cny: Decimal
    timeline_days: int
    credentials: str = ""


def _check_bidding_open(task: Task, now: datetime) -> None:
    if task.status is TaskStatus.OPEN and not rules.bid_open(task.status.value, task.bid_deadline, now):
        raise InvalidTransition(
            "The bid deadline has passed; bids can no longer be placed, changed or withdrawn.",
            "投标已截止，不能再提交、修改或撤回投标。",
            details={
                "status": task.status.value,
                "bid_deadline": task.bid_deadline.isoformat() if task.bid_deadline else None,
            },
        ) from None
    if task.status is not TaskStatus.OPEN:
        now_en, now_zh = lifecycles.TASK_STATUS_NAMES[task.status]
        raise InvalidTransition(
            f"This task is {now_en}; it takes no bids.",
            f"该任务{now_zh}，不接受投标。",
            details={"status": task.status.value, "wanted": "bid"},
        )


def _check_price(price: Decimal, timeline_days: int) -> None:
    rules.check_amount(price, "price_cny")
    if not 1 <= timeline_days <= rules.MAX_TIMELINE_DAYS:
        raise InvalidInput(
            f"The timeline must be between 1 and {rules.MAX_TIMELINE_DAYS} days.",
            f"工期须在 1 至 {rules.MAX_TIMELINE_DAYS} 天之间。",
            details={"fields": {"timeline_days": "out_of_range"}},
        )


def place_bid(session: Session, principal: Principal, task_id: int, spec: BidSpec, now: datetime) -> TaskBid:
    """One proposal per team per task, before the deadline (the server's clock), once the team accepted a
    confidential task's terms. A second bid by the same team is refused (and the database refuses it)."""
    task = get_task(session, principal, task_id, lock=True)
    team = _own_team(session, principal, task, spec.team_id)
    _check_bidding_open(task, now)
    if task.confidential and not session.scalar(
        select(TaskTermsAcceptance.id).where(
            TaskTermsAcceptance.task_id == task.id, TaskTermsAcceptance.team_id == team.id
        )
    ):
        raise Forbidden(
            "bid on this confidential task before your team accepts its terms",
            "在接受保密条款前投标该保密任务",
        )
    _check_price(spec.price_cny, spec.timeline_days)
    bid = TaskBid(
        task_id=task.id,
        team_id=team.id,
        submitted_by_id=principal.user_id or 0,
        approach=spec.approach,
        price_cny=spec.price_cny,
        timeline_days=spec.timeline_days,
        credentials=spec.credentials,
    )
    try:
        with session.begin_nested():
            session.add(bid)
            session.flush()
    except IntegrityError:
        raise AlreadyExists(
            "Your team has already bid on this task; change that bid instead.",
            "您的团队已投标此任务，请修改原投标。",
            details={"task_id": task.id, "team_id": team.id},
        ) from None
    _edge(
        session,
        task,
        team.id,
        InteractionKind.TASK_BID,
        now,
        quantity=float(spec.price_cny),
        outcome="submitted",
    )
    _tell(
        session,
        task,
        "task_bid_received",
        f"New bid on {task.title_en}: {team.name_en}",
        f"{task.title_zh}收到新投标：{team.name_zh}",
        to_hosts=True,
    )
    _changed(session, task, "bid_placed")
    return bid


def _bid(session: Session, bid_id: int, *, lock: bool = False) -> TaskBid:
    bid = session.get(TaskBid, bid_id, with_for_update=lock, populate_existing=lock)
    if bid is None:
        raise NotFound("bid", "投标", bid_id)
    return bid


def _own_bid(session: Session, principal: Principal, bid_id: int) -> tuple[TaskBid, Task]:
    bid = _bid(session, bid_id)
    if bid.team_id not in principal.teams:
        raise NotFound("bid", "投标", bid_id)
    task = get_task(session, principal, bid.task_id, lock=True)
    session.refresh(bid)
    return bid, task


def update_bid(
    session: Session, principal: Principal, bid_id: int, changes: dict[str, Any], now: datetime
) -> TaskBid:
    check_editable(changes, ("approach", "price_cny", "timeline_days", "credentials"))
    bid, task = _own_bid(session, principal, bid_id)
    _check_bidding_open(task, now)
    if bid.status not in lifecycles.BID_EDITABLE:
        lifecycles.check_bid_move(bid.status, BidStatus.SUBMITTED)
    _check_price(changes.get("price_cny", bid.price_cny), changes.get("timeline_days", bid.timeline_days))
    for name, value in changes.items():
        setattr(bid, name, value)
    bid.clarification_request = ""
    session.flush()
    team = session.get(Team, bid.team_id)
    _tell(
        session,
        task,
        "task_bid_received",
        f"Bid changed on {task.title_en}: {team.name_en if team else ''}",
        f"{task.title_zh}的投标已更新：{team.name_zh if team else ''}",
        to_hosts=True,
    )
    return bid


def withdraw_bid(session: Session, principal: Principal, bid_id: int, now: datetime) -> TaskBid:
    bid, task = _own_bid(session, principal, bid_id)
    _check_bidding_open(task, now)
    lifecycles.check_bid_move(bid.status, BidStatus.WITHDRAWN)
    bid.status = BidStatus.WITHDRAWN
    session.flush()
    _changed(session, task, "bid_withdrawn")
    return bid


def shortlist_bid(session: Session, principal: Principal, bid_id: int, clarification: str = "") -> TaskBid:
    """The host shortlists a bid, and may ask its team to clarify something."""
    bid = _bid(session, bid_id)
    task = _hosted(session, principal, bid.task_id, lock=True)
    session.refresh(bid)
    if bid.status is not BidStatus.SHORTLISTED:
        lifecycles.check_bid_move(bid.status, BidStatus.SHORTLISTED)
        bid.status = BidStatus.SHORTLISTED
    if clarification:
        bid.clarification_request = clarification
        _tell(
            session,
            task,
            "task_clarification",
            f"Please clarify your bid: {task.title_en}",
            f"请澄清您的投标：{task.title_zh}",
            clarification,
            clarification,
            user_ids=_member_ids(session, {bid.team_id}),
        )
    session.flush()
    return bid


def bids_for(
    session: Session, principal: Principal, task_id: int, *, model_folder: Any = None
) -> tuple[Task, list[TaskBid]]:
    """The host sees every bid, ranked; a team sees its own."""
    task = get_task(session, principal, task_id)
    query = select(TaskBid).where(TaskBid.task_id == task.id).options(selectinload(TaskBid.team))
    if rules.is_host_of(principal, ref(session, task)):
        found = list(session.scalars(query))
        fits = team_fits(session, task, [b.team_id for b in found], model_folder=model_folder)
        order = rules.rank_bids(
            [
                rules.BidFacts(
                    b.id,
                    b.price_cny,
                    b.timeline_days,
                    fits.get(b.team_id, 0.0),
                    b.status is BidStatus.SHORTLISTED,
                )
                for b in found
                if b.status is not BidStatus.WITHDRAWN
            ],
            task.reward_max_cny,
        )
        by_id = {b.id: b for b in found}
        return task, [by_id[i] for i in order] + [b for b in found if b.status is BidStatus.WITHDRAWN]
    mine = list(principal.teams)
    return task, list(session.scalars(query.where(TaskBid.team_id.in_(mine)).order_by(TaskBid.id)))


def team_fits(
    session: Session, task: Task, team_ids: Sequence[int], *, model_folder: Any = None
) -> dict[int, float]:
    """How well each team fits the task, by its capability tags (the share of the task's tags it has)."""
    if not team_ids:
        return {}
    wanted = {t.slug for t in task.tags}
    teams = session.scalars(select(Team).where(Team.id.in_(list(team_ids))).options(selectinload(Team.tags)))
    return {t.id: (len(wanted & {x.slug for x in t.tags}) / len(wanted) if wanted else 0.0) for t in teams}


def attach(
    session: Session, principal: Principal, bid_id: int, filename: str, content: bytes, now: datetime
) -> TaskAttachment:
    """Attach a file to one's own bid while bidding is open; its type is proven by its first bytes."""
    bid, task = _own_bid(session, principal, bid_id)
    _check_bidding_open(task, now)
    if bid.status not in lifecycles.BID_EDITABLE:
        lifecycles.check_bid_move(bid.status, BidStatus.SUBMITTED)
    existing = session.scalar(
        select(func.count()).select_from(TaskAttachment).where(TaskAttachment.bid_id == bid.id)
    )
    media_type = rules.check_attachment(content, int(existing or 0))
    found = TaskAttachment(
        bid_id=bid.id,
        filename=filename,
        media_type=media_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by_id=principal.user_id or 0,
        uploaded_at=now,
    )
    session.add(found)
    session.flush()
    return found


def attachments_of(session: Session, bid_ids: Sequence[int]) -> dict[int, list[TaskAttachment]]:
    found: dict[int, list[TaskAttachment]] = {}
    if bid_ids:
        query = (
            select(TaskAttachment).where(TaskAttachment.bid_id.in_(list(bid_ids))).order_by(TaskAttachment.id)
        )
        for a in session.scalars(query):
            found.setdefault(a.bid_id, []).append(a)
    return found


def get_attachment(session: Session, principal: Principal, attachment_id: int) -> TaskAttachment:
    """For the task's host and the bidding team only."""
    found = session.get(TaskAttachment, attachment_id)
    if found is None:
        raise NotFound("attachment", "附件", attachment_id)
    bid = _bid(session, found.bid_id)
    try:
        task = get_task(session, principal, bid.task_id)
    except NotFound:
        raise NotFound("attachment", "附件", attachment_id) from None
    if bid.team_id not in principal.teams and not is_host(session, principal, task):
        raise NotFound("attachment", "附件", attachment_id)
    return found


def ask(
    session: Session, principal: Principal, task_id: int, team_id: int, question: str, now: datetime
) -> TaskQuestion:
    task = get_task(session, principal, task_id)
    team = _own_team(session, principal, task, team_id)
    check_details_visible(session, principal, task)
    if task.status not in (TaskStatus.OPEN, TaskStatus.BIDDING_CLOSED):
        raise InvalidTransition(
            "Questions are asked while the task is open for bids.",
            "只能在任务招标期间提问。",
            details={"status": task.status.value, "wanted": "ask"},
        )
    asked = TaskQuestion(
        task_id=task.id, team_id=team.id, asked_by_id=principal.user_id or 0, question=question
    )
    session.add(asked)
    session.flush()
    _tell(
        session,
        task,
        "task_question_asked",
        f"New question on {task.title_en}",
        f"{task.title_zh}有新提问",
        question,
        question,
        to_hosts=True,
    )
    return asked


def answer(
    session: Session, principal: Principal, question_id: int, text: str, now: datetime
) -> TaskQuestion:
    asked = session.get(TaskQuestion, question_id, with_for_update=True, populate_existing=True)
    if asked is None:
        raise NotFound("question", "问题", question_id)
    task = _hosted(session, principal, asked.task_id)
    asked.answer = text
    asked.answered_at = now
    session.flush()
    bidders = set(_bidder_user_ids(session, task.id)) | set(_member_ids(session, {asked.team_id}))
    _tell(
        session,
        task,
        "task_answered",
        f"Answered: {task.title_en}",
        f"答疑：{task.title_zh}",
        f"Q: {asked.question}\nA: {text}",
        f"问：{asked.question}\n答：{text}",
        user_ids=tuple(sorted(bidders)),
    )
    return asked


def questions(session: Session, principal: Principal, task_id: int) -> list[TaskQuestion]:
    """The thread is for everyone who may read the task's details: the answers are for all bidders."""
    task = get_task(session, principal, task_id)
    check_details_visible(session, principal, task)
    return list(
        session.scalars(select(TaskQuestion).where(TaskQuestion.task_id == task.id).order_by(TaskQuestion.id))
    )


def close_lapsed_bidding(session: Session, now: datetime) -> list[int]:
    """Close bidding on every open task whose bid deadline has come (the scheduled job runs this).
    Conditional on the task still being open, so a host's award at the same moment is not undone."""
    due = list(
        session.scalars(
            select(Task.id).where(
                Task.status == TaskStatus.OPEN, Task.bid_deadline.is_not(None), Task.bid_deadline <= now
            )
        )
    )
    closed: list[int] = []
    for task_id in due:
        won = session.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == TaskStatus.OPEN)
            .values(status=TaskStatus.BIDDING_CLOSED)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won:
            closed.append(task_id)
            task = session.get(Task, task_id, populate_existing=True)
            if task is not None:
                _changed(session, task, "bidding_closed")
    session.flush()
    return closed
