"""Resident start-up teams, their members, their admission and the history of their incubation stage."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ForeignKey, Numeric, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column, str_200, text, utcnow

if TYPE_CHECKING:
    from models.people import User
    from models.resources import Tag
    from models.spaces import Space


class Stage(enum.StrEnum):
    """The incubation chain 创业苗圃 → 孵化器 → 加速器, then graduation, or exit."""

    NURSERY = "nursery"
    INCUBATOR = "incubator"
    ACCELERATOR = "accelerator"
    GRADUATED = "graduated"
    EXITED = "exited"


class AdmissionStatus(enum.StrEnum):
    PENDING = "pending"
    ADMITTED = "admitted"
    REJECTED = "rejected"


class TeamRole(enum.StrEnum):
    LEAD = "lead"
    MEMBER = "member"


team_tags = Table(
    "team_tags",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True, index=True),
)


class Team(TimestampMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("space_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    key: Mapped[str] = mapped_column(String(63))
    name_zh: Mapped[str_200]
    name_en: Mapped[str_200]
    description_zh: Mapped[text] = mapped_column(default="")
    description_en: Mapped[text] = mapped_column(default="")
    needs_zh: Mapped[text] = mapped_column(default="")
    needs_en: Mapped[text] = mapped_column(default="")
    registered_enterprise: Mapped[bool] = mapped_column(default=False)
    funding_ask_10k_cny: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    round_sought: Mapped[str | None] = mapped_column(String(16))

    admission_status: Mapped[AdmissionStatus] = mapped_column(
        enum_column(AdmissionStatus), default=AdmissionStatus.PENDING, index=True
    )
    # The stage asked for while pending; the current stage once admitted.
    stage: Mapped[Stage] = mapped_column(enum_column(Stage), default=Stage.NURSERY)
    criteria_met: Mapped[dict[str, Any]] = mapped_column(default=dict)
    review_note: Mapped[text] = mapped_column(default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    residence_start: Mapped[date | None]
    free_residence_end: Mapped[date | None]
    exit_reason: Mapped[str | None] = mapped_column(String(1000))
    ended_at: Mapped[datetime | None]

    space: Mapped[Space] = relationship(back_populates="teams")
    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="TeamMember.id"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=team_tags, order_by="Tag.slug")
    stage_changes: Mapped[list[StageChange]] = relationship(
        back_populates="team", order_by="StageChange.id", cascade="all, delete-orphan"
    )

    @property
    def is_resident(self) -> bool:
        return self.admission_status is AdmissionStatus.ADMITTED and self.stage not in (
            Stage.GRADUATED,
            Stage.EXITED,
        )


class TeamMember(TimestampMixin, Base):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[TeamRole] = mapped_column(enum_column(TeamRole), default=TeamRole.MEMBER)

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="team_memberships")


class StageChange(Base):
    """One step in a team's history: admission, promotion, graduation, exit (with the reason)."""

    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[Stage | None] = mapped_column(enum_column(Stage, "from_stage"))
    to_stage: Mapped[Stage] = mapped_column(enum_column(Stage, "to_stage"))
    reason: Mapped[text] = mapped_column(default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    team: Mapped[Team] = relationship(back_populates="stage_changes")
    changed_by: Mapped[User | None] = relationship()
