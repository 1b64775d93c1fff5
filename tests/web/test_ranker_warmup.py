"""The ranker is built off the request path: warmed up when a serving process starts, and rebuilt in
the background when the data changes, while the ranker already built keeps answering."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from matchmaker.operations import accounts, matching
from models import Interaction, InteractionKind
from tests.conftest import World
from web import rankers


@pytest.fixture
def refresher(app: Flask, world: World) -> Iterator[rankers.Refresher]:
    matching.reset_ranker_cache()
    started = rankers.start(app)
    yield started
    assert started.idle.wait(60)
    matching.reset_ranker_cache()


def test_a_change_of_data_is_served_at_once_and_the_ranker_rebuilt_in_the_background(
    app: Flask, world: World, db: Session, refresher: rankers.Refresher, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert refresher.idle.wait(60)  # the warm-up at start
    assert matching.ranker_ready()
    founder = accounts.principal_for(db, world.users["founder"])
    builders: list[str] = []
    original = matching._RankerCache.build

    def build(self: matching._RankerCache, *args: Any, **kwargs: Any) -> Any:
        builders.append(threading.current_thread().name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matching._RankerCache, "build", build)
    with app.app_context():
        before = matching._rankers._ranker
        db.add(
            Interaction(
                space_id=world.space1.id,
                team_id=world.team1.id,
                resource_id=world.equipment1.id,
                kind=InteractionKind.BOOKING,
                occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
                quantity=2.0,
            )
        )
        db.commit()
        # The request after the change is answered at once by the ranker already built...
        matching.recommend_for_team(db, founder, world.team1.id)
        # ...while the new one is built in the background thread, never in the request's.
        assert refresher.idle.wait(60)
    assert builders and threading.main_thread().name not in builders
    assert set(builders) == {"ranker refresh"}
    assert matching._rankers._ranker is not before
