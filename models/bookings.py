"""Booking shared equipment, pilot lines and rooms: the rules per resource, blackouts, bookings and their
series, certificates, the allowances a space grants, the charge ledger, waitlists and calendar feeds.

No two active bookings of one unit may overlap (their changeover buffer included). The database itself
holds that line: on PostgreSQL an exclusion constraint over ``tstzrange(starts_at, blocked_until)``, on
SQLite a trigger that aborts an overlapping insert or update. Both are created by migration 0002.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column, str_200, text, utcnow

if TYPE_CHECKING:
    from models.people import User
    from models.resources import Resource
    from models.teams import Team


class BlackoutEffect(enum.StrEnum):
    CANCEL = "cancel"  # overlapping bookings are cancelled (and refunded)
    FLAG = "flag"  # overlapping bookings stay but are flagged for the host to sort out


class Availability(TimestampMixin, Base):
    """How one resource can be booked. A bookable resource without a row uses the defaults below."""

    __tablename__ = "availabilities"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    # [{"weekday": 0-6 (Monday 0), "start": "09:00", "end": "18:00"}, ...] in the space's time zone;
    # "end" may be "24:00". An empty list means closed.
    weekly_hours: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    slot_minutes: Mapped[int] = mapped_column(default=30)
    min_minutes: Mapped[int] = mapped_column(default=30)
    max_minutes: Mapped[int] = mapped_column(default=480)
    lead_minutes: Mapped[int] = mapped_column(default=0)
    horizon_days: Mapped[int] = mapped_column(default=60)
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    units: Mapped[int] = mapped_column(default=1)
    requires_certification: Mapped[bool] = mapped_column(default=False)
    # A certificate lapses when its holder has not used the equipment for this many days.
    certification_lapse_days: Mapped[int | None]
    requires_approval: Mapped[bool] = mapped_column(default=False)
    approval_hold_hours: Mapped[int] = mapped_column(default=48)
    free_cancel_hours: Mapped[int] = mapped_column(default=24)
    late_cancel_fee_percent: Mapped[int] = mapped_column(default=50)
    checkin_grace_minutes: Mapped[int] = mapped_column(default=15)
    # Not showing up costs this share of the price; never less than a late cancellation.
    no_show_fee_percent: Mapped[int] = mapped_column(default=100, server_default="100")
    # What happens to future bookings when their booker's certificate is revoked or their team leaves.
    lost_access_effect: Mapped[BlackoutEffect] = mapped_column(
        enum_column(BlackoutEffect, name="lost_access_effect"),
        default=BlackoutEffect.CANCEL,
        server_default="cancel",
    )
    # Teams of other spaces may book it too (the slot finder searches across spaces).
    open_to_other_spaces: Mapped[bool] = mapped_column(default=False)

    resource: Mapped[Resource] = relationship()


class Blackout(TimestampMixin, Base):
    """Maintenance, calibration or a holiday: nobody can book the resource (or one unit) in this range."""

    __tablename__ = "blackouts"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="positive_range"),
        Index("ix_blackouts_resource_starts", "resource_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    unit: Mapped[int | None]  # None: every unit
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str_200]
    effect: Mapped[BlackoutEffect] = mapped_column(enum_column(BlackoutEffect))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None]


class BookingStatus(enum.StrEnum):
    HELD = "held"  # offered to a waiting team, until it accepts or the offer expires
    PENDING = "pending"  # waiting for the host's approval; holds the slot until decided or expired
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"  # a hold or an approval that nobody acted on in time
    NO_SHOW = "no_show"  # not checked in within the grace period; the slot went back to others


# Statuses that occupy the slot. Kept in step with the constraint and trigger of migration 0002.
ACTIVE_STATUSES = (
    BookingStatus.HELD,
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.CHECKED_IN,
    BookingStatus.COMPLETED,
)


class BookingSeries(TimestampMixin, Base):
    """A weekly series or a multi-day block, booked together; each occurrence is its own booking."""

    __tablename__ = "booking_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    frequency: Mapped[str] = mapped_column(String(16))  # "weekly" | "daily"
    count: Mapped[int]
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(default=list)


class Booking(TimestampMixin, Base):
    """One team's use of one unit of a resource over the half-open range [starts_at, ends_at)."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="positive_range"),
        CheckConstraint("blocked_until >= ends_at", name="buffer_after_end"),
        CheckConstraint("unit >= 1", name="unit_positive"),
        Index("ix_bookings_resource_starts", "resource_id", "starts_at"),
        Index("ix_bookings_team_starts", "team_id", "starts_at"),
        Index("ix_bookings_starts_at", "starts_at"),
        # Covers what the cockpit sums over a period, so its scans read the index alone.
        Index(
            "ix_bookings_cockpit",
            "resource_id",
            "starts_at",
            "ends_at",
            "status",
            "checked_in_at",
            "checked_out_at",
            "cancelled_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    unit: Mapped[int] = mapped_column(default=1)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("booking_series.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # ends_at plus the resource's changeover buffer: the unit is busy until then.
    blocked_until: Mapped[datetime]
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus), index=True)
    hold_expires_at: Mapped[datetime | None]
    note: Mapped[text] = mapped_column(default="")
    # The quote at booking time: what the team pays and how many free minutes it used.
    amount_cny: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    free_minutes: Mapped[int] = mapped_column(default=0)
    # Set when a blackout now overlaps the booking and the host chose to flag rather than cancel.
    flagged_reason: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_in_at: Mapped[datetime | None]
    checked_out_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    generated: Mapped[bool] = mapped_column(default=False)  # demo history, never real activity

    resource: Mapped[Resource] = relationship()
    team: Mapped[Team] = relationship()
    booked_by: Mapped[User] = relationship(foreign_keys=[booked_by_id])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class Certification(TimestampMixin, Base):
    """A user's training for one piece of equipment, granted and revoked by its host or the managers."""

    __tablename__ = "certifications"
    __table_args__ = (UniqueConstraint("user_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Allowance(TimestampMixin, Base):
    """What a space grants its teams per resource kind and stage: free hours a month, a discount on the
    rest, and optionally a hard cap on hours a month."""

    __tablename__ = "allowances"
    __table_args__ = (UniqueConstraint("space_id", "resource_kind", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"))
    resource_kind: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(32))
    free_hours_per_month: Mapped[int] = mapped_column(default=0)
    discount_percent: Mapped[int] = mapped_column(default=0)
    max_hours_per_month: Mapped[int | None]


class ChargeKind(enum.StrEnum):
    USAGE = "usage"
    REFUND = "refund"
    LATE_CANCEL_FEE = "late_cancel_fee"
    NO_SHOW_FEE = "no_show_fee"


class Charge(Base):
    """An append-only ledger line per team; the balance is the sum. Refunds are negative lines."""

    __tablename__ = "charges"
    __table_args__ = (Index("ix_charges_team_created", "team_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    kind: Mapped[ChargeKind] = mapped_column(enum_column(ChargeKind))
    amount_cny: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    minutes: Mapped[int] = mapped_column(default=0)  # booked minutes; negative on a refund
    free_minutes: Mapped[int] = mapped_column(default=0)
    # The local month (YYYY-MM) the usage counts against, for free-hour allowances.
    month: Mapped[str] = mapped_column(String(7))
    resource_kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str_200] = mapped_column(default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    LAPSED = "lapsed"  # the offer expired or was declined
    CANCELLED = "cancelled"


class WaitlistEntry(TimestampMixin, Base):
    """A team waiting for a taken slot; when it frees, the first waiting team gets a timed offer."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (Index("ix_waitlist_resource_status", "resource_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[WaitlistStatus] = mapped_column(enum_column(WaitlistStatus))
    offer_booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))


class IdempotencyRecord(Base):
    """The first answer to a request sent with an ``Idempotency-Key``, replayed to its retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarFeed(TimestampMixin, Base):
    """A secret address for an iCalendar feed of a team's or a resource's bookings."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id"),
        CheckConstraint("owner_kind IN ('team', 'resource')", name="owner_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int]
    token: Mapped[str] = mapped_column(String(64), unique=True)
