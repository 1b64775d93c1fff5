"""Allocation rounds: a manager shares scarce mentor hours or pilot-line weeks among the teams that
asked, reviews the optimal result as a draft, then publishes it to the teams and the mentors."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column, str_200
from models.resources import Resource
from models.teams import Team


class RoundStatus(enum.StrEnum):
    DRAFT = "draft"  # computed, seen only by the space's managers
    PUBLISHED = "published"  # teams and mentors have been told
    DISCARDED = "discarded"


class AllocationRound(TimestampMixin, Base):
    __tablename__ = "allocation_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    title: Mapped[str_200]
    resource_kind: Mapped[str] = mapped_column(String(32))  # "mentor" | "pilot_line"
    status: Mapped[RoundStatus] = mapped_column(enum_column(RoundStatus), default=RoundStatus.DRAFT)
    # What was asked: the teams, each resource's units this round, and the rules of the round.
    team_ids: Mapped[list[int]] = mapped_column(default=list)
    capacity: Mapped[dict[str, Any]] = mapped_column(default=dict)  # str(resource_id) -> units
    units_per_assignment: Mapped[int] = mapped_column(default=1)
    team_limit: Mapped[int] = mapped_column(default=1)
    load_penalty: Mapped[float] = mapped_column(default=0.0)
    min_fit: Mapped[float] = mapped_column(default=0.0)
    # What came out.
    unassigned_team_ids: Mapped[list[int]] = mapped_column(default=list)
    total_fit: Mapped[float] = mapped_column(default=0.0)
    solver: Mapped[str] = mapped_column(String(32), default="")
    scorer: Mapped[str] = mapped_column(String(64), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None]

    assignments: Mapped[list[AllocationAssignment]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="AllocationAssignment.id"
    )


class AllocationAssignment(Base):
    __tablename__ = "allocation_assignments"
    __table_args__ = (UniqueConstraint("round_id", "team_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("allocation_rounds.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    units: Mapped[int]
    fit: Mapped[float]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(default=list)

    round: Mapped[AllocationRound] = relationship(back_populates="assignments")
    team: Mapped[Team] = relationship()
    resource: Mapped[Resource] = relationship()
