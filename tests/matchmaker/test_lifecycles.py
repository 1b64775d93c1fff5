"""The incubation chain's legal moves."""

from __future__ import annotations

import pytest

from matchmaker import lifecycles
from matchmaker.errors import InvalidTransition


@pytest.mark.parametrize(
    ("current", "target"),
    [("nursery", "incubator"), ("incubator", "accelerator"), ("accelerator", "graduated")],
)
def test_a_team_moves_forward_one_step_at_a_time(current: str, target: str) -> None:
    lifecycles.check_stage_change(current, target, "")


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("nursery", "accelerator"),
        ("nursery", "graduated"),
        ("graduated", "incubator"),
        ("exited", "nursery"),
        ("incubator", "incubator"),
    ],
)
def test_skipping_stages_or_leaving_a_final_stage_is_refused(current: str, target: str) -> None:
    with pytest.raises(InvalidTransition) as caught:
        lifecycles.check_stage_change(current, target, "because")
    assert caught.value.details["from"] == current


@pytest.mark.parametrize(
    ("current", "target"), [("incubator", "nursery"), ("nursery", "exited"), ("accelerator", "exited")]
)
def test_moving_back_or_exiting_needs_a_reason(current: str, target: str) -> None:
    with pytest.raises(InvalidTransition) as caught:
        lifecycles.check_stage_change(current, target, "  ")
    assert caught.value.details["fields"] == {"reason": "required"}
    lifecycles.check_stage_change(current, target, "missed milestones")


def test_an_unknown_stage_is_named_in_the_error() -> None:
    with pytest.raises(InvalidTransition, match="Unknown stage"):
        lifecycles.check_stage_change("nursery", "unicorn", "")


def test_an_application_is_decided_once() -> None:
    lifecycles.check_admission("pending", "admitted")
    with pytest.raises(InvalidTransition):
        lifecycles.check_admission("admitted", "rejected")


def test_page_actions_follow_the_booking_table_and_the_clock() -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 12, 1, 10, tzinfo=UTC)
    early = timedelta(minutes=15)

    def actions(status: str, now: datetime, host: bool = False) -> list[str]:
        return lifecycles.booking_actions(status, start, now, host=host, checkin_early=early)

    assert actions("confirmed", start - timedelta(hours=1)) == ["cancel"]
    assert actions("confirmed", start - timedelta(minutes=10)) == ["check-in", "cancel"]
    assert actions("confirmed", start + timedelta(minutes=5)) == ["check-in"]  # too late to cancel
    assert actions("held", start - timedelta(days=1)) == ["accept", "cancel"]
    assert actions("pending", start - timedelta(days=1)) == ["cancel"]
    assert actions("pending", start - timedelta(days=1), host=True) == ["cancel", "approve", "reject"]
    assert actions("checked_in", start + timedelta(minutes=5)) == ["check-out"]
    for final in ("completed", "cancelled", "rejected", "expired", "no_show"):
        assert actions(final, start - timedelta(days=1), host=True) == []
