"""The demo data files, their loading, and the documented history generator."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.catalogue import clean_attributes
from models import Interaction, Resource, Space, Team, User
from seeds import demo, history
from seeds.schema import DATA_DIR, load_space_file, load_vocabulary, space_files
from tests.conftest import fresh


@pytest.fixture(scope="module")
def spaces() -> list:
    vocabulary = load_vocabulary()
    return [load_space_file(p, vocabulary) for p in space_files()]


def test_there_are_at_least_two_realistic_spaces(spaces: list) -> None:
    assert len(spaces) >= 2
    for space in spaces:
        kinds = Counter(r.kind for r in space.resources)
        assert kinds["equipment"] >= 25, space.slug
        assert kinds["pilot_line"] >= 2
        assert kinds["mentor"] >= 12
        assert kinds["fund"] >= 6
        assert {r.category for r in space.resources if r.kind == "workspace"} >= {"desk", "meeting_room"}
        assert len(space.teams) >= 40
        assert space.name_zh.endswith("专业化众创空间")


def test_every_space_says_it_is_demo_data(spaces: list) -> None:
    for space in spaces:
        assert "演示数据" in space.description_zh
        assert "Demo data" in space.description_en


def test_every_resource_passes_the_catalogue_rules(spaces: list) -> None:
    for space in spaces:
        for resource in space.resources:
            clean_attributes(resource.kind, dict(resource.attributes))


def test_the_vocabulary_has_no_tag_twice_and_covers_both_languages() -> None:
    vocabulary = load_vocabulary(DATA_DIR)
    assert len(vocabulary) > 100
    assert all(t.zh and t.en for t in vocabulary.values())


@pytest.mark.slow  # generates the full demo history twice
def test_loading_twice_does_no_harm(factory: sessionmaker[Session], db: Session) -> None:
    demo.load_demo(factory, names=["ic-design"])
    first = _census(db)
    demo.load_demo(factory, names=["ic-design"])
    assert _census(db) == first
    assert first["interactions"] > 500


def _census(db: Session) -> dict[str, int]:
    fresh(db)
    return {
        "spaces": db.scalar(select(func.count(Space.id))) or 0,
        "resources": db.scalar(select(func.count(Resource.id))) or 0,
        "teams": db.scalar(select(func.count(Team.id))) or 0,
        "users": db.scalar(select(func.count(User.id))) or 0,
        "interactions": db.scalar(select(func.count(Interaction.id))) or 0,
    }


@pytest.mark.slow  # generates the full demo history
def test_the_history_follows_its_documented_rules(factory: sessionmaker[Session], db: Session) -> None:
    demo.load_demo(factory, names=["biomedicine"])
    rows = db.scalars(select(Interaction)).all()
    assert rows and all(r.generated for r in rows)
    start = demo.HISTORY_END - timedelta(days=30 * history.MONTHS)
    assert all(start <= r.occurred_at.date() <= demo.HISTORY_END for r in rows)
    ratings = [r.rating for r in rows if r.kind.value == "mentor_session"]
    assert ratings and all(1 <= x <= 5 for x in ratings)
    kinds = Counter(r.kind.value for r in rows)
    assert {"booking", "mentor_session", "introduction", "task_bid"} <= set(kinds)
    # Only admitted teams have history.
    teams = {t.id: t for t in db.scalars(select(Team))}
    assert all(teams[r.team_id].admission_status.value == "admitted" for r in rows)


@pytest.mark.slow  # generates the full demo history twice
def test_the_history_is_the_same_every_time(factory: sessionmaker[Session], db: Session) -> None:
    import random

    demo.load_demo(factory, names=["ic-design"])
    space = db.scalars(select(Space)).one()
    # The task edges are rewritten afterwards by the task lifecycles' own rules (seeds/tasks.py).
    before = [
        (r.team_id, r.resource_id, r.kind.value, r.occurred_at, r.quantity)
        for r in db.scalars(select(Interaction).where(Interaction.task_id.is_(None)).order_by(Interaction.id))
    ]
    db.query(Interaction).delete()
    db.commit()
    history.generate(db, space, rng=random.Random(f"{demo.DEFAULT_SEED}:ic-design"), end=demo.HISTORY_END)
    db.commit()
    after = [
        (r.team_id, r.resource_id, r.kind.value, r.occurred_at, r.quantity)
        for r in db.scalars(select(Interaction).where(Interaction.task_id.is_(None)).order_by(Interaction.id))
    ]
    assert after == before


@pytest.mark.slow  # generates the full demo history
def test_better_fitting_resources_are_used_more(factory: sessionmaker[Session], db: Session) -> None:
    """The planted signal the recommender is later judged on: tag fit drives choices."""
    demo.load_demo(factory, names=["ic-design"])
    teams = {t.id: frozenset(x.slug for x in t.tags) for t in db.scalars(select(Team))}
    resources = {r.id: frozenset(x.slug for x in r.tags) for r in db.scalars(select(Resource))}
    used = [
        history.fit(teams[r.team_id], resources[r.resource_id])
        for r in db.scalars(select(Interaction).where(Interaction.resource_id.is_not(None)))
    ]
    everything = [history.fit(t, r) for t in teams.values() for r in resources.values()]
    assert sum(used) / len(used) > 2 * sum(everything) / len(everything)


@pytest.mark.slow  # generates the full demo history
def test_pending_applicants_wait_for_review(factory: sessionmaker[Session], db: Session) -> None:
    demo.load_demo(factory, names=["ic-design"])
    pending = db.scalars(select(Team).where(Team.admission_status == "pending")).all()
    assert len(pending) == 3
    assert all(not t.stage_changes for t in pending)


def test_stage_histories_end_in_the_stage_the_file_gives(spaces: list) -> None:
    for space in spaces:
        for team in space.teams:
            path = demo.stage_history(team, demo.HISTORY_END)
            assert path[0][0] is None and path[-1][1] == team.stage
            days = [d for _, _, d, _ in path]
            assert days == sorted(days) and days[-1] <= demo.HISTORY_END
            assert all(isinstance(d, date) for d in days)


def test_an_unknown_demo_space_is_named(factory: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="unknown demo space"):
        demo.load_demo(factory, names=["no-such-space"])
