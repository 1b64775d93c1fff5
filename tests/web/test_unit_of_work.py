"""The unit of work: the dispatcher commits once after a view returns and only then publishes; a failed
request, or a rolled-back savepoint, takes its events (and its notifications) with it."""

from __future__ import annotations

import ast
import pathlib
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import events
from matchmaker.errors import InvalidInput
from models import AuditEntry
from tests.conftest import fresh
from web import units
from web.db import get_session
from web.realtime import broadcasts

WEB = pathlib.Path(__file__).resolve().parents[2] / "web"


def _event(n: int) -> events.Event:
    return events.RecommendationsChanged(team_id=n, member_user_ids=())


def test_events_recorded_in_a_rolled_back_transaction_are_dropped(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        session.execute(text("SELECT 1"))
        events.record(session, _event(1))
        session.rollback()
        assert events.take(session) == []


def test_a_savepoint_that_rolls_back_drops_only_its_own_events(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        session.execute(text("SELECT 1"))
        events.record(session, _event(1))
        with session.begin_nested():
            events.record(session, _event(2))
        savepoint = session.begin_nested()
        events.record(session, _event(3))
        savepoint.rollback()
        assert [e.team_id for e in events.take(session)] == [1, 2]  # type: ignore[attr-defined]


def _audit(session: Session, action: str) -> None:
    session.add(AuditEntry(action=action, subject="test:1", detail={}))
    session.flush()


def _audits(db: Session) -> list[str]:
    fresh(db)
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[events.Event]:
    sent: list[events.Event] = []
    monkeypatch.setattr(broadcasts, "publish", lambda committed: sent.extend(committed))
    return sent


def test_a_view_that_returns_commits_then_publishes(
    app: Flask, db: Session, published: list[events.Event]
) -> None:
    def view() -> Any:
        _audit(get_session(), "kept")
        events.record(get_session(), _event(7))
        assert published == []  # nothing goes out before the commit
        return {"ok": True}, 201

    with app.test_request_context("/", method="POST"):
        units.unit_of_work(view)()
    assert _audits(db) == ["kept"]
    assert [e.team_id for e in published] == [7]  # type: ignore[attr-defined]


def test_a_view_that_raises_writes_nothing_and_publishes_nothing(
    app: Flask, db: Session, published: list[events.Event]
) -> None:
    def view() -> Any:
        _audit(get_session(), "half-written")
        events.record(get_session(), _event(8))
        raise InvalidInput("no", "不行")

    with app.test_request_context("/", method="POST"), pytest.raises(InvalidInput):
        units.unit_of_work(view)()
    assert _audits(db) == []
    assert published == []


def test_a_view_that_answers_an_error_status_rolls_back(
    app: Flask, db: Session, published: list[events.Event]
) -> None:
    def view() -> Any:
        _audit(get_session(), "form error")
        events.record(get_session(), _event(9))
        return "the form again, with its errors", 422

    with app.test_request_context("/", method="POST"):
        units.unit_of_work(view)()
    assert _audits(db) == []
    assert published == []


def test_attempt_undoes_only_the_failed_action(
    app: Flask, db: Session, published: list[events.Event]
) -> None:
    def failing() -> None:
        _audit(get_session(), "failed action")
        events.record(get_session(), _event(2))
        raise InvalidInput("no", "不行")

    def view() -> Any:
        _audit(get_session(), "earlier write")
        events.record(get_session(), _event(1))
        _result, error = units.attempt(failing)
        assert error is not None and error.code == "invalid_input"
        return "redirect", 302

    with app.test_request_context("/", method="POST"):
        units.unit_of_work(view)()
    assert _audits(db) == ["earlier write"]
    assert [e.team_id for e in published] == [1]  # type: ignore[attr-defined]


def test_every_view_is_framed_by_the_dispatcher(app: Flask) -> None:
    unframed = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not getattr(view, "framed_by_unit_of_work", False)
    ]
    assert unframed == []


def _commit_calls(path: pathlib.Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]


def test_no_view_or_handler_commits_by_hand() -> None:
    """Only the dispatcher (web/units.py) and the jobs that frame their own work call commit."""
    allowed = {"units.py", "jobs.py", "sweeper.py", "cli.py"}
    offenders = {
        str(path.relative_to(WEB)): lines
        for path in WEB.rglob("*.py")
        if path.name not in allowed and (lines := _commit_calls(path))
    }
    assert offenders == {}


def test_a_write_request_commits_exactly_once(client: Any, world: Any) -> None:
    from sqlalchemy import event as sa_event

    client.login("founder@test.example")
    token = client.csrf_token(f"/teams/{world.team1.id}/edit")
    commits: list[int] = []

    def count(session: Session) -> None:
        if session.get_nested_transaction() is None:  # a savepoint's release is not a commit
            commits.append(1)

    sa_event.listen(Session, "before_commit", count)
    try:
        response = client.post(
            f"/teams/{world.team1.id}/edit",
            data={"name_zh": "视觉芯片二号", "name_en": "Vision chip 2", "csrf_token": token},
        )
    finally:
        sa_event.remove(Session, "before_commit", count)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert len(commits) == 1


def test_every_kind_of_event_has_its_rooms_declared() -> None:
    def kinds(cls: type[events.Event]) -> set[type[events.Event]]:
        found = set(cls.__subclasses__())
        return found.union(*(kinds(sub) for sub in found)) if found else set()

    assert kinds(events.Event) <= set(broadcasts.ROUTES)
