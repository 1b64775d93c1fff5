"""What teams achieve and what a space holds: each team's quarterly operating data (verified by the
space's managers), and the events and trainings a space runs with their registrations and attendance.
Both feed the evaluation report and the filing form."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin, enum_column, str_200, text


class RevenueBand(enum.StrEnum):
    """Revenue in the quarter, in bands (a team states a band, not its books)."""

    NONE = "none"
    UNDER_1M = "under_1m"  # under 1 million CNY
    FROM_1M_TO_10M = "1m_10m"
    FROM_10M_TO_50M = "10m_50m"
    OVER_50M = "over_50m"


class OutcomeStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # waiting for a manager
    VERIFIED = "verified"  # counts in the reports
    RETURNED = "returned"  # sent back to the team with a note, to correct and submit again


class TeamOutcome(TimestampMixin, Base):
    """One team's operating data for one quarter."""

    __tablename__ = "team_outcomes"
    __table_args__ = (
        UniqueConstraint("team_id", "quarter_start"),
        CheckConstraint(
            "employees >= 0 AND patents_applied >= 0 AND patents_granted >= 0 AND technical_results >= 0 "
            "AND results_transferred >= 0 AND funding_raised_10k_cny >= 0",
            name="not_negative",
        ),
        Index("ix_team_outcomes_space_quarter", "space_id", "quarter_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    quarter_start: Mapped[date]  # the first day of the quarter: 2026-07-01 is 2026 Q3
    revenue_band: Mapped[RevenueBand] = mapped_column(enum_column(RevenueBand))
    employees: Mapped[int] = mapped_column(default=0)
    funding_raised_10k_cny: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    patents_applied: Mapped[int] = mapped_column(default=0)
    patents_granted: Mapped[int] = mapped_column(default=0)
    technical_results: Mapped[int] = mapped_column(default=0)
    results_transferred: Mapped[int] = mapped_column(default=0)
    status: Mapped[OutcomeStatus] = mapped_column(enum_column(OutcomeStatus), default=OutcomeStatus.SUBMITTED)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    review_note: Mapped[text] = mapped_column(default="")


class EventKind(enum.StrEnum):
    EVENT = "event"  # 创新创业活动: a demo day, a matchmaking session, a salon
    TRAINING = "training"  # 培训


class SpaceEvent(TimestampMixin, Base):
    """An innovation and entrepreneurship event or a training a space held or will hold."""

    __tablename__ = "space_events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="positive_range"),
        Index("ix_space_events_space_starts", "space_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind))
    title_zh: Mapped[str_200]
    title_en: Mapped[str_200]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int | None]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class EventRegistration(TimestampMixin, Base):
    """A person signed up for an event (for a team of the space, or on their own); attendance is
    recorded by the managers afterwards."""

    __tablename__ = "event_registrations"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("space_events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    attended: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(String(200), default="")
