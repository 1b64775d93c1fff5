"""Adopting a narrow read: the instance behaves as if the ORM had loaded it."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from models import Resource, Space
from models.narrow import Narrow
from tests.conftest import World, sql_statements

NAMES = Narrow(Resource, ("space_id", "name_en"))


def _row(db: Session, resource_id: int) -> object:
    return db.execute(select(*NAMES.columns).where(NAMES.columns[0] == resource_id)).one()


def test_an_adopted_row_is_persistent_with_its_columns_loaded_and_the_rest_loading_on_use(
    world: World, db: Session, engine: Engine
) -> None:
    rid = world.equipment1.id
    expected_zh = world.equipment1.name_zh
    db.expunge_all()
    row = _row(db, rid)
    with sql_statements(engine) as seen:
        resource = NAMES.adopt(db, row)  # type: ignore[arg-type]
        assert inspect(resource).persistent
        assert (resource.id, resource.name_en) == (rid, world.equipment1.name_en)
        assert not db.dirty and not db.new
    assert seen == []  # what was read is there without a statement
    with sql_statements(engine) as seen:
        assert resource.name_zh == expected_zh  # a column it did not read loads on first use
    assert len(seen) == 1
    assert resource.space is db.get(Space, world.space1.id)  # relationships load as usual
    db.commit()  # nothing to write: adopting changes nothing
    assert resource.name_en == world.equipment1.name_en


def test_adopting_what_the_session_already_holds_gives_its_instance(world: World, db: Session) -> None:
    held = db.get(Resource, world.equipment1.id)
    assert held is not None
    held.name_en = "changed in this transaction"
    assert NAMES.adopt(db, _row(db, world.equipment1.id)) is held  # type: ignore[arg-type]
    assert held.name_en == "changed in this transaction"  # its state wins, as with a query
    db.rollback()


def test_an_outer_join_that_found_nothing_adopts_nothing(world: World, db: Session) -> None:
    resources, spaces = Resource.__table__, Space.__table__
    row = db.execute(
        select(spaces.c.id, *NAMES.columns)
        .select_from(spaces)
        .outerjoin(resources, resources.c.id == -1)
        .where(spaces.c.id == world.space1.id)
    ).one()
    assert NAMES.adopt(db, row) is None  # type: ignore[arg-type]
