"""Slot rules on plain records: half-open overlap against a brute-force minute model, opening hours on
the space's wall clock across daylight-saving changes, units, buffers, blackouts and alternatives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchmaker import slots
from matchmaker.slots import BookingRefused, Busy, Closure, Occupancy, Opening, Rules

BASE = datetime(2031, 3, 3, tzinfo=UTC)  # a Monday
WEEKDAYS_9_TO_18 = tuple(Opening(d, 9 * 60, 18 * 60) for d in range(5))


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def minutes_of(start: int, end: int) -> set[int]:
    return set(range(start, end))


@given(st.integers(0, 200), st.integers(0, 200), st.integers(0, 200), st.integers(0, 200))
def test_overlap_agrees_with_counting_shared_minutes(a: int, b: int, c: int, d: int) -> None:
    a_start, a_end = sorted((a, b))
    b_start, b_end = sorted((c, d))
    shared = minutes_of(a_start, a_end) & minutes_of(b_start, b_end)
    assert slots.overlaps(at(a_start), at(a_end), at(b_start), at(b_end)) == bool(shared)


busy_lists = st.lists(
    st.tuples(st.integers(0, 40), st.integers(1, 8), st.integers(1, 3)),  # start slot, length, unit
    max_size=12,
)


@pytest.mark.slow  # brute force over a minute grid
@settings(max_examples=300, deadline=None)
@given(busy_lists, st.integers(0, 40), st.integers(1, 8), st.integers(0, 2), st.integers(1, 3))
def test_free_units_agree_with_a_brute_force_minute_grid(
    raw: list[tuple[int, int, int]], start_slot: int, length: int, buffer_slots: int, units: int
) -> None:
    step = 15
    rules = Rules(timezone="UTC", slot_minutes=step, units=units, buffer_minutes=buffer_slots * step)
    taken: dict[int, set[int]] = {u: set() for u in range(1, units + 1)}
    busy = []
    for s, n, unit in raw:
        if unit > units:
            continue
        lo, hi = s * step, (s + n) * step
        blocked = hi + rules.buffer_minutes
        if taken[unit] & minutes_of(lo, blocked):
            continue  # the database would have refused it: the model holds only legal states
        taken[unit] |= minutes_of(lo, blocked)
        busy.append(Busy(at(lo), at(hi), at(blocked), unit))
    lo, hi = start_slot * step, (start_slot + length) * step
    wanted = minutes_of(lo, hi + rules.buffer_minutes)
    expected = [u for u in range(1, units + 1) if not taken[u] & wanted]
    assert Occupancy(rules, busy).free_units(at(lo), at(hi)) == expected


def test_back_to_back_ranges_do_not_clash_but_the_buffer_pushes_the_next_one_away() -> None:
    plain = Occupancy(Rules(timezone="UTC"), [Busy(at(600), at(720), at(720), 1)])
    assert plain.free_units(at(720), at(840)) == [1]
    buffered_rules = Rules(timezone="UTC", buffer_minutes=30)
    buffered = Occupancy(buffered_rules, [Busy(at(600), at(720), at(750), 1)])
    assert buffered.free_units(at(720), at(840)) == []
    assert buffered.free_units(at(750), at(840)) == [1]
    # The new booking's own buffer must also clear the next one.
    before = Occupancy(buffered_rules, [Busy(at(900), at(960), at(990), 1)])
    assert before.free_units(at(780), at(900)) == []
    assert before.free_units(at(780), at(870)) == [1]


def test_a_unit_blackout_closes_one_unit_and_a_resource_blackout_all() -> None:
    rules = Rules(timezone="UTC", units=2)
    one = Occupancy(rules, [], [Closure(at(0), at(600), unit=1)])
    assert one.free_units(at(60), at(120)) == [2]
    every = Occupancy(rules, [], [Closure(at(0), at(600))])
    assert every.free_units(at(60), at(120)) == []


def test_opening_hours_follow_the_local_clock_across_a_daylight_saving_change() -> None:
    berlin = Rules(timezone="Europe/Berlin", weekly_hours=WEEKDAYS_9_TO_18)
    # Clocks go forward on Sunday 30 March 2031: Friday opens at 08:00 UTC, Monday at 07:00 UTC.
    friday = datetime(2031, 3, 28, tzinfo=UTC)
    hours = slots.opening_intervals(berlin, friday, friday + timedelta(days=4))
    assert [(s.isoformat(), e.isoformat()) for s, e in hours] == [
        ("2031-03-28T08:00:00+00:00", "2031-03-28T17:00:00+00:00"),
        ("2031-03-31T07:00:00+00:00", "2031-03-31T16:00:00+00:00"),
    ]


def test_a_weekly_series_keeps_its_wall_clock_time_across_the_change() -> None:
    zone = ZoneInfo("Europe/Berlin")
    first = datetime(2031, 3, 25, 9, tzinfo=zone).astimezone(UTC)
    occurrences = slots.repeat(first, first + timedelta(hours=3), "Europe/Berlin", "weekly", 3)
    assert [s.astimezone(zone).strftime("%a %H:%M") for s, _ in occurrences] == ["Tue 09:00"] * 3
    assert [(e - s) for s, e in occurrences] == [timedelta(hours=3)] * 3
    assert occurrences[1][0] - occurrences[0][0] == timedelta(days=7, hours=-1)


def test_a_line_open_around_the_clock_takes_a_multi_day_block() -> None:
    rules = Rules(
        timezone="Asia/Shanghai",
        weekly_hours=tuple(Opening(d, 0, 24 * 60) for d in range(7)),
        slot_minutes=60,
        max_minutes=5 * 24 * 60,
        horizon_days=400,
    )
    start = datetime(2031, 3, 3, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    now = start - timedelta(days=10)
    slots.check_request(rules, start, start + timedelta(days=3), now)


NOW = datetime(2031, 3, 1, tzinfo=UTC)
SHANGHAI = Rules(timezone="Asia/Shanghai", weekly_hours=WEEKDAYS_9_TO_18, horizon_days=60)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2031, 3, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (local(4, 12), local(4, 10), "reversed_range"),
        (local(4, 10), local(4, 10), "empty_range"),
        (local(4, 10, 15), local(4, 11), "misaligned"),
        (local(4, 17), local(4, 19), "outside_hours"),
        (local(8, 10), local(8, 11), "outside_hours"),  # a Saturday
        (datetime(2031, 2, 27, 2, tzinfo=UTC), datetime(2031, 2, 27, 3, tzinfo=UTC), "in_the_past"),
        (local(4, 10) + timedelta(days=70), local(4, 11) + timedelta(days=70), "beyond_horizon"),
        (local(4, 10), local(4, 10, 15) - timedelta(minutes=5), "misaligned"),
        (local(4, 9), local(4, 18), "too_long"),
    ],
)
def test_each_rule_has_its_own_code(start: datetime, end: datetime, code: str) -> None:
    with pytest.raises(BookingRefused) as refused:
        slots.check_request(SHANGHAI, start, end, NOW)
    assert refused.value.code == code
    assert refused.value.message_zh and refused.value.message_en


def test_lead_time_and_minimum_length_are_enforced() -> None:
    strict = Rules(
        timezone="Asia/Shanghai", weekly_hours=WEEKDAYS_9_TO_18, lead_minutes=24 * 60, min_minutes=60
    )
    with pytest.raises(BookingRefused) as soon:
        slots.check_request(strict, local(4, 10), local(4, 11), local(4, 9))
    assert soon.value.code == "too_soon"
    with pytest.raises(BookingRefused) as short:
        slots.check_request(strict, local(4, 10), local(4, 10, 30), NOW)
    assert short.value.code == "too_short"


def test_alternatives_shift_the_same_length_and_offer_the_longest_free_part() -> None:
    occ = Occupancy(SHANGHAI, [Busy(local(4, 10), local(4, 12), local(4, 12), 1)])
    alt = slots.alternatives(occ, local(4, 11), local(4, 13), NOW)
    assert alt.earlier == local(3, 16)  # the nearest earlier two free hours: the day before, 16–18
    assert alt.later == local(4, 12)
    assert alt.shorter == (local(4, 12), local(4, 13))


def test_free_starts_walk_the_grid_inside_opening_hours_only() -> None:
    occ = Occupancy(SHANGHAI, [Busy(local(4, 9), local(4, 17), local(4, 17), 1)])
    starts = list(occ.free_starts(local(4, 0), local(5, 12), timedelta(hours=2), NOW))
    assert starts[0] == local(5, 9)
    assert all(s.astimezone(ZoneInfo("Asia/Shanghai")).hour >= 9 for s in starts)
