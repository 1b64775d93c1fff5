"""One database session per request or Socket.IO event, closed in teardown and never committed there."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import events


def get_session() -> Session:
    if "db_session" not in g:
        factory = cast(sessionmaker[Session], current_app.extensions["matchmaker.session_factory"])
        g.db_session = factory()
    return cast(Session, g.db_session)


def commit() -> list[events.Event]:
    """Commit the unit of work and hand back its domain events for broadcasting."""
    session = get_session()
    session.commit()
    return events.take(session)


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            events.discard(session)
            session.close()
