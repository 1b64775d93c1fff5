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
