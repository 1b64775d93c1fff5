"""Pooled PostgreSQL connections: checked with a round trip only after they sat idle, and a cut-off one
is replaced before a request sees it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from models import database
from models.database import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pooled(engine: Engine) -> Iterator[Engine]:
    url = engine.url.render_as_string(hide_password=False)
    one = make_engine(url, pool_size=1, max_overflow=0)
    yield one
    one.dispose()


def _pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        seen.append(dbapi_connection)
        return bool(real(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return seen


def _age(engine: Engine, seconds: float) -> None:
    """Make the one pooled connection look as if it was returned ``seconds`` ago."""
    with engine.connect() as conn:
        record = conn.connection._connection_record
    assert record is not None
    record.info["idle_since"] -= seconds


def test_a_connection_in_steady_use_is_not_pinged(pooled: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    pings = _pings(pooled, monkeypatch)
    for _ in range(5):
        with pooled.connect() as conn:
            assert conn.scalar(text("SELECT 1")) == 1
    assert pings == []


def test_an_idle_connection_that_was_cut_off_is_replaced_unseen(
    pooled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pooled.connect() as conn:
        victim = conn.scalar(text("SELECT pg_backend_pid()"))
    with pooled.dialect.loaded_dbapi.connect(
        pooled.url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (victim,))
    _age(pooled, database.PING_AFTER_IDLE_S + 1)
    pings = _pings(pooled, monkeypatch)
    with pooled.connect() as conn:
        # The request's first statement runs on a live connection, not the one that was cut off.
        assert conn.scalar(text("SELECT pg_backend_pid()")) != victim
    assert len(pings) == 1
