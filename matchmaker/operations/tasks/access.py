"""Who may see and run a task, and what the task operations share: its reference for the rules, live
state, notifications' audiences and the graph edges its events become."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker import events
from matchmaker import tasks as rules
from matchmaker.errors import (
    Forbidden,
    NotFound,
)
from matchmaker.permissions import Principal
from models import (
    BidStatus,
    Interaction,
    InteractionKind,
    Task,
    TaskBid,
    TaskInvitation,
    TaskTermsAcceptance,
    TaskVisibility,
    Team,
    TeamMember,
)

STANDING = (BidStatus.SUBMITTED, BidStatus.SHORTLISTED, BidStatus.AWARDED)


def _not_found(task_id: int) -> NotFound:
    return NotFound("task", "任务", task_id)


def _invited(session: Session, task_id: int) -> frozenset[int]:
    return frozenset(session.scalars(select(TaskInvitation.team_id).where(TaskInvitation.task_id == task_id)))


def ref(session: Session, task: Task) -> rules.TaskRef:
    return rules.TaskRef(
        id=task.id,
        space_id=task.space_id,
        organization_id=task.organization_id,
        status=task.status.value,
        visibility=task.visibility.value,
        confidential=task.confidential,
        invited_team_ids=_invited(session, task.id)
        if task.visibility is not TaskVisibility.PUBLIC
        else frozenset(),
    )


def my_teams(session: Session, principal: Principal) -> list[rules.BidderTeam]:
    if not principal.teams:
        return []
    found = session.scalars(select(Team).where(Team.id.in_(list(principal.teams))).order_by(Team.id))
    return [rules.BidderTeam(t.id, t.space_id, t.is_resident) for t in found]


def get_task(session: Session, principal: Principal, task_id: int, *, lock: bool = False) -> Task:
    """The task, if the asker may see it (a task they may not see does not exist for them)."""
    task = session.get(Task, task_id, with_for_update=lock, populate_existing=lock)
    if task is None or not rules.can_view_task(principal, ref(session, task), my_teams(session, principal)):
        raise _not_found(task_id)
    return task


def _hosted(session: Session, principal: Principal, task_id: int, *, lock: bool = False) -> Task:
    task = get_task(session, principal, task_id, lock=lock)
    if not rules.is_host_of(principal, ref(session, task)):
        raise Forbidden("run this task", "管理该任务")
    return task


def details_visible(session: Session, principal: Principal, task: Task) -> bool:
    """A confidential task's details: its host, and teams that accepted its terms."""
    if not task.confidential or rules.is_host_of(principal, ref(session, task)):
        return True
    if not principal.teams:
        return False
    accepted = session.scalar(
        select(func.count())
        .select_from(TaskTermsAcceptance)
        .where(TaskTermsAcceptance.task_id == task.id, TaskTermsAcceptance.team_id.in_(list(principal.teams)))
    )
    return bool(accepted)


def check_details_visible(session: Session, principal: Principal, task: Task) -> None:
    if not details_visible(session, principal, task):
        raise Forbidden(
            "read this confidential task before your team accepts its terms", "在接受保密条款前查看该任务详情"
        )


def bid_count(session: Session, task_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(TaskBid)
            .where(TaskBid.task_id == task_id, TaskBid.status.in_(STANDING))
        )
        or 0
    )


def my_bid(session: Session, principal: Principal, task_id: int) -> TaskBid | None:
    if not principal.teams:
        return None
    return session.scalar(
        select(TaskBid).where(TaskBid.task_id == task_id, TaskBid.team_id.in_(list(principal.teams))).limit(1)
    )


def _member_ids(session: Session, team_ids: set[int] | frozenset[int]) -> tuple[int, ...]:
    if not team_ids:
        return ()
    return tuple(
        sorted(set(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id.in_(list(team_ids))))))
    )


def _bidder_user_ids(session: Session, task_id: int) -> tuple[int, ...]:
    teams = set(
        session.scalars(
            select(TaskBid.team_id).where(TaskBid.task_id == task_id, TaskBid.status.in_(STANDING))
        )
    )
    return _member_ids(session, teams)


def _edge(
    session: Session,
    task: Task,
    team_id: int,
    kind: InteractionKind,
    at: datetime,
    *,
    quantity: float = 0.0,
    rating: int | None = None,
    outcome: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Bids, awards, deliveries and ratings become edges of the graph the matchmaker learns from."""
    session.add(
        Interaction(
            space_id=task.space_id,
            team_id=team_id,
            task_id=task.id,
            kind=kind,
            occurred_at=at,
            quantity=quantity,
            rating=rating,
            outcome=outcome or None,
            detail=detail or {},
        )
    )


def _tell(
    session: Session,
    task: Task,
    kind: str,
    title_en: str,
    title_zh: str,
    body_en: str = "",
    body_zh: str = "",
    *,
    user_ids: tuple[int, ...] = (),
    to_hosts: bool = False,
) -> None:
    """News about ``task`` for the named users and, with ``to_hosts``, the host organisation's staff."""
    events.record(
        session,
        events.TaskNews(
            kind,
            task.id,
            task.organization_id,
            title_en,
            title_zh,
            body_en,
            body_zh,
            user_ids=user_ids,
            to_hosts=to_hosts,
        ),
    )


def public_state(session: Session, task: Task) -> dict[str, Any]:
    """What anyone who may see the task may know live: its state and how many bids stand."""
    return {"id": task.id, "status": task.status.value, "bid_count": bid_count(session, task.id)}


def _changed(session: Session, task: Task, action: str) -> None:
    session.flush()
    events.record(
        session,
        events.TaskChanged(
            action,
            task.space_id,
            task.id,
            task.organization_id,
            task.visibility.value,
            public_state(session, task),
        ),
    )


def is_host(session: Session, principal: Principal, task: Task) -> bool:
    return rules.is_host_of(principal, ref(session, task))
