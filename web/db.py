"""One database session per request or Socket.IO event, closed in teardown and never committed there."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import events


def get_session() -> Session:
    if "db_session" not in g:
        factory = cast(sessionmaker[Session], current_app.extensions["matchmaker.session_factory"])
        session = factory()
        if has_request_context() and request_writes():
            take_write_lock(session)
        g.db_session = session
    return cast(Session, g.db_session)


# Endpoints that answer a GET and write too (an export recorded in the audit log): their unit of work
# takes the write lock first, like any other that writes.
WRITING_READS = frozenset({"api.get_filing_workbook", "cockpit.filing_workbook", "cockpit.evaluation_pdf"})


def request_writes() -> bool:
    """Whether the current request's unit of work may write."""
    return request.method not in ("GET", "HEAD", "OPTIONS") or request.endpoint in WRITING_READS


def take_write_lock(session: Session) -> None:
    """On SQLite, begin a unit of work that may write by taking the write lock (BEGIN IMMEDIATE): a
    deferred transaction that read first could not upgrade after another writer committed, and would
    fail with "database is locked" instead of waiting its turn. Elsewhere, nothing to do."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            events.discard(session)
            session.close()
