"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Base, Interaction, InteractionKind
from seeds import builders
from tests.conftest import fresh


def test_the_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_times_come_back_aware_and_in_utc(db: Session) -> None:
    space = builders.get_or_create_space(db, "tz")
    org = builders.get_or_create_organization(db, space, "org")
    resource = builders.get_or_create_resource(db, space, org, "r")
    team = builders.get_or_create_team(db, space, "t")
    shanghai = timezone(timedelta(hours=8))
    db.add(
        Interaction(
            space_id=space.id,
            team_id=team.id,
            resource_id=resource.id,
            kind=InteractionKind.BOOKING,
            occurred_at=datetime(2026, 3, 1, 9, 0, tzinfo=shanghai),
        )
    )
    db.commit()
    fresh(db)
    stored = db.query(Interaction).one().occurred_at
    assert stored == datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    assert stored.tzinfo is not None


def test_naive_datetimes_are_refused(db: Session) -> None:
    space = builders.get_or_create_space(db, "tz")
    team = builders.get_or_create_team(db, space, "t")
    db.add(
        Interaction(
            space_id=space.id,
            team_id=team.id,
            task_id=None,
            resource_id=None,
            kind=InteractionKind.BOOKING,
            occurred_at=datetime(2026, 3, 1),
        )
    )
    with pytest.raises(Exception, match="naive"):
        db.flush()


def test_an_interaction_needs_a_counterpart_and_a_sane_rating(db: Session) -> None:
    space = builders.get_or_create_space(db, "c")
    team = builders.get_or_create_team(db, space, "t")
    db.commit()
    db.add(
        Interaction(
            space_id=space.id, team_id=team.id, kind=InteractionKind.BOOKING, occurred_at=datetime.now(UTC)
        )
    )
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()
    org = builders.get_or_create_organization(db, space, "o")
    resource = builders.get_or_create_resource(db, space, org, "r")
    db.add(
        Interaction(
            space_id=space.id,
            team_id=team.id,
            resource_id=resource.id,
            kind=InteractionKind.MENTOR_SESSION,
            occurred_at=datetime.now(UTC),
            rating=9,
        )
    )
    with pytest.raises(IntegrityError):
        db.flush()
