"""Backups come back: rows made, backed up, changed, restored, and the rows are as they were; a bad
backup is refused in words."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import Space, Tag, User
from models.backup import BackupError, backup, manifest_path, restore
from seeds import builders
from tests.conftest import World, fresh


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _needs_tools(engine: Engine) -> None:
    if engine.dialect.name == "postgresql" and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed (Debian: postgresql-client)")


def test_a_backup_brings_back_the_rows_after_they_changed(
    engine: Engine, world: World, db: Session, tmp_path: Path
) -> None:
    _needs_tools(engine)
    users_before = db.scalar(select(func.count()).select_from(User))
    db.commit()  # no transaction of ours stays open across the backup and the restore

    dump = tmp_path / "platform.backup"
    made = backup(_url(engine), dump)
    assert dump.is_file()
    assert made.rows["users"] == users_before
    assert made.rows["spaces"] == 2
    assert json.loads(manifest_path(dump).read_text())["rows"] == made.rows
    assert made.checks  # integrity check or table-of-contents check, said in words

    space = db.get(Space, world.space1.id)
    assert space is not None
    space.name_en = "Renamed after the backup"
    builders.get_or_create_tag(db, "added-later", ["后来"], ["later"])
    builders.get_or_create_user(db, "late@test.example", "Late")
    db.commit()
    db.close()

    restored = restore(_url(engine), dump)
    engine.dispose()  # the pool's connections knew the tables before they were replaced
    assert restored.rows == made.rows

    fresh(db)
    assert db.scalar(select(Space.name_en).where(Space.id == world.space1.id)) == "IC space"
    assert db.scalar(select(Tag).where(Tag.slug == "added-later")) is None
    assert db.scalar(select(func.count()).select_from(User)) == users_before
    # The restored database takes new rows as before: its sequences came back too.
    builders.get_or_create_tag(db, "after-restore", ["恢复后"], ["after restore"])
    db.commit()


def test_a_damaged_backup_is_refused_and_the_database_is_left_alone(
    engine: Engine, world: World, db: Session, tmp_path: Path
) -> None:
    _needs_tools(engine)
    users_before = db.scalar(select(func.count()).select_from(User))
    db.commit()
    dump = tmp_path / "platform.backup"
    backup(_url(engine), dump)
    data = bytearray(dump.read_bytes())
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(bytes(data[: len(data) // 3]))  # cut short, as an interrupted copy would be
    with pytest.raises(BackupError):
        restore(_url(engine), damaged)
    engine.dispose()
    fresh(db)
    assert db.scalar(select(func.count()).select_from(User)) == users_before


def test_a_restore_that_does_not_match_its_manifest_is_reported(
    engine: Engine, world: World, db: Session, tmp_path: Path
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite compares with the backup file itself, which holds its own counts")
    _needs_tools(engine)
    db.commit()
    dump = tmp_path / "platform.backup"
    made = backup(_url(engine), dump)
    wrong = {**made.rows, "users": made.rows["users"] + 5}
    manifest_path(dump).write_text(json.dumps({"engine": "postgresql", "rows": wrong}))
    with pytest.raises(BackupError, match=r"users: \d+ expected"):
        restore(_url(engine), dump)
    engine.dispose()


def test_a_missing_file_is_named(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no such backup file"):
        restore(_url(engine), tmp_path / "nothing.backup")
