"""What a booking costs: the hourly (or daily, or per-session) rate, the free monthly minutes a space
grants per resource kind and stage, the stage discount, and the fee for cancelling late."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Allowance:
    free_minutes_per_month: int = 0
    discount_percent: int = 0
    max_minutes_per_month: int | None = None


@dataclass(frozen=True)
class Quote:
    minutes: int
    free_minutes: int  # covered by this month's allowance
    billable_minutes: int
    list_price_cny: Decimal  # before free minutes and discount
    discount_percent: int
    amount_cny: Decimal

    def as_dict(self) -> dict[str, object]:
        return {
            "minutes": self.minutes,
            "free_minutes": self.free_minutes,
            "billable_minutes": self.billable_minutes,
            "list_price_cny": str(self.list_price_cny),
            "discount_percent": self.discount_percent,
            "amount_cny": str(self.amount_cny),
        }


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def price_of(rate: Decimal | None, unit: str, minutes: int) -> Decimal:
    """List price of ``minutes`` of use: per started hour or day, or one flat rate per booking."""
    if rate is None or unit == "free" or minutes <= 0:
        return Decimal(0)
    if unit == "hour":
        return _money(rate * Decimal(minutes) / 60)
    if unit == "day":
        return _money(rate * math.ceil(minutes / (24 * 60)))
    if unit == "month":
        return _money(rate * Decimal(minutes) / (30 * 24 * 60))
    return _money(rate)  # per sample or session: one booking, one charge


def quote(
    rate: Decimal | None, unit: str, minutes: int, allowance: Allowance, free_minutes_used: int
) -> Quote:
    """Free minutes left this month come off first; the stage discount applies to the rest."""
    free_left = max(0, allowance.free_minutes_per_month - free_minutes_used)
    free = min(minutes, free_left)
    billable = minutes - free
    list_price = price_of(rate, unit, minutes)
    if unit in ("hour", "day", "month"):
        to_pay = price_of(rate, unit, billable) if billable else Decimal(0)
    else:
        to_pay = list_price if billable else Decimal(0)
    amount = _money(to_pay * (100 - allowance.discount_percent) / 100)
    return Quote(minutes, free, billable, list_price, allowance.discount_percent, amount)


def late_cancel_fee(amount: Decimal, percent: int) -> Decimal:
    return _money(amount * percent / 100)
