"""The cockpit's formulas against figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from matchmaker import slots, utilization
from matchmaker.errors import InvalidInput
from matchmaker.utilization import Capacity, Demand, Usage

BERLIN = "Europe/Berlin"  # a zone with daylight saving: CET +01:00, CEST +02:00 from 29 March 2026
SHANGHAI = "Asia/Shanghai"


def weekdays(start: str, end: str) -> tuple[slots.Opening, ...]:
    return tuple(slots.Opening(d, slots.parse_clock(start), slots.parse_clock(end)) for d in range(5))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_week_of_office_hours_is_five_nine_hour_days_per_unit() -> None:
    rules = slots.Rules(timezone=SHANGHAI, weekly_hours=weekdays("09:00", "18:00"), units=2)
    start, end = utilization.period_bounds(date(2026, 11, 23), date(2026, 11, 29), SHANGHAI)
    assert start == utc(2026, 11, 22, 16)  # local midnight, eight hours ahead of UTC
    assert utilization.capacity(rules, start, end) == Capacity(5 * 9 * 60 * 2, 0)


def test_a_blackout_takes_away_only_the_open_hours_it_covers_of_its_own_unit() -> None:
    rules = slots.Rules(timezone=SHANGHAI, weekly_hours=weekdays("09:00", "18:00"), units=2)
    start, end = utilization.period_bounds(date(2026, 11, 23), date(2026, 11, 29), SHANGHAI)
    closures = [
        # Monday 08:00-12:00 local on unit 1: 3 open hours lost (09-12), not 4.
        slots.Closure(utc(2026, 11, 23, 0), utc(2026, 11, 23, 4), unit=1),
        # Overlapping it, Monday 10:00-13:00 on unit 1: only 12-13 is new.
        slots.Closure(utc(2026, 11, 23, 2), utc(2026, 11, 23, 5), unit=1),
        # Tuesday 17:00 to Wednesday 10:00 on every unit: 1 + 1 hours, times two units.
        slots.Closure(utc(2026, 11, 24, 9), utc(2026, 11, 25, 2), unit=None),
        # Saturday, closed anyway: nothing lost.
        slots.Closure(utc(2026, 11, 28, 1), utc(2026, 11, 28, 9), unit=None),
    ]
    found = utilization.capacity(rules, start, end, closures)
    assert found.open_minutes == 90 * 60
    assert found.blackout_minutes == (3 + 1) * 60 + (1 + 1) * 60 * 2
    assert found.net_minutes == 90 * 60 - 8 * 60


def test_a_period_follows_the_wall_clock_across_a_daylight_saving_change() -> None:
    # The week of 23-29 March 2026 in Berlin: clocks go forward on Sunday 29 March at 02:00.
    start, end = utilization.period_bounds(date(2026, 3, 23), date(2026, 3, 29), BERLIN)
    assert start == utc(2026, 3, 22, 23)  # Monday 00:00 CET
    assert end == utc(2026, 3, 29, 22)  # Monday 30 March 00:00 CEST
    assert end - start == utilization.period_bounds(date(2026, 3, 16), date(2026, 3, 22), BERLIN)[
        1
    ] - utilization.period_bounds(date(2026, 3, 16), date(2026, 3, 22), BERLIN)[0] - (
        utc(2026, 1, 1, 1) - utc(2026, 1, 1, 0)
    )  # one hour shorter than the week before
    # Open around the clock: the short Sunday has 23 hours, so the week 7 * 24 - 1.
    always = slots.Rules(
        timezone=BERLIN, weekly_hours=tuple(slots.Opening(d, 0, 24 * 60) for d in range(7)), units=1
    )
    assert utilization.capacity(always, start, end).open_minutes == (7 * 24 - 1) * 60
    # Office hours stay 09:00-18:00 on both sides of the change: five full days.
    office = slots.Rules(timezone=BERLIN, weekly_hours=weekdays("09:00", "18:00"), units=1)
    assert utilization.capacity(office, start, end).open_minutes == 5 * 9 * 60


def test_the_heatmap_places_each_hour_on_the_local_wall_clock() -> None:
    counts = [
        (utc(2026, 3, 27, 8), 2),  # Friday 09:00 CET
        (utc(2026, 3, 30, 7), 3),  # Monday 09:00 CEST: the same wall-clock hour after the change
        (utc(2026, 3, 29, 22), 1),  # Monday 00:00 CEST, still Sunday in UTC
    ]
    grid = utilization.heatmap(counts, BERLIN)
    assert grid[4][9] == 2
    assert grid[0][9] == 3
    assert grid[0][0] == 1
    assert sum(map(sum, grid)) == 6


def test_a_time_zone_boundary_puts_a_booking_on_its_local_day() -> None:
    # 23:30 UTC on the 23rd is 07:30 on the 24th in Shanghai.
    found = utilization.daily_hours(
        [(utc(2026, 11, 23, 23), 90.0), (utc(2026, 11, 23, 15), 60.0)],
        date(2026, 11, 23),
        date(2026, 11, 24),
        SHANGHAI,
    )
    assert found == [("2026-11-23", 1.0), ("2026-11-24", 1.5)]


def _usage(rid: int, kind: str, tags: tuple[str, ...], open_h: int, black_h: int, **sums: int) -> Usage:
    return Usage(rid, kind, tags, Capacity(open_h * 60, black_h * 60), **sums)


def test_figures_divide_sums_not_averages_of_ratios() -> None:
    a = _usage(
        1,
        "equipment",
        ("sem", "imaging"),
        100,
        20,
        booked_minutes=40 * 60,
        used_minutes=30 * 60,
        bookings=10,
        due=8,
        no_shows=2,
        made=12,
        late_cancellations=3,
    )
    b = _usage(2, "equipment", ("sem",), 50, 0, booked_minutes=10 * 60, bookings=2, due=2, made=2)
    c = _usage(3, "workspace", (), 40, 0, booked_minutes=30 * 60, bookings=1, due=1, made=1)
    total = utilization.figures([a, b, c])
    assert total.available_hours == 170
    assert total.booked_hours == 80
    assert total.utilization == round(80 / 170, 4)
    assert total.actual_use == round(30 / 80, 4)
    assert total.no_show_rate == round(2 / 11, 4)
    assert total.late_cancellation_rate == round(3 / 15, 4)
    kinds = utilization.by_kind([a, b, c])
    assert kinds["equipment"].utilization == round(50 / 130, 4)
    assert kinds["workspace"].utilization == 0.75
    tags = utilization.by_tag([a, b, c])
    assert set(tags) == {"sem", "imaging"}
    assert tags["imaging"].utilization == 0.5
    assert tags["sem"].utilization == round(50 / 130, 4)


def test_nothing_to_divide_by_is_no_figure_rather_than_zero() -> None:
    closed = _usage(1, "equipment", (), 10, 10)
    assert utilization.figures([closed]).utilization is None
    assert utilization.figures([]).no_show_rate is None
    assert utilization.least_used([closed]) == []


def test_least_used_lists_the_lowest_ratios_first_and_ties_by_id() -> None:
    items = [
        _usage(5, "equipment", (), 10, 0, booked_minutes=300),
        _usage(2, "equipment", (), 10, 0, booked_minutes=60),
        _usage(9, "equipment", (), 10, 0, booked_minutes=60),
        _usage(1, "equipment", (), 10, 0, booked_minutes=600),
    ]
    assert [(u.resource_id, r) for u, r in utilization.least_used(items, limit=3)] == [
        (2, 0.1),
        (9, 0.1),
        (5, 0.5),
    ]


def test_suggestions_add_what_nothing_offers_and_expand_what_is_refused_often() -> None:
    demand = [
        Demand("lidar", {"no_resource": 2}, teams=2),
        Demand("sem", {"waitlist": 1, "refused": 1, "expired": 1}, teams=2),
        Demand("fib", {"refused": 1}, teams=1),  # offered, one sign only: not enough
        Demand("cnc", {"refused": 1}, teams=1),  # refused on a resource no longer offered
    ]
    found = utilization.suggestions(demand, offered_tags=["sem", "fib"])
    assert [(s.tag, s.action, s.teams, s.signs) for s in found] == [
        ("sem", "expand", 2, 3),
        ("lidar", "add", 2, 2),
        ("cnc", "add", 1, 1),
    ]
    assert list(found[0].counts.items()) == [("expired", 1), ("refused", 1), ("waitlist", 1)]


@pytest.mark.parametrize(
    ("first", "last", "code"),
    [
        (date(2026, 5, 2), date(2026, 5, 1), "before_start"),
        (date(2020, 1, 1), date(2025, 1, 1), "too_long"),
        (date(2024, 2, 29), date(2029, 2, 28), "too_long"),
    ],
)
def test_a_period_backwards_or_over_five_years_is_refused(first: date, last: date, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        utilization.check_period(first, last)
    assert caught.value.details["fields"]["end"] == code


def test_five_years_less_a_day_is_allowed() -> None:
    utilization.check_period(date(2020, 1, 1), date(2024, 12, 31))


# Mentors, funds and deal flow -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "delivered", "scheduled", "status"),
    [
        (8, 6, 3, "over"),  # 9 hours of 8 offered
        (8, 5, 3, "within"),  # exactly what is offered
        (8, 4, 0, "within"),  # exactly half
        (8, 3, 0.5, "under"),  # 3.5 of 8, below half
        (0, 0, 0, "within"),  # offers nothing, asked for nothing
        (0, 1, 0, "over"),
    ],
)
def test_a_mentor_is_over_within_or_under_capacity(
    capacity: float, delivered: float, scheduled: float, status: str
) -> None:
    assert utilization.MentorLoad(1, capacity, delivered, scheduled).status == status


def test_delivery_is_delivered_over_offered_and_none_without_an_offer() -> None:
    assert utilization.MentorLoad(1, 8, 2, 4).delivery == 0.25
    assert utilization.MentorLoad(1, 0, 2, 0).delivery is None


def test_mentors_to_act_on_list_the_most_over_first_then_the_least_used() -> None:
    loads = [
        utilization.MentorLoad(1, 8, 9, 0),  # 1 over
        utilization.MentorLoad(2, 8, 12, 0),  # 4 over
        utilization.MentorLoad(3, 8, 3, 0),  # 37.5 %
        utilization.MentorLoad(4, 8, 0, 1),  # 12.5 %
        utilization.MentorLoad(5, 8, 6, 0),  # within
    ]
    assert [m.mentor_id for m in utilization.mentors_to_act_on(loads)] == [2, 1, 4, 3]


def test_a_fund_share_is_deployed_over_size() -> None:
    assert utilization.deployment_share(150, 500) == 0.3
    assert utilization.deployment_share(20, 0) is None


def test_introduction_outcomes_fold_waiting_ones_into_open_and_rate_the_take_up() -> None:
    found = utilization.introduction_outcomes(
        {"requested": 1, "more_info": 2, "interested": 2, "passed": 1, "withdrawn": 3}
    )
    assert found == {
        "requested": 9,
        "open": 3,
        "interested": 2,
        "passed": 1,
        "withdrawn": 3,
        "take_up_rate": 0.6667,
    }
    assert utilization.introduction_outcomes({})["take_up_rate"] is None


def test_the_pipeline_lists_every_stage_in_order() -> None:
    stages = ["introduced", "meeting", "invested"]
    assert list(utilization.pipeline({"invested": 2}, stages).items()) == [
        ("introduced", 0),
        ("meeting", 0),
        ("invested", 2),
    ]
