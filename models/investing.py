"""Investing: a team's introduction request to an investor or fund, the deal that follows, and the
investments a fund deploys.

A fund never deploys more than its size: ``fund_positions`` keeps the sum deployed under a CHECK, and
every deployment raises it with one conditional UPDATE.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column
from models.base import text as long_text

if TYPE_CHECKING:
    from models.resources import Resource
    from models.teams import Team


class IntroductionStatus(enum.StrEnum):
    REQUESTED = "requested"  # waiting for the investor
    MORE_INFO = "more_info"  # the investor asked for more; the team answers and it is requested again
    INTERESTED = "interested"  # a deal was opened
    PASSED = "passed"
    WITHDRAWN = "withdrawn"


class PassReason(enum.StrEnum):
    STAGE = "stage"  # too early or too late for the fund
    SECTOR = "sector"  # outside the fund's focus
    TEAM = "team"
    TRACTION = "traction"
    TERMS = "terms"
    OTHER = "other"


class DealStage(enum.StrEnum):
    INTRODUCED = "introduced"
    MEETING = "meeting"
    DUE_DILIGENCE = "due_diligence"
    TERM_SHEET = "term_sheet"
    INVESTED = "invested"
    PASSED = "passed"


class Instrument(enum.StrEnum):
    EQUITY = "equity"
    CONVERTIBLE = "convertible"
    SAFE = "safe"
    LOAN = "loan"


class Introduction(TimestampMixin, Base):
    """A team's pitch to one investor or fund; its deck is seen only by that investor, the team and the
    space's managers."""

    __tablename__ = "introductions"
    __table_args__ = (
        CheckConstraint("amount_sought_10k_cny >= 0", name="amount_not_negative"),
        Index(
            "uq_introductions_one_open",
            "team_id",
            "fund_id",
            unique=True,
            sqlite_where=text("status IN ('requested', 'more_info')"),
            postgresql_where=text("status IN ('requested', 'more_info')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    pitch: Mapped[long_text]
    amount_sought_10k_cny: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    round_sought: Mapped[str] = mapped_column(String(16))
    use_of_funds: Mapped[long_text] = mapped_column(default="")
    # The stored deck's file name under the upload folder (never a path the client chose).
    deck_file: Mapped[str | None] = mapped_column(String(80))
    deck_bytes: Mapped[int | None]
    status: Mapped[IntroductionStatus] = mapped_column(enum_column(IntroductionStatus), index=True)
    pass_reason: Mapped[PassReason | None] = mapped_column(enum_column(PassReason, "introduction_pass"))
    investor_note: Mapped[str] = mapped_column(String(1000), default="")
    meeting_proposal: Mapped[str] = mapped_column(String(500), default="")
    # Whether the host organisation itself runs the fund, as the team was shown when it sent.
    host_runs_fund: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime | None]
    generated: Mapped[bool] = mapped_column(default=False)

    team: Mapped[Team] = relationship()
    fund: Mapped[Resource] = relationship()
    deal: Mapped[Deal | None] = relationship(back_populates="introduction")


class Deal(TimestampMixin, Base):
    """An introduction the investor took up, moving one step at a time through the pipeline."""

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    introduction_id: Mapped[int] = mapped_column(ForeignKey("introductions.id"), unique=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    stage: Mapped[DealStage] = mapped_column(enum_column(DealStage), index=True)
    pass_reason: Mapped[PassReason | None] = mapped_column(enum_column(PassReason, "deal_pass"))
    note: Mapped[str] = mapped_column(String(1000), default="")
    generated: Mapped[bool] = mapped_column(default=False)

    introduction: Mapped[Introduction] = relationship(back_populates="deal")
    team: Mapped[Team] = relationship()
    fund: Mapped[Resource] = relationship()


class FundPosition(Base):
    """What a fund has deployed, against its size."""

    __tablename__ = "fund_positions"
    __table_args__ = (
        CheckConstraint("deployed_10k_cny >= 0", name="deployed_not_negative"),
        CheckConstraint("deployed_10k_cny <= size_10k_cny", name="within_size"),
    )

    fund_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), primary_key=True)
    size_10k_cny: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    deployed_10k_cny: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))


class Investment(TimestampMixin, Base):
    """Money a fund put into a team: amount, instrument and date; a follow-on names the first."""

    __tablename__ = "investments"
    __table_args__ = (CheckConstraint("amount_10k_cny > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), index=True)
    follow_on_of_id: Mapped[int | None] = mapped_column(ForeignKey("investments.id"))
    amount_10k_cny: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    instrument: Mapped[Instrument] = mapped_column(enum_column(Instrument))
    invested_on: Mapped[date]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    generated: Mapped[bool] = mapped_column(default=False)

    team: Mapped[Team] = relationship()
