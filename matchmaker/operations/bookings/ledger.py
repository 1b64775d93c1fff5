"""Pricing and the team's ledger: quotes within the monthly cap, the usage line, refunds and late
fees, and the check that a booking's ledger agrees with its status."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, select
from sqlalchemy.orm import Session

from matchmaker import lifecycles, pricing, slots
from matchmaker.errors import Conflict
from models import (
    Allowance,
    Booking,
    Charge,
    ChargeKind,
    Resource,
    Team,
)


class QuotaExceeded(Conflict):
    code = "quota_exceeded"


class LedgerDisagrees(Conflict):
    """The booking's ledger lines do not add up to what its status says: refused, so the caller's
    transaction rolls back and nothing is written."""

    code = "ledger_conflict"


_USED_THIS_MONTH = (
    select(
        func.coalesce(func.sum(Charge.free_minutes), 0).label("free"),
        func.coalesce(func.sum(Charge.minutes), 0).label("booked"),
    )
    .where(
        Charge.team_id == bindparam("team_id"),
        Charge.month == bindparam("month"),
        Charge.resource_kind == bindparam("kind"),
    )
    .subquery()
)


_ALLOWANCE_AND_USAGE = (
    select(
        _USED_THIS_MONTH.c.free,
        _USED_THIS_MONTH.c.booked,
        Allowance.free_hours_per_month,
        Allowance.discount_percent,
        Allowance.max_hours_per_month,
    )
    .select_from(_USED_THIS_MONTH)
    .outerjoin(
        Allowance,
        and_(
            Allowance.space_id == bindparam("space_id"),
            Allowance.resource_kind == bindparam("kind"),
            Allowance.stage == bindparam("stage"),
        ),
    )
)


_INSERT_CHARGE = insert(cast(Table, Charge.__table__))


def _allowance_and_usage(
    session: Session, team: Team, kind: str, month: str
) -> tuple[pricing.Allowance, int, int]:
    """What the space grants the team for this kind of resource, with the free minutes it has used and
    the minutes it has booked this local month: one statement."""
    row = session.execute(
        _ALLOWANCE_AND_USAGE,
        {
            "team_id": team.id,
            "month": month,
            "kind": kind,
            "space_id": team.space_id,
            "stage": team.stage.value,
        },
    ).one()
    free_used, booked, free_hours, discount, max_hours = row
    allowance = (
        pricing.Allowance()
        if free_hours is None
        else pricing.Allowance(free_hours * 60, discount, None if max_hours is None else max_hours * 60)
    )
    return allowance, int(free_used), int(booked)


def price_for(
    session: Session, team: Team, resource: Resource, start: datetime, end: datetime
) -> tuple[pricing.Quote, str]:
    """Price [start, end) for the team, counting this month's free minutes and refusing what would break
    its monthly cap."""
    month = slots.local_month(start, resource.space.timezone)
    allowance, free_used, booked = _allowance_and_usage(session, team, resource.kind.value, month)
    minutes = int((end - start) / slots.MINUTE)
    return quote_within_cap(resource, minutes, allowance, free_used, booked, month), month


def quote_within_cap(
    resource: Resource, minutes: int, allowance: pricing.Allowance, free_used: int, booked: int, month: str
) -> pricing.Quote:
    """Price ``minutes`` of the resource for a team that has used ``free_used`` free minutes and booked
    ``booked`` minutes of its kind in ``month``; refuse what would break the monthly cap."""
    cap = allowance.max_minutes_per_month
    if cap is not None and booked + minutes > cap:
        raise QuotaExceeded(
            f"This would take the team past its {cap // 60} hours a month for this kind of resource "
            f"({booked // 60} h {booked % 60} min already booked in {month}).",
            f"超出团队本月该类资源 {cap // 60} 小时的上限"
            f"（{month} 已预约 {booked // 60} 小时 {booked % 60} 分钟）。",
            details={"month": month, "booked_minutes": booked, "cap_minutes": cap, "asked_minutes": minutes},
        )
    return pricing.quote(resource.price_cny, resource.price_unit, minutes, allowance, free_used)


def usage_line(
    team_id: int, resource_kind: str, quote: pricing.Quote, month: str, note: str = ""
) -> dict[str, Any]:
    """The columns of a booking's usage line on its team's ledger, at ``quote`` (without the booking)."""
    return line(
        team_id,
        resource_kind,
        ChargeKind.USAGE,
        month,
        amount=quote.amount_cny,
        minutes=quote.minutes,
        free=quote.free_minutes,
        note=note,
    )


def refund_line(usage: dict[str, Any], note: str = "") -> dict[str, Any]:
    """The line that gives a whole usage line back, as releasing the booking before its start does."""
    return {
        **usage,
        "kind": ChargeKind.REFUND,
        "amount_cny": -usage["amount_cny"],
        "minutes": -usage["minutes"],
        "free_minutes": -usage["free_minutes"],
        "note": note,
    }


def line(
    team_id: int,
    resource_kind: str,
    kind: ChargeKind,
    month: str,
    *,
    amount: Decimal,
    minutes: int,
    free: int,
    note: str = "",
) -> dict[str, Any]:
    """The columns of one ledger line (without the booking): what every charge, refund and fee holds."""
    return {
        "team_id": team_id,
        "kind": kind,
        "amount_cny": amount,
        "minutes": minutes,
        "free_minutes": free,
        "month": month,
        "resource_kind": resource_kind,
        "note": note,
    }


def _charge(
    session: Session,
    booking: Booking,
    kind: ChargeKind,
    month: str,
    *,
    amount: Decimal,
    minutes: int,
    free: int,
    note: str = "",
) -> None:
    """Write one ledger line now, with a plain INSERT (nothing reads the line back as an object)."""
    values = line(
        booking.team_id,
        booking.resource.kind.value,
        kind,
        month,
        amount=amount,
        minutes=minutes,
        free=free,
        note=note,
    )
    session.execute(_INSERT_CHARGE, {**values, "booking_id": booking.id})


def _month_of(booking: Booking) -> str:
    return slots.local_month(booking.starts_at, booking.resource.space.timezone)


def bill(
    session: Session, booking: Booking, team: Team, priced: tuple[pricing.Quote, str] | None = None
) -> None:
    """Write the booking's usage line, at the price ``priced`` already set on it in this transaction, or
    priced now. A booking not billed in its status (a request waiting for the host, an offer) is
    not charged yet: it is when it is approved or accepted."""
    if booking.status.value not in lifecycles.BOOKING_BILLED:
        return
    if priced is None:
        priced = price_for(session, team, booking.resource, booking.starts_at, booking.ends_at)
        booking.amount_cny, booking.free_minutes = priced[0].amount_cny, priced[0].free_minutes
    quote, month = priced
    values = usage_line(booking.team_id, booking.resource.kind.value, quote, month)
    session.execute(_INSERT_CHARGE, {**values, "booking_id": booking.id})


def _net_charged(session: Session, booking: Booking) -> tuple[Decimal, int, int]:
    """The booking's usage less its refunds: amount, minutes and free minutes."""
    charged = session.execute(
        select(
            func.coalesce(func.sum(Charge.amount_cny), 0),
            func.coalesce(func.sum(Charge.minutes), 0),
            func.coalesce(func.sum(Charge.free_minutes), 0),
        ).where(Charge.booking_id == booking.id, Charge.kind.in_((ChargeKind.USAGE, ChargeKind.REFUND)))
    ).one()
    return Decimal(charged[0]), int(charged[1]), int(charged[2])


def refund(
    session: Session,
    booking: Booking,
    *,
    fee_percent: int = 0,
    note: str = "",
    fee_kind: ChargeKind = ChargeKind.LATE_CANCEL_FEE,
) -> None:
    """Give back what the booking was charged (its minutes too), less a fee if any: the late
    cancellation's, or with ``fee_kind`` the no-show's."""
    amount, minutes, free = _net_charged(session, booking)
    if minutes == 0 and amount == 0:
        return
    month = _month_of(booking)
    _charge(
        session, booking, ChargeKind.REFUND, month, amount=-amount, minutes=-minutes, free=-free, note=note
    )
    fee = pricing.late_cancel_fee(booking.amount_cny if amount else Decimal(0), fee_percent)
    if fee_percent and fee > 0:
        _charge(session, booking, fee_kind, month, amount=fee, minutes=0, free=0, note=note)


def check_ledger(session: Session, booking: Booking) -> None:
    """Money follows state: before the change is committed, the booking's ledger must hold exactly one
    charge while it is billed and none once it is released. A change that would leave them disagreeing
    (one lost to a concurrent change, say) is refused, and the caller's transaction rolls back."""
    amount, minutes, free = _net_charged(session, booking)
    if not lifecycles.booking_ledger_agrees(
        booking.status.value,
        net_amount=amount,
        net_minutes=minutes,
        net_free=free,
        amount=booking.amount_cny,
        free=booking.free_minutes,
    ):
        raise LedgerDisagrees(
            "This booking changed while we were working on it; nothing was done. Look at it again.",
            "该预约在处理过程中被他人变更，本次未作任何修改。请刷新后重试。",
            details={
                "booking_id": booking.id,
                "status": booking.status.value,
                "charged_cny": str(amount),
                "charged_minutes": minutes,
            },
        )
