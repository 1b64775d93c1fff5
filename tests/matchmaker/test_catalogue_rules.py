"""Kind-specific attributes and categories."""

from __future__ import annotations

import pytest

from matchmaker.catalogue import check_category, clean_attributes
from matchmaker.errors import InvalidInput


def test_a_fund_keeps_its_rounds_and_ticket_range() -> None:
    cleaned = clean_attributes(
        "fund", {"rounds": ["seed", "angel"], "ticket_min_10k_cny": 50, "ticket_max_10k_cny": 300}
    )
    assert cleaned == {"rounds": ["seed", "angel"], "ticket_min_10k_cny": 50, "ticket_max_10k_cny": 300}


def test_a_reversed_ticket_range_is_refused() -> None:
    with pytest.raises(InvalidInput):
        clean_attributes("fund", {"ticket_min_10k_cny": 500, "ticket_max_10k_cny": 100})


def test_attributes_of_another_kind_are_named_as_unknown() -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_attributes("equipment", {"monthly_hours": 8})
    assert "attributes.monthly_hours" in caught.value.details["fields"]


def test_mentor_hours_must_be_a_sensible_number() -> None:
    with pytest.raises(InvalidInput):
        clean_attributes("mentor", {"monthly_hours": -3})


@pytest.mark.parametrize(
    ("kind", "category"), [("equipment", "pilot"), ("workspace", "testing"), ("fund", "desk")]
)
def test_a_category_must_fit_the_kind(kind: str, category: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_category(kind, category)
    assert caught.value.details["fields"] == {"category": "not_allowed_for_kind"}


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidInput):
        check_category("spaceship", "testing")
