"""The documented generator of the demo tasks' lifecycles: from the bids and awards the history
generator wrote, each host task is put in one state of its lifecycle, with its bids, milestones,
deliveries, payments and ratings. Its rules are in HISTORY.md ("Tasks"); every row it writes is marked
``generated``, and every text it writes says so."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import (
    BidStatus,
    CancelReason,
    Interaction,
    InteractionKind,
    IpTerms,
    MilestoneStatus,
    PaymentStatus,
    Space,
    Task,
    TaskBid,
    TaskMilestone,
    TaskRating,
    TaskStatus,
    TaskTermsAcceptance,
    TaskVisibility,
    TeamMember,
)
from seeds import builders

LABEL = "演示数据（生成）/ generated demo data"
# The state of the n-th task of a space (in the order of its data file), cycling: every state a task
# with bids can be in, completed ones the most common.
STATES = (
    TaskStatus.COMPLETED,
    TaskStatus.OPEN,
    TaskStatus.IN_DELIVERY,
    TaskStatus.BIDDING_CLOSED,
    TaskStatus.AWARDED,
    TaskStatus.CANCELLED,
    TaskStatus.COMPLETED,
    TaskStatus.OPEN,
)
IP_CYCLE = (IpTerms.HOST_OWNS, IpTerms.SHARED, IpTerms.TEAM_OWNS_LICENSED)
AWARDED_FAMILY = (TaskStatus.AWARDED, TaskStatus.IN_DELIVERY, TaskStatus.COMPLETED)


@dataclass
class Made:
    tasks: int = 0
    bids: int = 0
    milestones: int = 0
    ratings: int = 0

    def __bool__(self) -> bool:
        return self.tasks > 0


def _at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def generate(session: Session, space: Space, *, rng: random.Random, end: date, today: date) -> Made:
    """Give the space's tasks their lifecycles; does nothing once the space has generated bids."""
    done = session.scalar(
        select(TaskBid.id).join(Task, Task.id == TaskBid.task_id).where(Task.space_id == space.id).limit(1)
    )
    if done is not None:
        return Made()
    zone = ZoneInfo(space.timezone)
    tasks = list(
        session.scalars(
            select(Task)
            .where(Task.space_id == space.id, Task.generated.is_(False))
            .options(selectinload(Task.tags))
            .order_by(Task.id)
        )
    )
    made = Made()
    for n, task in enumerate(tasks):
        _one(session, task, STATES[n % len(STATES)], n, rng=rng, end=end, today=today, zone=zone, made=made)
    if tasks:
        _draft(session, space, tasks[0], today=today, zone=zone)
        made.tasks += 1
    session.flush()
    return made


def _edges(session: Session, task: Task, kind: InteractionKind) -> list[Interaction]:
    return list(
        session.scalars(
            select(Interaction)
            .where(Interaction.task_id == task.id, Interaction.kind == kind, Interaction.generated.is_(True))
            .order_by(Interaction.occurred_at, Interaction.id)
        )
    )


def _one(
    session: Session,
    task: Task,
    state: TaskStatus,
    n: int,
    *,
    rng: random.Random,
    end: date,
    today: date,
    zone: ZoneInfo,
    made: Made,
) -> None:
    bids = _edges(session, task, InteractionKind.TASK_BID)
    awards = _edges(session, task, InteractionKind.TASK_AWARD)
    if not bids:
        state = TaskStatus.CANCELLED
    if state in AWARDED_FAMILY and not awards:
        state = TaskStatus.BIDDING_CLOSED
    budget = Decimal(task.budget_10k_cny) * 10000
    task.reward_max_cny = budget
    task.reward_min_cny = (budget * Decimal("0.6")).quantize(Decimal(1))
    task.ip_terms = IP_CYCLE[n % len(IP_CYCLE)]
    task.visibility = TaskVisibility.RESIDENTS
    if not task.deliverables_zh:
        task.deliverables_zh = f"见任务描述。（{LABEL}）"
        task.deliverables_en = f"See the description. ({LABEL})"
    if state in AWARDED_FAMILY:
        award_at = awards[0].occurred_at
        published = bids[0].occurred_at - timedelta(days=1)
        task.bid_deadline = award_at - timedelta(days=5)
    else:
        # Not awarded (yet): the bidding happened in the history's last weeks (never after its end, so
        # the history stays one period), the history's award edge goes, and the bids move into the
        # task's bidding window. An open task's deadline lies after the day of the load.
        for edge in awards:
            session.delete(edge)
        award_at = None
        end_at = _at(end, 9, zone)
        if state is TaskStatus.OPEN:
            published = end_at - timedelta(days=20 - n)
            task.bid_deadline = _at(today + timedelta(days=14 + n), 17, zone)
            last = end_at
        else:
            published = end_at - timedelta(days=45)
            task.bid_deadline = end_at - timedelta(days=5)
            last = task.bid_deadline
        window_hours = max(1, int((last - published).total_seconds() // 3600) - 1)
        for edge in bids:
            edge.occurred_at = published + timedelta(hours=rng.randrange(1, window_hours + 1))
        bids.sort(key=lambda e: (e.occurred_at, e.id))
    task.published_at = published
    task.deadline = (task.bid_deadline + timedelta(days=75)).date()
    if state is TaskStatus.BIDDING_CLOSED:  # one confidential task per space, its bidders accepted the terms
        task.confidential = True
        task.confidentiality_terms = f"投标方须对任务资料保密，不得用于其他用途。（{LABEL}）"
    winner = awards[0].team_id if award_at is not None else None
    rows: list[TaskBid] = []
    for edge in bids:
        price = (budget * Decimal(str(round(rng.uniform(0.6, 1.05), 2)))).quantize(Decimal(100))
        status = BidStatus.SUBMITTED
        if state in AWARDED_FAMILY:
            status = BidStatus.AWARDED if edge.team_id == winner else BidStatus.NOT_AWARDED
        elif state is TaskStatus.CANCELLED:
            status = BidStatus.NOT_AWARDED
        elif rng.random() < 0.3:
            status = BidStatus.SHORTLISTED
        bid = TaskBid(
            task_id=task.id,
            team_id=edge.team_id,
            submitted_by_id=_lead(session, edge.team_id),
            approach=f"技术方案概述（{LABEL}）/ Outline of the approach ({LABEL})",
            price_cny=price,
            timeline_days=rng.randrange(30, 91, 5),
            credentials="",
            status=status,
            awarded_at=award_at if status is BidStatus.AWARDED else None,
            sole_award=True if status is BidStatus.AWARDED else None,
            generated=True,
            created_at=edge.occurred_at,
        )
        session.add(bid)
        rows.append(bid)
        edge.quantity = float(price)
        if task.confidential:
            session.add(
                TaskTermsAcceptance(
                    task_id=task.id,
                    team_id=edge.team_id,
                    user_id=bid.submitted_by_id,
                    terms_version=1,
                    accepted_at=edge.occurred_at - timedelta(hours=1),
                )
            )
    session.flush()
    made.tasks += 1
    made.bids += len(rows)
    if state is TaskStatus.CANCELLED:
        task.cancel_reason = CancelReason.NO_SUITABLE_BID if bids else CancelReason.NO_BIDS
        task.cancel_comment = f"所有投标均超出预算。（{LABEL}）"
    if award_at is not None:
        won = next(b for b in rows if b.status is BidStatus.AWARDED)
        _deliver(session, task, won, state, award_at, rng=rng, end=end, today=today, made=made)
    task.status = state


def _lead(session: Session, team_id: int) -> int:
    return int(
        session.scalar(
            select(TeamMember.user_id).where(TeamMember.team_id == team_id).order_by(TeamMember.id).limit(1)
        )
        or 0
    )


def _deliver(
    session: Session,
    task: Task,
    bid: TaskBid,
    state: TaskStatus,
    award_at: datetime,
    *,
    rng: random.Random,
    end: date,
    today: date,
    made: Made,
) -> None:
    """Two milestones (40% and 60% of the price). A completed task delivered both before the history's
    end, one in five a few days late, each accepted two days after delivery and paid ten days later,
    and both sides rated; a task in delivery has its first milestone accepted; an awarded task has
    nothing delivered yet, its milestones due after today."""
    end_at = datetime.combine(end, time(), tzinfo=UTC)
    span = max((end_at - award_at).days, 4)
    if state is TaskStatus.COMPLETED:
        dues = [
            award_at.date() + timedelta(days=span * 2 // 5),
            award_at.date() + timedelta(days=span * 4 // 5),
        ]
    elif state is TaskStatus.IN_DELIVERY:
        dues = [award_at.date() + timedelta(days=span // 2), today + timedelta(days=30)]
    else:
        dues = [today + timedelta(days=20), today + timedelta(days=50)]
    shares = (Decimal("0.4"), Decimal("0.6"))
    delivered_count = {TaskStatus.COMPLETED: 2, TaskStatus.IN_DELIVERY: 1}.get(state, 0)
    for position, (due, share) in enumerate(zip(dues, shares, strict=True), start=1):
        milestone = TaskMilestone(
            task_id=task.id,
            bid_id=bid.id,
            position=position,
            title=("原型 / Prototype" if position == 1 else "终版交付 / Final delivery"),
            due_on=due,
            amount_cny=(bid.price_cny * share).quantize(Decimal("0.01")),
            generated=True,
        )
        if position <= delivered_count:
            late = rng.random() < 0.2
            delivered = datetime.combine(due, time(9), tzinfo=UTC) + timedelta(
                days=rng.randrange(1, 4) if late else -rng.randrange(0, 5)
            )
            delivered = min(delivered, end_at - timedelta(days=3))
            milestone.status = MilestoneStatus.ACCEPTED
            milestone.delivery_note = f"交付说明（{LABEL}）/ Delivery note ({LABEL})"
            milestone.delivered_at = delivered
            milestone.accepted_at = delivered + timedelta(days=2)
            milestone.payment_status = PaymentStatus.PAID
            milestone.paid_at = delivered + timedelta(days=12)
            session.add(
                Interaction(
                    space_id=task.space_id,
                    team_id=bid.team_id,
                    task_id=task.id,
                    kind=InteractionKind.TASK_DELIVERY,
                    occurred_at=milestone.accepted_at,
                    quantity=float(milestone.amount_cny),
                    outcome="accepted",
                    generated=True,
                    detail={"on_time": delivered.date() <= due},
                )
            )
        session.add(milestone)
        made.milestones += 1
    if state is TaskStatus.COMPLETED:
        rated_at = end_at - timedelta(days=1)
        host_score = max(1, min(5, round(4.2 + rng.gauss(0, 0.7))))
        team_score = max(1, min(5, round(4.0 + rng.gauss(0, 0.7))))
        for side, score in (("host", host_score), ("team", team_score)):
            session.add(
                TaskRating(
                    task_id=task.id,
                    team_id=bid.team_id,
                    by_side=side,
                    score=score,
                    comment=LABEL,
                    rated_at=rated_at,
                    generated=True,
                )
            )
            made.ratings += 1
        session.add(
            Interaction(
                space_id=task.space_id,
                team_id=bid.team_id,
                task_id=task.id,
                kind=InteractionKind.TASK_RATING,
                occurred_at=rated_at,
                rating=host_score,
                generated=True,
            )
        )


def _draft(session: Session, space: Space, model: Task, *, today: date, zone: ZoneInfo) -> None:
    """One draft per space, so the host's desk shows a task not yet published."""
    org = model.organization
    builders.get_or_create_task(
        session,
        space,
        org,
        f"{model.key}-phase-two",
        title_zh=f"（草稿）{model.title_zh}：二期",
        title_en=f"(Draft) {model.title_en}: phase two",
        description_zh=f"在一期成果基础上的后续任务，尚未发布。（{LABEL}）",
        description_en=f"A follow-up to phase one, not yet published. ({LABEL})",
        budget_10k_cny=float(model.budget_10k_cny),
        tags=[t.slug for t in model.tags],
        status=TaskStatus.DRAFT,
        generated=True,
        bid_deadline=_at(today + timedelta(days=30), 17, zone),
        deadline=today + timedelta(days=120),
    )
