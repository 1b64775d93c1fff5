"""The unit of work: one place commits each request or Socket.IO event, then publishes its events.

Views, handlers and operations never commit. When a view returns a success (any status below 400) the
session commits, the domain events recorded in that transaction are broadcast, and the background jobs
they call for are enqueued (``web.jobs.enqueue_follow_ups``); when it raises, or
answers an error, the session rolls back and the events go with it (see ``matchmaker.events``).
A view that wants to show a user-fixable problem beside a form without failing the whole request runs
the action through :func:`attempt`, which undoes only that action's writes (a savepoint).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g
from pydantic import ValidationError
from sqlalchemy.orm import Session

from matchmaker import events
from matchmaker.errors import MatchmakerError
from web import jobs
from web.db import get_session
from web.errors import from_validation_error
from web.realtime import broadcasts

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def finish(*, succeeded: bool) -> None:
    """Commit and publish, or roll back and forget, the request's session (if it opened one)."""
    session: Session | None = g.get("db_session")
    if session is None:
        return
    if not succeeded:
        session.rollback()  # the listener in matchmaker.events drops what this transaction recorded
        return
    session.commit()
    committed = events.take(session)
    broadcasts.publish(committed)
    jobs.enqueue_follow_ups(current_app._get_current_object(), committed)  # type: ignore[attr-defined]


def unit_of_work(view: F) -> F:
    """Frame a view or Socket.IO handler: commit once after it returns, roll back if it fails."""

    @wraps(view)
    def framed(*args: Any, **kwargs: Any) -> Any:
        try:
            result = view(*args, **kwargs)
            status = _status_of(result)
        except BaseException:
            finish(succeeded=False)
            raise
        finish(succeeded=status < 400)
        return result

    framed.framed_by_unit_of_work = True  # type: ignore[attr-defined]
    return framed  # type: ignore[return-value]


def _status_of(result: Any) -> int:
    """The status a view's return value will answer with (a bare body, or an acknowledgement, is 200)."""
    if isinstance(result, Response):
        return result.status_code
    if isinstance(result, tuple) and len(result) >= 2 and isinstance(result[1], int):
        return result[1]
    return 200


def attempt(
    action: Callable[[], T], *, fail_on: tuple[int, ...] = (401, 403, 404)
) -> tuple[T | None, MatchmakerError | None]:
    """Run a form's action inside a savepoint. A user-fixable problem comes back as the error to show
    beside the form, with only that action's writes undone; errors with a status in ``fail_on``
    (by default: not logged in, not allowed, not found) still fail the whole request."""
    session = get_session()
    try:
        with session.begin_nested():
            return action(), None
    except ValidationError as exc:
        return None, from_validation_error(exc)
    except MatchmakerError as exc:
        if exc.status in fail_on:
            raise
        return None, exc


def init_app(app: Flask) -> None:
    """Frame every view registered so far (call after the blueprints are registered)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = unit_of_work(view)
