"""Checks a host's settings must pass before they are saved, and the dates of a recurring closure:
pure functions over plain values, each answering with the field to blame and why."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from matchmaker.slots import Opening, format_clock

# A recurring closure may not reach further than this, nor have more occurrences.
MAX_RECURRENCE_DAYS = 5 * 366
MAX_OCCURRENCES = 5 * 53


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field, in both languages, and the stable code a page maps to a label."""

    field: str
    code: str
    en: str
    zh: str


WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def opening_problem(openings: Sequence[Opening]) -> Problem | None:
    """Periods that end before they start, or two periods of one day that overlap."""
    for o in openings:
        if o.end <= o.start:
            return Problem(
                "weekly_hours",
                "reversed_range",
                f"{WEEKDAYS_EN[o.weekday]}: {format_clock(o.start)}–{format_clock(o.end)} "
                "ends before it starts.",
                f"{WEEKDAYS_ZH[o.weekday]}：{format_clock(o.start)}–{format_clock(o.end)} 的结束早于开始。",
            )
    ordered = sorted(openings, key=lambda o: (o.weekday, o.start))
    for before, after in itertools.pairwise(ordered):
        if before.weekday == after.weekday and after.start < before.end:
            day_en, day_zh = WEEKDAYS_EN[before.weekday], WEEKDAYS_ZH[before.weekday]
            return Problem(
                "weekly_hours",
                "overlap",
                f"{day_en}: the opening hours {format_clock(before.start)}–{format_clock(before.end)} and "
                f"{format_clock(after.start)}–{format_clock(after.end)} overlap.",
                f"{day_zh}：开放时间 {format_clock(before.start)}–{format_clock(before.end)} 与 "
                f"{format_clock(after.start)}–{format_clock(after.end)} 重叠。",
            )
    return None


def slot_problem(openings: Sequence[Opening], slot_minutes: int) -> Problem | None:
    """Every opening must last a whole number of slots."""
    for o in openings:
        if (o.end - o.start) % slot_minutes:
            return Problem(
                "slot_minutes",
                "misaligned",
                f"A slot of {slot_minutes} minutes does not divide the opening hours "
                f"{format_clock(o.start)}–{format_clock(o.end)} on {WEEKDAYS_EN[o.weekday]}.",
                f"{slot_minutes} 分钟的时间格无法整除{WEEKDAYS_ZH[o.weekday]}的开放时间 "
                f"{format_clock(o.start)}–{format_clock(o.end)}。",
            )
    return None


def lead_problem(lead_minutes: int, horizon_days: int) -> Problem | None:
    """Booking ahead must leave some time open: the lead time has to end before the horizon does."""
    if lead_minutes >= horizon_days * 24 * 60:
        return Problem(
            "lead_minutes",
            "beyond_horizon",
            f"A lead time of {lead_minutes} minutes reaches past the booking horizon of {horizon_days} days.",
            f"提前预约时间 {lead_minutes} 分钟超出了可预约范围 {horizon_days} 天。",
        )
    return None


def weekly_dates(first: date, until: date | None) -> list[date]:
    """The dates of a closure repeated weekly from ``first`` to ``until`` inclusive. It must have an
    end, and at most five years of occurrences."""
    if until is None:
        raise RecurrenceProblem(
            Problem(
                "until",
                "required",
                "A recurring closure needs a last date.",
                "重复停用须填写结束日期。",
            )
        )
    if until < first:
        raise RecurrenceProblem(
            Problem(
                "until",
                "reversed_range",
                "The last date is before the first closure.",
                "结束日期早于第一次停用。",
            )
        )
    if (until - first).days > MAX_RECURRENCE_DAYS:
        raise RecurrenceProblem(
            Problem(
                "until",
                "too_long",
                "A recurring closure may span at most five years.",
                "重复停用最长不超过五年。",
            )
        )
    dates: list[date] = []
    day = first
    while day <= until and len(dates) < MAX_OCCURRENCES:
        dates.append(day)
        day += timedelta(days=7)
    return dates


class RecurrenceProblem(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.en)
        self.problem = problem
