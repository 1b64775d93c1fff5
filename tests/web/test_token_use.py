"""A read with a Bearer token records the token's use without ever failing because others write: on
SQLite a read transaction that later wants to write cannot wait for the lock, so the use is written
in a short unit of work of its own that takes the write lock first."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.operations import accounts
from matchmaker.permissions import Principal
from models import ApiToken, User
from tests.conftest import LiveServer, World, bearer, fresh
from tests.web.live import WAIT
from web.db import take_write_lock

READERS = 60
WRITERS = 3


def _write_once(factory: sessionmaker[Session], user_id: int, n: int) -> None:
    """Another request's write: one short unit of work that commits."""
    with factory() as other:
        take_write_lock(other)
        other.execute(update(User).where(User.id == user_id).values(display_name=f"Writer {n}"))
        other.commit()


def _tokens(db: Session, world: World, count: int) -> list[str]:
    host = db.get(User, world.id("host"))
    secrets = [accounts.create_token(db, host, f"reader {i}")[1] for i in range(count)]
    db.commit()
    return secrets


def test_a_read_whose_token_lookup_is_overtaken_by_another_write_still_records_the_use(
    client: FlaskClient,
    world: World,
    db: Session,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The interleaving by hand: the token is read, another writer commits, then the use is recorded."""
    (secret,) = _tokens(db, world, 1)
    real = accounts.token_and_principal
    writes: list[int] = []

    def overtaken(session: Session, value: str) -> tuple[ApiToken, Principal]:
        found = real(session, value)
        _write_once(factory, world.id("manager"), len(writes))
        writes.append(1)
        return found

    monkeypatch.setattr(accounts, "token_and_principal", overtaken)
    response = client.get("/api/v1/users/me", headers=bearer(secret))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert writes == [1]
    fresh(db)
    assert db.scalars(select(ApiToken.last_used_at)).one() is not None


def test_first_reads_with_fresh_tokens_under_write_load_never_fail(
    live_server: LiveServer, world: World, db: Session, factory: sessionmaker[Session]
) -> None:
    secrets = _tokens(db, world, READERS)
    gate = threading.Barrier(READERS + WRITERS)
    done = threading.Event()
    writes = [0] * WRITERS

    def write(n: int) -> None:
        gate.wait(timeout=WAIT)
        while not done.is_set() or writes[n] == 0:
            _write_once(factory, world.id("manager"), n)
            writes[n] += 1

    def read(secret: str) -> int:
        gate.wait(timeout=WAIT)
        response = requests.get(f"{live_server.url}/api/v1/users/me", headers=bearer(secret), timeout=60)
        return response.status_code

    with ThreadPoolExecutor(max_workers=READERS + WRITERS) as pool:
        writers = [pool.submit(write, n) for n in range(WRITERS)]
        statuses = list(pool.map(read, secrets))
        done.set()
        for writer in writers:
            writer.result(timeout=60)
    assert all(writes)
    assert statuses == [200] * READERS, sorted(statuses)
    fresh(db)
    recorded = db.scalars(select(ApiToken.last_used_at)).all()
    assert len(recorded) == READERS and all(at is not None for at in recorded)
