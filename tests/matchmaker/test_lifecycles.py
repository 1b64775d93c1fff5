"""The incubation chain's legal moves."""

from __future__ import annotations

from decimal import Decimal

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


def test_a_booking_is_billed_exactly_while_it_can_still_be_used_or_was_used() -> None:
    # Every status is either billed or not, and a booking reaches a billed status only by moves the
    # table allows.
    assert set(lifecycles.BOOKING_TRANSITIONS) >= lifecycles.BOOKING_BILLED
    assert lifecycles.HELD not in lifecycles.BOOKING_BILLED
    assert not lifecycles.BOOKING_BILLED & {lifecycles.CANCELLED, lifecycles.B_REJECTED, lifecycles.NO_SHOW}


@pytest.mark.parametrize(
    ("status", "net", "agrees"),
    [
        ("confirmed", (Decimal("800"), 120, 0), True),
        ("confirmed", (Decimal("1600"), 240, 0), False),  # billed twice
        ("confirmed", (Decimal(0), 0, 0), False),  # refunded but still holding the slot
        ("pending", (Decimal(0), 0, 0), True),
        ("pending", (Decimal("800"), 120, 0), False),  # charged before the host approved
        ("cancelled", (Decimal(0), 0, 0), True),
        ("cancelled", (Decimal("800"), 120, 0), False),  # cancelled yet charged
        ("held", (Decimal(0), 0, 0), True),
        ("held", (Decimal("800"), 120, 0), False),  # an offer is charged only once accepted
    ],
)
def test_a_bookings_ledger_agrees_with_its_status_or_not(
    status: str, net: tuple[Decimal, int, int], agrees: bool
) -> None:
    amount, minutes, free = net
    assert (
        lifecycles.booking_ledger_agrees(
            status, net_amount=amount, net_minutes=minutes, net_free=free, amount=Decimal("800"), free=0
        )
        is agrees
    )


def test_a_change_that_lost_to_a_cancel_of_a_cancel_says_already_cancelled() -> None:
    lost = lifecycles.booking_changed_meanwhile("confirmed", "cancelled", "cancelled")
    assert lost.code == "already_cancelled" and lost.status == 409
    other = lifecycles.booking_changed_meanwhile("pending", "rejected", "confirmed")
    assert other.code == "invalid_transition" and other.details["status"] == "rejected"


@pytest.mark.parametrize("status", ["held", "checked_in", "completed", "cancelled", "no_show"])
def test_only_pending_or_confirmed_bookings_can_be_moved(status: str) -> None:
    lifecycles.check_booking_reschedule("confirmed")
    with pytest.raises(InvalidTransition):
        lifecycles.check_booking_reschedule(status)


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
