"""Engine and session factory from a database URL, with the SQLite pragmas the embedded default needs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

logger = logging.getLogger(__name__)


def slow_driver_paths() -> list[str]:
    """The pure-Python stand-ins this process would run instead of the compiled database stack: each
    costs several times the CPU per query (measured: psycopg's pure-Python wrapper takes the booking
    path from about 10 to 16 ms of app CPU), so a deployment running one is slow for no visible reason."""
    found = []
    try:
        import psycopg

        if psycopg.pq.__impl__ == "python":
            found.append(
                "psycopg uses its pure-Python libpq wrapper: install psycopg[binary] (or psycopg[c]) "
                "at the same version as psycopg"
            )
    except ImportError:
        pass
    from sqlalchemy.util._has_cython import HAS_CYEXTENSION

    if not HAS_CYEXTENSION:
        found.append("SQLAlchemy runs without its compiled extensions: reinstall it from a wheel")
    return found


# A pooled connection that sat unused this long is checked before it is handed out.
PING_AFTER_IDLE_S = 1.0


def ping_after_idle(engine: Engine, idle_s: float) -> None:
    """Check a pooled connection with a round trip only when it sat idle for ``idle_s`` or more.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, a round trip per request. Under load a
    connection goes straight back out, and a server restart shows on it as an error that invalidates
    the pool (the request answers 503 and the next gets a fresh connection); a connection that waited
    through a quiet spell, or a restart, is the one that may have been cut off unseen, so that one is
    pinged. A failed ping discards it and the pool hands out another (SQLAlchemy's checkout protocol).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return  # new, or back in use at once
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"an idle pooled connection was cut off: {exc}") from exc
        if not alive:  # pragma: no cover  (drivers raise rather than answer False)
            raise DisconnectionError("an idle pooled connection was cut off")


def sqlite_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'matchmaker.sqlite3'}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite turn on WAL, foreign keys and a busy timeout on every connection.

    SQLite connections are put in autocommit at the driver level and SQLAlchemy emits ``BEGIN`` itself
    (SQLAlchemy's documented pysqlite recipe): that makes savepoints work and lets writers ask for
    ``BEGIN IMMEDIATE`` so check-then-write sequences are serialised.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        idle_s = kwargs.pop("ping_after_idle_s", PING_AFTER_IDLE_S)
        # The threaded server runs a request per thread: a pool big enough for a busy process keeps
        # requests from queueing for connections or opening and closing overflow ones.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        for reason in slow_driver_paths():
            logger.warning("slow database path: %s", reason)
        engine = create_engine(url, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            ping_after_idle(engine, idle_s)
        return engine

    memory = parsed.database in (None, "", ":memory:")
    if memory:
        kwargs.setdefault("poolclass", StaticPool)
    kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
    kwargs["connect_args"].setdefault("timeout", 30)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
