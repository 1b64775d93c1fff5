"""The demo spaces' generated mentor requests, sessions, introductions, deals and investments
(HISTORY.md, "Mentoring and investment"): every state of each lifecycle, all labelled generated, and
within the lines the database holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import lifecycles
from models import (
    Deal,
    FundPosition,
    Introduction,
    Investment,
    MentorMonth,
    MentorRequest,
    MentorSession,
    Resource,
)
from models.database import make_session_factory
from seeds import demo
from tests.conftest import _empty

pytestmark = pytest.mark.slow  # loads both demo spaces

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def loaded(engine: Engine) -> Iterator[sessionmaker[Session]]:
    factory = make_session_factory(engine)
    demo.load_demo(factory, today=TODAY)
    yield factory
    _empty(engine)


@pytest.fixture
def db(loaded: sessionmaker[Session]) -> Iterator[Session]:
    with loaded() as session:
        yield session


@pytest.mark.parametrize(
    ("model", "column", "states"),
    [
        (MentorRequest, MentorRequest.status, lifecycles.MENTOR_REQUEST_TRANSITIONS),
        (MentorSession, MentorSession.status, lifecycles.MENTOR_SESSION_TRANSITIONS),
        (Introduction, Introduction.status, lifecycles.INTRODUCTION_TRANSITIONS),
        (Deal, Deal.stage, lifecycles.DEAL_TRANSITIONS),
    ],
)
def test_every_state_appears_and_every_row_is_labelled_generated(
    db: Session, model: type, column: object, states: dict[str, frozenset[str]]
) -> None:
    found = {str(s) for s in db.scalars(select(column).distinct())}  # type: ignore[call-overload]
    assert found == set(states)
    assert db.scalar(select(func.count()).select_from(model).where(model.generated.is_(False))) == 0  # type: ignore[attr-defined]


def test_no_mentor_is_beyond_a_month_and_no_fund_beyond_its_size(db: Session) -> None:
    for month in db.scalars(select(MentorMonth)):
        assert 0 < month.committed_hours <= month.capacity_hours
    for position in db.scalars(select(FundPosition)):
        fund = db.get_one(Resource, position.fund_id)
        deployed = db.scalar(
            select(func.coalesce(func.sum(Investment.amount_10k_cny), 0)).where(Investment.fund_id == fund.id)
        )
        assert Decimal(deployed) == position.deployed_10k_cny <= position.size_10k_cny


def test_each_invested_deal_has_its_investment(db: Session) -> None:
    invested = set(db.scalars(select(Deal.id).where(Deal.stage == "invested")))
    assert invested and invested == set(db.scalars(select(Investment.deal_id)))


def test_delivered_sessions_carry_hours_and_the_teams_rating(db: Session) -> None:
    delivered = list(db.scalars(select(MentorSession).where(MentorSession.status == "delivered")))
    assert delivered and all(s.hours_delivered and s.team_rating for s in delivered)
