"""The demo's tasks: every state of the lifecycle in every space, with bids, milestones, payments and
ratings, all labelled as generated, consistent with the lifecycle tables, and loaded once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import lifecycles
from matchmaker.operations.matching import dataset_from_db
from models import (
    BidStatus,
    Interaction,
    InteractionKind,
    MilestoneStatus,
    Task,
    TaskBid,
    TaskMilestone,
    TaskRating,
    TaskStatus,
)
from seeds import demo

TODAY = date(2026, 11, 29)


@pytest.mark.slow  # generates the full demo history
def test_the_demo_holds_tasks_in_every_state_labelled_as_generated(
    factory: sessionmaker[Session], db: Session
) -> None:
    demo.load_demo(factory, names=["ic-design"], today=TODAY)
    states = set(db.scalars(select(Task.status)))
    assert states == set(TaskStatus)
    bids = list(db.scalars(select(TaskBid)))
    assert bids and all(b.generated for b in bids)
    assert all(m.generated for m in db.scalars(select(TaskMilestone)))
    assert all(r.generated for r in db.scalars(select(TaskRating)))
    for task in db.scalars(select(Task)):
        awarded = [b for b in bids if b.task_id == task.id and b.status is BidStatus.AWARDED]
        milestones = list(db.scalars(select(TaskMilestone).where(TaskMilestone.task_id == task.id)))
        accepted = [m for m in milestones if m.status is MilestoneStatus.ACCEPTED]
        if task.status in (TaskStatus.AWARDED, TaskStatus.IN_DELIVERY, TaskStatus.COMPLETED):
            assert len(awarded) == 1 and milestones
        else:
            assert not awarded and not milestones
        if task.status is TaskStatus.COMPLETED:
            assert len(accepted) == len(milestones)
            assert (
                db.scalar(select(func.count()).select_from(TaskRating).where(TaskRating.task_id == task.id))
                == 2
            )
        if task.status is TaskStatus.OPEN:
            assert task.bid_deadline is not None and task.bid_deadline.date() > TODAY
        assert task.status in lifecycles.TASK_TRANSITIONS
    edges = dict(
        db.execute(
            select(Interaction.kind, func.count())
            .where(Interaction.task_id.is_not(None))
            .group_by(Interaction.kind)
        ).all()
    )
    assert {InteractionKind.TASK_BID, InteractionKind.TASK_AWARD, InteractionKind.TASK_DELIVERY} <= set(edges)
    assert all(i.generated for i in db.scalars(select(Interaction).where(Interaction.task_id.is_not(None))))
    kinds = {e.kind for e in dataset_from_db(db, with_tasks=True).resources.values()}
    assert "task" in kinds  # `matchmaker evaluate --tasks` ranks tasks among the items
    assert "task" not in {e.kind for e in dataset_from_db(db).resources.values()}  # resources' ranker

    before = db.scalar(select(func.count()).select_from(TaskBid))
    demo.load_demo(factory, names=["ic-design"], today=TODAY)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(TaskBid)) == before
