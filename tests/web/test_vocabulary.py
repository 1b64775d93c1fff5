"""Every list of stages and statuses agrees with its lifecycle table, which is keyed by the model's enum:
the API's schemas, the page labels and actions, the demo data's format and the operations' filters."""

from __future__ import annotations

import enum
import typing
from typing import Any

import pytest

from matchmaker import lifecycles
from matchmaker.operations import bookings as booking_ops
from models import AdmissionStatus, BookingStatus, OutcomeStatus, RoundStatus, Stage, WaitlistStatus
from seeds import bookings as seed_bookings
from seeds import schema as seed_schema
from web import labels
from web.api import schemas

TABLES: list[tuple[type[enum.Enum], dict[str, frozenset[str]]]] = [
    (Stage, lifecycles.STAGE_TRANSITIONS),
    (AdmissionStatus, lifecycles.ADMISSION_TRANSITIONS),
    (BookingStatus, lifecycles.BOOKING_TRANSITIONS),
    (WaitlistStatus, lifecycles.WAITLIST_TRANSITIONS),
    (RoundStatus, lifecycles.ROUND_TRANSITIONS),
    (OutcomeStatus, lifecycles.OUTCOME_TRANSITIONS),
]


def values(enum_cls: type[enum.Enum]) -> set[str]:
    return {str(member.value) for member in enum_cls}


def literal(annotation: Any) -> set[str]:
    return set(typing.get_args(annotation))


@pytest.mark.parametrize(("enum_cls", "table"), TABLES, ids=[t[0].__name__ for t in TABLES])
def test_each_table_has_one_row_per_state_and_moves_only_to_states(
    enum_cls: type[enum.Enum], table: dict[str, frozenset[str]]
) -> None:
    assert set(table) == values(enum_cls)
    assert all(isinstance(state, enum_cls) for state in table)
    assert set().union(*table.values()) <= values(enum_cls)


def test_every_page_action_is_a_legal_move_of_the_booking_table() -> None:
    for action in lifecycles.BOOKING_ACTIONS:
        for start in action.starts_from:
            assert lifecycles.BOOKING_ACTION_TARGETS[action.name] & lifecycles.BOOKING_TRANSITIONS[start], (
                action.name,
                start,
            )


def test_names_and_labels_cover_every_state() -> None:
    assert set(lifecycles.BOOKING_STATUS_NAMES) == values(BookingStatus)
    assert set(lifecycles.STAGE_NAMES) == values(Stage)
    assert set(labels.STAGES) == values(Stage)
    assert set(labels.ADMISSION) == values(AdmissionStatus)


def test_the_schemas_and_the_demo_format_use_the_same_stages() -> None:
    assert literal(schemas.StageName) == values(Stage)
    assert literal(schemas.EntryStage) == set(lifecycles.ENTRY_STAGES)
    assert literal(seed_schema.Stage) == values(Stage)
    assert set(seed_bookings.STAGES) == set(lifecycles.ACTIVE_STAGES)
    assert set(getattr(booking_ops, "ACTIVE_TEAM_STAGES", lifecycles.ACTIVE_STAGES)) == set(
        lifecycles.ACTIVE_STAGES
    )
