"""Typed, timestamped team–resource (or team–task) edges: the history the matchmaker learns from."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, enum_column


class InteractionKind(enum.StrEnum):
    BOOKING = "booking"  # quantity: hours used
    MENTOR_SESSION = "mentor_session"  # quantity: hours; rating 1-5
    INTRODUCTION = "introduction"  # outcome: accepted / declined / ignored
    INVESTMENT = "investment"  # quantity: amount in 10k CNY
    TASK_BID = "task_bid"
    TASK_AWARD = "task_award"
    TASK_DELIVERY = "task_delivery"  # a milestone delivered; outcome: accepted / revision_requested
    TASK_RATING = "task_rating"  # the host rated the team's work; rating 1-5
    DECLINE = "decline"  # the resource side turned the team down


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint("(resource_id IS NOT NULL) OR (task_id IS NOT NULL)", name="has_counterpart"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        Index("ix_interactions_team_occurred", "team_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    kind: Mapped[InteractionKind] = mapped_column(enum_column(InteractionKind))
    occurred_at: Mapped[datetime]
    quantity: Mapped[float] = mapped_column(default=0)
    rating: Mapped[int | None]
    outcome: Mapped[str | None] = mapped_column()
    # True for rows the demo history generator wrote: never to be mistaken for real activity.
    generated: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
