"""The formulas the cockpit reports: capacity net of blackouts, utilization, attendance and cancellation
rates, the weekly heatmap, roll-ups by kind and capability, and the unmet-demand suggestions.

Pure functions over plain records; the database sums the rows (``matchmaker.operations.utilization``)
and hands the sums here, so every figure is defined once. Opening hours and days are judged on the
space's wall clock, so a period, a weekday and an hour mean what the manager reads on the wall, across
a daylight-saving change too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from matchmaker import slots
from matchmaker.errors import InvalidInput

MAX_PERIOD_YEARS = 5
IDLE_DAYS = 60
# A capability is suggested from refusals and unmet waits once this much evidence points at it;
# one team's need that nothing in the catalogue can meet is enough on its own.
MIN_DEMAND_EVIDENCE = 2


# Periods ------------------------------------------------------------------------------------------


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check_period(first: date, last: date) -> None:
    """A report covers the local days ``first`` to ``last`` inclusive, at most five years."""
    if last < first:
        raise InvalidInput(
            "The period ends before it starts.",
            "统计期的结束日期早于开始日期。",
            details={"fields": {"end": "before_start"}},
        )
    if last >= _years_later(first, MAX_PERIOD_YEARS):
        raise InvalidInput(
            f"A period spans at most {MAX_PERIOD_YEARS} years.",
            f"统计期最长为 {MAX_PERIOD_YEARS} 年。",
            details={"fields": {"end": "too_long"}},
        )


def period_bounds(first: date, last: date, zone_name: str) -> tuple[datetime, datetime]:
    """The UTC instants of local midnight before ``first`` and after ``last``: the half-open range."""
    check_period(first, last)
    zone = ZoneInfo(zone_name)
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


# Capacity -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capacity:
    """Unit-minutes a resource was open in a period, and how many of them blackouts took away."""

    open_minutes: int
    blackout_minutes: int

    @property
    def net_minutes(self) -> int:
        return self.open_minutes - self.blackout_minutes

    def __add__(self, other: Capacity) -> Capacity:
        return Capacity(
            self.open_minutes + other.open_minutes, self.blackout_minutes + other.blackout_minutes
        )


NO_CAPACITY = Capacity(0, 0)


def _merge(ranges: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for s, e in sorted(r for r in ranges if r[0] < r[1]):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds()) // 60


def _overlap_minutes(a: Sequence[tuple[datetime, datetime]], b: Sequence[tuple[datetime, datetime]]) -> int:
    """Minutes where two sorted, merged range lists overlap (a sweep, linear in their lengths)."""
    i = j = 0
    total = timedelta()
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo < hi:
            total += hi - lo
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return _minutes(total)


def capacity(
    rules: slots.Rules,
    start: datetime,
    end: datetime,
    closures: Sequence[slots.Closure] = (),
    *,
    opening: Sequence[tuple[datetime, datetime]] | None = None,
) -> Capacity:
    """Open unit-minutes in [start, end): the opening hours on the space's wall clock times the units;
    a blackout takes away only the open time it covers, of its own unit or of every unit, and
    overlapping blackouts are not counted twice. ``opening``: the rules' opening intervals over
    [start, end) when the caller already has them (resources with the same hours share them)."""
    if opening is None:
        opening = slots.opening_intervals(rules, start, end)
    open_once = sum(_minutes(e - s) for s, e in opening)
    lost = 0
    for unit in range(1, rules.units + 1):
        closed = _merge(
            (max(c.start, start), min(c.end, end)) for c in closures if c.unit is None or c.unit == unit
        )
        lost += _overlap_minutes(opening, closed)
    return Capacity(open_once * rules.units, lost)


# Ratios -------------------------------------------------------------------------------------------


def ratio(part: float, whole: float) -> float | None:
    """``part ÷ whole`` rounded to four places; None (not zero) when there is nothing to divide by."""
    if whole <= 0:
        return None
    return round(part / whole, 4)


@dataclass(frozen=True)
class Usage:
    """What the database summed for one bookable resource over a period.

    ``booked_minutes``: minutes of bookings that were granted (confirmed, checked in, completed or
    missed), clipped to the period. ``used_minutes``: from check-in to check-out (or to the booked end
    when nobody checked out). ``due``: granted bookings whose start has passed, the base of the no-show
    rate. ``made``: every booking asked for, the base of the late-cancellation rate."""

    resource_id: int
    kind: str
    tags: tuple[str, ...]
    capacity: Capacity
    booked_minutes: int = 0
    used_minutes: int = 0
    bookings: int = 0
    due: int = 0
    no_shows: int = 0
    made: int = 0
    late_cancellations: int = 0


@dataclass(frozen=True)
class Figures:
    """The sums of several resources and the ratios computed from them."""

    resources: int
    open_hours: float
    blackout_hours: float
    available_hours: float
    booked_hours: float
    used_hours: float
    utilization: float | None
    actual_use: float | None
    no_show_rate: float | None
    late_cancellation_rate: float | None
    bookings: int


def figures(usages: Iterable[Usage]) -> Figures:
    """Utilization = booked ÷ (open − blackout); actual use = used ÷ booked; no-show rate = no-shows ÷
    granted bookings that fell due; late-cancellation rate = late cancellations ÷ bookings asked for."""
    items = list(usages)
    cap = sum((u.capacity for u in items), NO_CAPACITY)
    booked = sum(u.booked_minutes for u in items)
    used = sum(u.used_minutes for u in items)
    return Figures(
        resources=len(items),
        open_hours=round(cap.open_minutes / 60, 2),
        blackout_hours=round(cap.blackout_minutes / 60, 2),
        available_hours=round(cap.net_minutes / 60, 2),
        booked_hours=round(booked / 60, 2),
        used_hours=round(used / 60, 2),
        utilization=ratio(booked, cap.net_minutes),
        actual_use=ratio(used, booked),
        no_show_rate=ratio(sum(u.no_shows for u in items), sum(u.due for u in items)),
        late_cancellation_rate=ratio(sum(u.late_cancellations for u in items), sum(u.made for u in items)),
        bookings=sum(u.bookings for u in items),
    )


def by_kind(usages: Iterable[Usage]) -> dict[str, Figures]:
    groups: dict[str, list[Usage]] = {}
    for u in usages:
        groups.setdefault(u.kind, []).append(u)
    return {kind: figures(items) for kind, items in sorted(groups.items())}


def by_tag(usages: Iterable[Usage]) -> dict[str, Figures]:
    """A resource with several capability tags counts in each of them."""
    groups: dict[str, list[Usage]] = {}
    for u in usages:
        for tag in u.tags:
            groups.setdefault(tag, []).append(u)
    return {tag: figures(items) for tag, items in sorted(groups.items())}


def least_used(usages: Iterable[Usage], limit: int = 5) -> list[tuple[Usage, float]]:
    """The resources with the lowest utilization among those that were open at all (ties by id)."""
    rated = [(u, ratio(u.booked_minutes, u.capacity.net_minutes)) for u in usages]
    known = [(u, r) for u, r in rated if r is not None]
    known.sort(key=lambda pair: (pair[1], pair[0].resource_id))
    return known[:limit]


# The week's heatmap -------------------------------------------------------------------------------


def heatmap(starts_by_utc_hour: Iterable[tuple[datetime, int]], zone_name: str) -> list[list[int]]:
    """Bookings starting in each local weekday (Monday first) and hour: ``grid[weekday][hour]``. The
    database counts per UTC hour; each hour is placed on the space's wall clock here, so a booking at
    09:00 local lands at 9 on both sides of a daylight-saving change."""
    zone = ZoneInfo(zone_name)
    grid = [[0] * 24 for _ in range(7)]
    for moment, count in starts_by_utc_hour:
        local = moment.astimezone(zone)
        grid[local.weekday()][local.hour] += count
    return grid


def daily_hours(
    minutes_by_utc_hour: Iterable[tuple[datetime, float]], first: date, last: date, zone_name: str
) -> list[tuple[str, float]]:
    """Booked hours per local day from ``first`` to ``last`` (every day listed, empty ones as 0),
    each booking counted on the local day it starts."""
    zone = ZoneInfo(zone_name)
    days: dict[date, float] = {}
    day = first
    while day <= last:
        days[day] = 0.0
        day += timedelta(days=1)
    for moment, minutes in minutes_by_utc_hour:
        local_day = moment.astimezone(zone).date()
        if local_day in days:
            days[local_day] += minutes
    return [(d.isoformat(), round(m / 60, 2)) for d, m in days.items()]


# Unmet demand -------------------------------------------------------------------------------------


DEMAND_KINDS = ("refused", "expired", "waitlist", "no_resource")


@dataclass(frozen=True)
class Demand:
    """What the database counted for one capability: the signs that a team wanted it and did not get
    it, per kind, and how many distinct teams they came from.

    Kinds: ``refused`` (a booking the host rejected), ``expired`` (a request or a waitlist offer nobody
    could act on in time), ``waitlist`` (a wait that never turned into a booking), and ``no_resource``
    (a team needs the capability and no bookable resource of the space offers it; so a capability
    that is offered never has such a sign, and a need of it is not counted as demand)."""

    tag: str
    counts: Mapping[str, int]
    teams: int


@dataclass(frozen=True)
class Suggestion:
    """ "The space should add capability ``tag``", with how much evidence is behind it."""

    tag: str
    action: str  # "add" (nothing offers it) or "expand" (what offers it is not enough)
    teams: int
    counts: dict[str, int]  # signs per kind, kinds in alphabetical order

    @property
    def signs(self) -> int:
        return sum(self.counts.values())


def suggestions(demand: Iterable[Demand], offered_tags: Iterable[str]) -> list[Suggestion]:
    """Judge each capability's demand. A capability nothing in the catalogue offers is to be added as
    soon as one team needs it; one that is offered but refused or waited for in vain is to be
    expanded once ``MIN_DEMAND_EVIDENCE`` signs point at it. Strongest first: most teams, then most
    evidence, then by tag."""
    offered = set(offered_tags)
    out: list[Suggestion] = []
    for d in demand:
        counts = dict(sorted(d.counts.items()))
        action = "expand" if d.tag in offered else "add"
        if action == "expand" and sum(counts.values()) < MIN_DEMAND_EVIDENCE:
            continue
        out.append(Suggestion(d.tag, action, d.teams, counts))
    out.sort(key=lambda s: (-s.teams, -s.signs, s.tag))
    return out


def idle_since(period_end: datetime) -> datetime:
    """Teams that booked nothing from this moment to the period's end count as idle."""
    return period_end - timedelta(days=IDLE_DAYS)


def mentor_capacity_hours(monthly_hours: Mapping[int, int], months: float) -> dict[int, float]:
    """Hours each mentor offers over a period of ``months`` (from the monthly hours of the profile)."""
    return {rid: round(hours * months, 2) for rid, hours in monthly_hours.items()}


def months_between(start: datetime, end: datetime) -> float:
    """A period's length in average months (365.25 / 12 days), for scaling monthly capacities."""
    return round((end - start).total_seconds() / (365.25 / 12 * 86400), 4)


# Mentors, funds and deal flow ---------------------------------------------------------------------

# A mentor whose hours in a period (delivered and still scheduled) stay below this share of what the
# profile offers is under capacity; above the whole of it, over.
MENTOR_UNDER_SHARE = 0.5


@dataclass(frozen=True)
class MentorLoad:
    """One mentor's hours in a period: what the profile offers, what was delivered and what is still
    scheduled (sessions starting in the period)."""

    mentor_id: int
    capacity_hours: float
    delivered_hours: float = 0.0
    scheduled_hours: float = 0.0

    @property
    def booked_hours(self) -> float:
        return round(self.delivered_hours + self.scheduled_hours, 2)

    @property
    def delivery(self) -> float | None:
        """Delivered ÷ offered."""
        return ratio(self.delivered_hours, self.capacity_hours)

    @property
    def status(self) -> str:
        """``over`` when delivered and scheduled hours exceed what is offered, ``under`` when they stay
        below ``MENTOR_UNDER_SHARE`` of it, ``within`` otherwise (a mentor offering nothing and asked
        for nothing is within)."""
        if self.booked_hours > self.capacity_hours:
            return "over"
        if self.booked_hours < MENTOR_UNDER_SHARE * self.capacity_hours:
            return "under"
        return "within"


def mentors_to_act_on(loads: Iterable[MentorLoad]) -> list[MentorLoad]:
    """Mentors over capacity (most over first), then those under it (least used first)."""
    items = list(loads)
    over = sorted(
        (m for m in items if m.status == "over"),
        key=lambda m: (-(m.booked_hours - m.capacity_hours), m.mentor_id),
    )
    under = sorted(
        (m for m in items if m.status == "under"),
        key=lambda m: (ratio(m.booked_hours, m.capacity_hours) or 0.0, m.mentor_id),
    )
    return over + under


def deployment_share(deployed: float, size: float) -> float | None:
    """A fund's deployed sum ÷ its size; None for a fund whose size is not recorded."""
    return ratio(deployed, size)


INTRODUCTION_OUTCOMES = ("open", "interested", "passed", "withdrawn")


def introduction_outcomes(by_status: Mapping[str, int]) -> dict[str, int | float | None]:
    """Introductions asked for in a period and where they stand: still open (requested or waiting for
    more information), taken up (``interested``, a deal opened), passed or withdrawn; and the take-up
    rate, interested ÷ answered (interested or passed)."""
    out: dict[str, int | float | None] = {"requested": sum(by_status.values())}
    out["open"] = by_status.get("requested", 0) + by_status.get("more_info", 0)
    for outcome in INTRODUCTION_OUTCOMES[1:]:
        out[outcome] = by_status.get(outcome, 0)
    interested, passed = by_status.get("interested", 0), by_status.get("passed", 0)
    out["take_up_rate"] = ratio(interested, interested + passed)
    return out


def pipeline(by_stage: Mapping[str, int], stages: Sequence[str]) -> dict[str, int]:
    """Deals per pipeline stage, every stage listed in the pipeline's order."""
    return {stage: int(by_stage.get(stage, 0)) for stage in stages}
