"""Crowdsourced innovation tasks (众包) that a host posts for teams to bid on: the task, its bids, its
questions and answers, the accepted terms and their history, the milestones of delivery and the ratings."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy import text as text_clause
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column, str_200, text

if TYPE_CHECKING:
    from models.resources import Tag
    from models.spaces import Organization, Space
    from models.teams import Team


class TaskStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    BIDDING_CLOSED = "bidding_closed"
    AWARDED = "awarded"
    IN_DELIVERY = "in_delivery"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskVisibility(enum.StrEnum):
    PUBLIC = "public"  # any admitted team of any space
    RESIDENTS = "residents"  # admitted teams of the task's space
    INVITED = "invited"  # only the teams the host invited


class IpTerms(enum.StrEnum):
    HOST_OWNS = "host_owns"
    SHARED = "shared"
    TEAM_OWNS_LICENSED = "team_owns_licensed"  # the team owns it and licenses it to the host
    CUSTOM = "custom"


class CancelReason(enum.StrEnum):
    NO_BIDS = "no_bids"
    NO_SUITABLE_BID = "no_suitable_bid"
    REQUIREMENTS_CHANGED = "requirements_changed"
    BUDGET_WITHDRAWN = "budget_withdrawn"
    TEAM_UNRESPONSIVE = "team_unresponsive"


class BidStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    WITHDRAWN = "withdrawn"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"


class MilestoneStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    REVISION_REQUESTED = "revision_requested"
    ACCEPTED = "accepted"


class PaymentStatus(enum.StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"


task_tags = Table(
    "task_tags",
    Base.metadata,
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True, index=True),
)


class Task(TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("space_id", "key"),
        CheckConstraint("max_awards >= 1", name="max_awards_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(String(63))
    title_zh: Mapped[str_200]
    title_en: Mapped[str_200]
    description_zh: Mapped[text] = mapped_column(default="")
    description_en: Mapped[text] = mapped_column(default="")
    budget_10k_cny: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus), default=TaskStatus.OPEN)
    deadline: Mapped[date | None]  # the delivery deadline
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deliverables_zh: Mapped[text] = mapped_column(default="")
    deliverables_en: Mapped[text] = mapped_column(default="")
    reward_min_cny: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    reward_max_cny: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    bid_deadline: Mapped[datetime | None] = mapped_column(index=True)
    ip_terms: Mapped[IpTerms] = mapped_column(enum_column(IpTerms), default=IpTerms.HOST_OWNS)
    ip_terms_custom: Mapped[text] = mapped_column(default="")
    visibility: Mapped[TaskVisibility] = mapped_column(
        enum_column(TaskVisibility), default=TaskVisibility.RESIDENTS
    )
    # Details (description, deliverables) stay hidden from a team until it accepts these terms.
    confidential: Mapped[bool] = mapped_column(default=False)
    confidentiality_terms: Mapped[text] = mapped_column(default="")
    terms_version: Mapped[int] = mapped_column(default=1)
    max_awards: Mapped[int] = mapped_column(default=1)
    published_at: Mapped[datetime | None]
    cancel_reason: Mapped[CancelReason | None] = mapped_column(enum_column(CancelReason))
    cancel_comment: Mapped[text] = mapped_column(default="")
    # True for tasks the demo generator wrote.
    generated: Mapped[bool] = mapped_column(default=False)

    space: Mapped[Space] = relationship()
    organization: Mapped[Organization] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=task_tags, order_by="Tag.slug")
    # reverse relationships: TaskBid.task, TaskMilestone.task


class TaskBid(TimestampMixin, Base):
    """One proposal per team per task."""

    __tablename__ = "task_bids"
    __table_args__ = (
        UniqueConstraint("task_id", "team_id"),
        CheckConstraint("price_cny >= 0", name="price_not_negative"),
        # The database itself allows one award on a single-award task: such an award sets ``sole_award``.
        Index(
            "uq_task_bids_sole_award",
            "task_id",
            unique=True,
            sqlite_where=text_clause("sole_award"),
            postgresql_where=text_clause("sole_award"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approach: Mapped[text]
    price_cny: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    timeline_days: Mapped[int]
    credentials: Mapped[text] = mapped_column(default="")
    status: Mapped[BidStatus] = mapped_column(enum_column(BidStatus), default=BidStatus.SUBMITTED)
    clarification_request: Mapped[text] = mapped_column(default="")
    sole_award: Mapped[bool | None] = mapped_column(default=None)
    awarded_at: Mapped[datetime | None]
    generated: Mapped[bool] = mapped_column(default=False)

    task: Mapped[Task] = relationship()
    team: Mapped[Team] = relationship()


class TaskQuestion(TimestampMixin, Base):
    """A bidder asks; the host answers for every bidder to read."""

    __tablename__ = "task_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question: Mapped[text]
    answer: Mapped[str | None] = mapped_column(String(4000))
    answered_at: Mapped[datetime | None]


class TaskTermsAcceptance(Base):
    """A team's recorded acceptance of a confidential task's terms (the version it read)."""

    __tablename__ = "task_terms_acceptances"
    __table_args__ = (UniqueConstraint("task_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    terms_version: Mapped[int]
    accepted_at: Mapped[datetime]


class TaskRevision(Base):
    """One change of a published task's terms: what changed, from what to what, by whom."""

    __tablename__ = "task_revisions"
    __table_args__ = (UniqueConstraint("task_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    version: Mapped[int]
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    changed_at: Mapped[datetime]


class TaskInvitation(Base):
    __tablename__ = "task_invitations"
    __table_args__ = (UniqueConstraint("task_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime]


class TaskRecommendation(Base):
    """A team was told that a published task fits it. The key is the guard: a team hears of a task once,
    however often the job that tells it runs."""

    __tablename__ = "task_recommendations"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    told_at: Mapped[datetime]


class TaskMilestone(TimestampMixin, Base):
    __tablename__ = "task_milestones"
    __table_args__ = (
        UniqueConstraint("bid_id", "position"),
        CheckConstraint("amount_cny >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("task_bids.id"), index=True)
    position: Mapped[int]
    title: Mapped[str_200]
    due_on: Mapped[date]
    amount_cny: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    status: Mapped[MilestoneStatus] = mapped_column(
        enum_column(MilestoneStatus), default=MilestoneStatus.PENDING
    )
    payment_status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus), default=PaymentStatus.UNPAID
    )
    delivery_note: Mapped[text] = mapped_column(default="")
    review_comment: Mapped[text] = mapped_column(default="")
    delivered_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    generated: Mapped[bool] = mapped_column(default=False)

    task: Mapped[Task] = relationship()
    bid: Mapped[TaskBid] = relationship()


class TaskRating(Base):
    """At the end both sides rate each other: the host rates the team, the team rates the host."""

    __tablename__ = "task_ratings"
    __table_args__ = (
        UniqueConstraint("task_id", "team_id", "by_side"),
        CheckConstraint("score >= 1 AND score <= 5", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    by_side: Mapped[str] = mapped_column(String(8))  # "host" | "team"
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    score: Mapped[int]
    comment: Mapped[text] = mapped_column(default="")
    rated_at: Mapped[datetime]
    generated: Mapped[bool] = mapped_column(default=False)


class TaskAttachment(Base):
    """A file a team attaches to its bid: small, of a checked type, kept in the database so that a
    refused or rolled-back upload leaves nothing behind."""

    __tablename__ = "task_attachments"
    __table_args__ = (CheckConstraint("size <= 1048576", name="size_bounded"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("task_bids.id"), index=True)
    filename: Mapped[str_200]
    media_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
