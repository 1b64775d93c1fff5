"""Accounts, their roles in spaces, and personal access tokens for API clients."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column, str_80, str_200

if TYPE_CHECKING:
    from models.spaces import Organization, Space
    from models.teams import TeamMember


class Role(enum.StrEnum):
    """Roles held in a space. Being a founder comes from team membership, not from this table."""

    MANAGER = "manager"
    HOST_STAFF = "host_staff"
    MENTOR = "mentor"
    INVESTOR = "investor"


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str_80]
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # Bumped at logout: every session cookie and Socket.IO connection carrying the old value is dead.
    session_epoch: Mapped[int] = mapped_column(default=0)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")
    # reverse relationships: Resource.person

    # What a login session needs (duck-typed, so models/ never imports Flask): the id carries the
    # logout epoch, so ending sessions invalidates every cookie issued before.
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    team_memberships: Mapped[list[TeamMember]] = relationship(back_populates="user")
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Membership(TimestampMixin, Base):
    """A role a user holds in one space; host staff, mentors and investors also name their organisation."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "space_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))

    user: Mapped[User] = relationship(back_populates="memberships")
    space: Mapped[Space] = relationship()
    organization: Mapped[Organization | None] = relationship()


class ApiToken(TimestampMixin, Base):
    """A personal access token. Only a SHA-256 digest is stored; the token is shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str_200]
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
