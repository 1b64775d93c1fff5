"""Time slots: opening hours in a space's time zone, half-open ranges, blackouts, changeover buffers,
identical units, recurrence, free slots and the alternatives offered when a slot is taken.

Pure functions over plain records. Every datetime is aware; opening hours and alignment are judged on
the space's wall clock (so 09:00 stays 09:00 across a daylight-saving change) and stored in UTC.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from matchmaker.errors import MatchmakerError

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
# No booking (changeover buffer included) is longer than this: lets range queries use a start index.
MAX_BOOKING = timedelta(days=31)
ALTERNATIVE_WINDOW = timedelta(days=7)


class BookingRefused(MatchmakerError):
    """A booking request that breaks one of the resource's rules; ``code`` names the rule."""

    status = 422

    def __init__(self, code: str, message_en: str, message_zh: str, **details: Any) -> None:
        super().__init__(message_en, message_zh, details=details)
        self.code = code


@dataclass(frozen=True)
class Opening:
    """Open on ``weekday`` (Monday 0) from ``start`` to ``end`` minutes after local midnight."""

    weekday: int
    start: int
    end: int

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Opening:
        return cls(int(raw["weekday"]), parse_clock(str(raw["start"])), parse_clock(str(raw["end"])))

    def as_dict(self) -> dict[str, Any]:
        return {"weekday": self.weekday, "start": format_clock(self.start), "end": format_clock(self.end)}


def parse_clock(text: str) -> int:
    """``"09:30"`` → 570 minutes; ``"24:00"`` closes the day."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"not a clock time: {text!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > 24 * 60:
        raise ValueError(f"not a clock time: {text!r}")
    return value


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Rules:
    timezone: str = "Asia/Shanghai"
    weekly_hours: tuple[Opening, ...] = ()
    slot_minutes: int = 30
    min_minutes: int = 30
    max_minutes: int = 480
    lead_minutes: int = 0
    horizon_days: int = 60
    buffer_minutes: int = 0
    units: int = 1

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)


@dataclass(frozen=True)
class Busy:
    """An active booking: its unit is taken over [start, blocked_until)."""

    start: datetime
    end: datetime
    blocked_until: datetime
    unit: int
    booking_id: int | None = None


@dataclass(frozen=True)
class Closure:
    """A blackout over [start, end) for one unit, or every unit when ``unit`` is None."""

    start: datetime
    end: datetime
    unit: int | None = None
    reason: str = ""


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open ranges: 10:00–12:00 and 12:00–14:00 do not overlap; an empty range overlaps nothing."""
    return a_start < a_end and b_start < b_end and a_start < b_end and b_start < a_end


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local day (24:00 is the next midnight)."""
    if minutes >= 24 * 60:
        return _at(day + DAY, minutes - 24 * 60, zone)
    wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return wall.astimezone(UTC)


def opening_intervals(rules: Rules, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Opening hours within [start, end) as merged UTC ranges (touching ranges join, so a line open
    around the clock is one range and a multi-day block fits in it)."""
    zone = rules.zone
    first = _local(start, zone).date() - DAY
    last = _local(end, zone).date() + DAY
    by_day: dict[int, list[Opening]] = {}
    for opening in rules.weekly_hours:
        by_day.setdefault(opening.weekday, []).append(opening)
    raw: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        for opening in by_day.get(day.weekday(), ()):
            raw.append((_at(day, opening.start, zone), _at(day, opening.end, zone)))
        day += DAY
    raw.sort()
    merged: list[tuple[datetime, datetime]] = []
    for s, e in raw:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return [(max(s, start), min(e, end)) for s, e in merged if s < end and e > start]


def is_aligned(rules: Rules, moment: datetime) -> bool:
    local = _local(moment, rules.zone)
    if local.second or local.microsecond:
        return False
    return (local.hour * 60 + local.minute) % rules.slot_minutes == 0


def check_request(
    rules: Rules, start: datetime, end: datetime, now: datetime, *, closures: Sequence[Closure] = ()
) -> None:
    """Raise ``BookingRefused`` naming the first rule a request for [start, end) breaks."""
    if end == start:
        raise BookingRefused("empty_range", "The booking has no length.", "预约时长为零。")
    if end < start:
        raise BookingRefused(
            "reversed_range", "The booking ends before it starts.", "预约的结束时间早于开始时间。"
        )
    if start < now:
        raise BookingRefused("in_the_past", "That time has already passed.", "该时间已经过去。")
    if start < now + timedelta(minutes=rules.lead_minutes):
        raise BookingRefused(
            "too_soon",
            f"This resource must be booked at least {rules.lead_minutes} minutes ahead.",
            f"该资源需至少提前 {rules.lead_minutes} 分钟预约。",
            lead_minutes=rules.lead_minutes,
        )
    if start > now + timedelta(days=rules.horizon_days):
        raise BookingRefused(
            "beyond_horizon",
            f"This resource can be booked at most {rules.horizon_days} days ahead.",
            f"该资源最多可提前 {rules.horizon_days} 天预约。",
            horizon_days=rules.horizon_days,
        )
    if not (is_aligned(rules, start) and is_aligned(rules, end)):
        raise BookingRefused(
            "misaligned",
            f"Bookings start and end on {rules.slot_minutes}-minute steps of the space's clock.",
            f"预约须按 {rules.slot_minutes} 分钟的时间格开始和结束。",
            slot_minutes=rules.slot_minutes,
        )
    minutes = (end - start) / MINUTE
    if minutes < rules.min_minutes:
        raise BookingRefused(
            "too_short",
            f"A booking lasts at least {rules.min_minutes} minutes.",
            f"单次预约至少 {rules.min_minutes} 分钟。",
            min_minutes=rules.min_minutes,
        )
    if minutes > rules.max_minutes or end + rules.buffer - start > MAX_BOOKING:
        raise BookingRefused(
            "too_long",
            f"A booking lasts at most {rules.max_minutes} minutes.",
            f"单次预约最长 {rules.max_minutes} 分钟。",
            max_minutes=rules.max_minutes,
        )
    if not any(s <= start and end <= e for s, e in opening_intervals(rules, start, end)):
        raise BookingRefused(
            "outside_hours",
            "The resource is not open for the whole of that time.",
            "该时段不在资源的开放时间内。",
            opening_hours=[o.as_dict() for o in rules.weekly_hours],
        )
    blocked_units = {c.unit for c in closures if overlaps(c.start, c.end, start, end)}
    if None in blocked_units or len(blocked_units) >= rules.units:
        reason = next((c.reason for c in closures if overlaps(c.start, c.end, start, end)), "")
        raise BookingRefused(
            "in_blackout",
            f"The resource is closed then ({reason})." if reason else "The resource is closed then.",
            f"该时段资源停用（{reason}）。" if reason else "该时段资源停用。",
            reason=reason,
        )


@dataclass
class Occupancy:
    """Who holds which unit when: answers "is this unit free over this range" by bisection."""

    rules: Rules
    busy: Sequence[Busy] = ()
    closures: Sequence[Closure] = ()
    _starts: dict[int, list[datetime]] = field(init=False, default_factory=dict)
    _items: dict[int, list[Busy]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for item in sorted(self.busy, key=lambda b: b.start):
            self._items.setdefault(item.unit, []).append(item)
        self._starts = {u: [b.start for b in items] for u, items in self._items.items()}

    def conflicts(self, unit: int, start: datetime, blocked_until: datetime) -> list[Busy]:
        items = self._items.get(unit, [])
        # Only bookings that start before our range ends can overlap, and none is longer than MAX_BOOKING.
        hi = bisect.bisect_left(self._starts.get(unit, []), blocked_until)
        lo = bisect.bisect_left(self._starts.get(unit, []), start - MAX_BOOKING)
        return [b for b in items[lo:hi] if overlaps(b.start, b.blocked_until, start, blocked_until)]

    def closed(self, unit: int, start: datetime, end: datetime) -> bool:
        return any(
            (c.unit is None or c.unit == unit) and overlaps(c.start, c.end, start, end) for c in self.closures
        )

    def free_units(self, start: datetime, end: datetime) -> list[int]:
        blocked_until = end + self.rules.buffer
        return [
            unit
            for unit in range(1, self.rules.units + 1)
            if not self.closed(unit, start, end) and not self.conflicts(unit, start, blocked_until)
        ]

    def is_bookable(self, start: datetime, end: datetime, now: datetime) -> bool:
        try:
            check_request(self.rules, start, end, now, closures=self.closures)
        except BookingRefused:
            return False
        return bool(self.free_units(start, end))

    def grid(self, window_start: datetime, window_end: datetime) -> Iterator[datetime]:
        """Aligned start times inside opening hours within the window, in order."""
        step = timedelta(minutes=self.rules.slot_minutes)
        for s, e in opening_intervals(self.rules, window_start, window_end):
            moment = align_up(self.rules, s)
            while moment < e:
                yield moment
                moment += step

    def free_starts(
        self, window_start: datetime, window_end: datetime, length: timedelta, now: datetime
    ) -> Iterator[datetime]:
        for start in self.grid(window_start, window_end):
            if start + length <= window_end and self.is_bookable(start, start + length, now):
                yield start


def align_up(rules: Rules, moment: datetime) -> datetime:
    """The first slot boundary of the space's clock at or after ``moment``."""
    local = _local(moment, rules.zone).replace(second=0, microsecond=0)
    if local < _local(moment, rules.zone):
        local += MINUTE
    minutes = local.hour * 60 + local.minute
    remainder = minutes % rules.slot_minutes
    aligned = local if remainder == 0 else local + timedelta(minutes=rules.slot_minutes - remainder)
    return aligned.astimezone(UTC)


@dataclass(frozen=True)
class Alternatives:
    earlier: datetime | None
    later: datetime | None
    shorter: tuple[datetime, datetime] | None

    def as_dict(self, length: timedelta) -> dict[str, Any]:
        def slot(start: datetime, end: datetime) -> dict[str, str]:
            return {"starts_at": start.isoformat(), "ends_at": end.isoformat()}

        return {
            "earlier": slot(self.earlier, self.earlier + length) if self.earlier else None,
            "later": slot(self.later, self.later + length) if self.later else None,
            "shorter": slot(*self.shorter) if self.shorter else None,
        }


def alternatives(occupancy: Occupancy, start: datetime, end: datetime, now: datetime) -> Alternatives:
    """The same length shifted earlier or later (nearest first, within a week) and the longest free
    shorter slot inside the requested range."""
    length = end - start
    rules = occupancy.rules
    earlier = None
    for candidate in reversed(list(occupancy.grid(max(now, start - ALTERNATIVE_WINDOW), start))):
        if occupancy.is_bookable(candidate, candidate + length, now):
            earlier = candidate
            break
    later = next(occupancy.free_starts(start + MINUTE, end + ALTERNATIVE_WINDOW, length, now), None)
    shorter = None
    step = timedelta(minutes=rules.slot_minutes)
    best = timedelta(0)
    for s in occupancy.grid(start, end):
        e = end
        while e - s >= timedelta(minutes=rules.min_minutes) and e - s > best:
            if occupancy.is_bookable(s, e, now):
                shorter, best = (s, e), e - s
                break
            e -= step
    return Alternatives(earlier, later, shorter)


def repeat(
    start: datetime, end: datetime, zone_name: str, frequency: str, count: int
) -> list[tuple[datetime, datetime]]:
    """Occurrences of [start, end) every day or week on the same wall-clock time of the space, so a
    9:00–12:00 series stays 9:00–12:00 across a daylight-saving change."""
    zone = ZoneInfo(zone_name)
    step = {"daily": 1, "weekly": 7}[frequency]
    local_start, local_end = _local(start, zone), _local(end, zone)
    out = []
    for k in range(count):
        shift = timedelta(days=step * k)
        s = datetime.combine(local_start.date() + shift, local_start.timetz().replace(tzinfo=zone))
        e = datetime.combine(local_end.date() + shift, local_end.timetz().replace(tzinfo=zone))
        out.append((s.astimezone(UTC), e.astimezone(UTC)))
    return out


def local_month(moment: datetime, zone_name: str) -> str:
    return _local(moment, ZoneInfo(zone_name)).strftime("%Y-%m")


def describe(moment: datetime, zone_name: str) -> str:
    """A short local wall-clock label for messages: ``2026-11-24 09:00``."""
    return _local(moment, ZoneInfo(zone_name)).strftime("%Y-%m-%d %H:%M")


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def spans(items: Iterable[Busy]) -> list[dict[str, Any]]:
    return [
        {
            "starts_at": b.start.isoformat(),
            "ends_at": b.end.isoformat(),
            "blocked_until": b.blocked_until.isoformat(),
            "unit": b.unit,
            "booking_id": b.booking_id,
        }
        for b in items
    ]
