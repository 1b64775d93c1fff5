"""Mentoring: a team's request for a mentor's help, the sessions it leads to, and each mentor's monthly
hours.

Two lines are held by the database itself, whatever the code does:

- a mentor's hours committed in a month never exceed the month's capacity (a CHECK on
  ``mentor_months``, and accepts raise the count with one conditional UPDATE);
- two scheduled or delivered sessions of one mentor never overlap: on PostgreSQL an exclusion
  constraint over ``tstzrange(starts_at, ends_at)``, on SQLite a trigger (migration 0006).

A team has at most one open (pending or proposed) request to one mentor: a partial unique index.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column, str_200
from models.base import text as long_text

if TYPE_CHECKING:
    from models.resources import Resource
    from models.teams import Team


class MentorRequestStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the mentor
    PROPOSED = "proposed"  # the mentor offered times from their office hours; the team picks one
    ACCEPTED = "accepted"  # hours committed in the mentor's month
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # the team took it back


class DeclineReason(enum.StrEnum):
    NO_TIME = "no_time"
    OUTSIDE_EXPERTISE = "outside_expertise"
    NOT_READY = "not_ready"  # the team should prepare more first
    OTHER = "other"


# Statuses in which a request is still open. Kept in step with the partial unique index of 0006.
OPEN_REQUEST_STATUSES = (MentorRequestStatus.PENDING, MentorRequestStatus.PROPOSED)


class MentorMonth(Base):
    """How many of a mentor's hours are committed in one local month, against the month's capacity."""

    __tablename__ = "mentor_months"
    __table_args__ = (
        CheckConstraint("committed_hours >= 0", name="committed_not_negative"),
        CheckConstraint("committed_hours <= capacity_hours", name="within_capacity"),
    )

    mentor_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM in the space's zone
    capacity_hours: Mapped[int]
    committed_hours: Mapped[int] = mapped_column(default=0)


class MentorRequest(TimestampMixin, Base):
    """A team asks a mentor for help on a topic: what it needs, by when, and for how many hours."""

    __tablename__ = "mentor_requests"
    __table_args__ = (
        CheckConstraint("hours >= 1", name="hours_positive"),
        Index("ix_mentor_requests_mentor_status", "mentor_id", "status"),
        Index(
            "uq_mentor_requests_one_open",
            "team_id",
            "mentor_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'proposed')"),
            postgresql_where=text("status IN ('pending', 'proposed')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: from a round
    topic: Mapped[str_200]
    needs: Mapped[long_text] = mapped_column(default="")
    wanted_by: Mapped[date | None]
    hours: Mapped[int]
    status: Mapped[MentorRequestStatus] = mapped_column(enum_column(MentorRequestStatus), index=True)
    decline_reason: Mapped[DeclineReason | None] = mapped_column(enum_column(DeclineReason))
    answer_note: Mapped[str] = mapped_column(String(500), default="")
    # [{"starts_at": iso, "ends_at": iso}, ...] offered by the mentor while the request is "proposed".
    proposed_times: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # The month whose capacity the accepted hours count against (None: not counted, see round_id).
    month: Mapped[str | None] = mapped_column(String(7))
    answered_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # Set for requests an allocation round made: its hours come out of the round's own budget.
    round_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_rounds.id"))
    generated: Mapped[bool] = mapped_column(default=False)  # demo history, never real activity

    team: Mapped[Team] = relationship()
    mentor: Mapped[Resource] = relationship()
    sessions: Mapped[list[MentorSession]] = relationship(
        back_populates="request", order_by="MentorSession.starts_at"
    )


class MentorSessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    DELIVERED = "delivered"  # the mentor reported the hours
    CANCELLED = "cancelled"


# Statuses that occupy the mentor's time. Kept in step with the constraint and trigger of 0006.
BUSY_SESSION_STATUSES = (MentorSessionStatus.SCHEDULED, MentorSessionStatus.DELIVERED)


class MentorSession(TimestampMixin, Base):
    """One meeting over the half-open range [starts_at, ends_at) in the mentor's office hours."""

    __tablename__ = "mentor_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="positive_range"),
        CheckConstraint("team_rating IS NULL OR (team_rating >= 1 AND team_rating <= 5)", name="team_rating"),
        CheckConstraint(
            "preparation_rating IS NULL OR (preparation_rating >= 1 AND preparation_rating <= 5)",
            name="preparation_rating",
        ),
        Index("ix_mentor_sessions_mentor_starts", "mentor_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("mentor_requests.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[MentorSessionStatus] = mapped_column(enum_column(MentorSessionStatus))
    hours_delivered: Mapped[float | None]
    notes: Mapped[long_text] = mapped_column(default="")  # visible to the team
    follow_ups: Mapped[long_text] = mapped_column(default="")
    team_rating: Mapped[int | None]
    team_comment: Mapped[str] = mapped_column(String(1000), default="")
    preparation_rating: Mapped[int | None]  # the mentor's view of the team's preparation
    generated: Mapped[bool] = mapped_column(default=False)

    request: Mapped[MentorRequest] = relationship(back_populates="sessions")
