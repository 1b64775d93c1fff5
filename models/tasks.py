"""Crowdsourced innovation tasks (众包) that a host posts for teams to bid on."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Numeric, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column, str_200, text

if TYPE_CHECKING:
    from models.resources import Tag
    from models.spaces import Organization, Space


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    AWARDED = "awarded"
    CLOSED = "closed"


task_tags = Table(
    "task_tags",
    Base.metadata,
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True, index=True),
)


class Task(TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("space_id", "key"),)

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
    deadline: Mapped[date | None]

    space: Mapped[Space] = relationship()
    organization: Mapped[Organization] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=task_tags, order_by="Tag.slug")
