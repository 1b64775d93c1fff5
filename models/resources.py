"""The shared-resource catalogue: equipment, pilot lines, workspaces, mentors, funds and services."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ForeignKey, Numeric, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column, str_40, str_200, text

if TYPE_CHECKING:
    from models.people import User
    from models.spaces import Organization, Space


class ResourceKind(enum.StrEnum):
    EQUIPMENT = "equipment"
    PILOT_LINE = "pilot_line"
    WORKSPACE = "workspace"
    MENTOR = "mentor"
    FUND = "fund"
    SERVICE = "service"


class Tag(Base):
    """A capability tag with its Chinese and English terms, so either language finds the other."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    label_zh: Mapped[str_200]
    label_en: Mapped[str_200]
    terms_zh: Mapped[list[str]] = mapped_column(default=list)
    terms_en: Mapped[list[str]] = mapped_column(default=list)


resource_tags = Table(
    "resource_tags",
    Base.metadata,
    Column("resource_id", ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True, index=True),
)


class Resource(TimestampMixin, Base):
    """Something a space shares. Retired, never deleted: bookings and history refer to it."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("space_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # A stable natural key within the space (seeds load idempotently by it); generated for new rows.
    key: Mapped[str] = mapped_column(String(63))
    kind: Mapped[ResourceKind] = mapped_column(enum_column(ResourceKind), index=True)
    category: Mapped[str_40]
    name_zh: Mapped[str_200]
    name_en: Mapped[str_200]
    description_zh: Mapped[text] = mapped_column(default="")
    description_en: Mapped[text] = mapped_column(default="")
    service_content_zh: Mapped[text] = mapped_column(default="")
    service_content_en: Mapped[text] = mapped_column(default="")
    service_unit_zh: Mapped[str_200] = mapped_column(default="")
    service_unit_en: Mapped[str_200] = mapped_column(default="")
    price_cny: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    price_unit: Mapped[str] = mapped_column(String(16), default="hour")
    subsidy_zh: Mapped[str | None] = mapped_column(Text)
    subsidy_en: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int] = mapped_column(default=1)
    # Kind-specific: an instrument's model and specification, a mentor's expertise and monthly hours,
    # a fund's size, rounds and ticket range. Validated per kind by matchmaker.catalogue.
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The person behind a mentor or fund profile, who may edit it.
    person_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_at: Mapped[datetime | None]
    retired_reason: Mapped[str | None] = mapped_column(String(500))

    space: Mapped[Space] = relationship(back_populates="resources")
    organization: Mapped[Organization] = relationship()
    person: Mapped[User | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=resource_tags, order_by="Tag.slug")

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def accepts_bookings(self) -> bool:
        return not self.is_retired and self.kind in (
            ResourceKind.EQUIPMENT,
            ResourceKind.PILOT_LINE,
            ResourceKind.WORKSPACE,
        )
