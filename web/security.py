"""Who is asking: the session user (pages) or a Bearer token (API), their Principal, and the guards."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, session
from flask_login import current_user
from sqlalchemy.exc import OperationalError

from matchmaker.errors import NotAuthenticated
from matchmaker.operations import accounts
from matchmaker.permissions import ANONYMOUS, Principal
from models import User
from web.db import get_session, request_writes, take_write_lock
from web.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("matchmaker.security")


def _load_session_user(value: str) -> User | None:
    try:
        user_id, epoch = (int(part) for part in value.split(":"))
    except ValueError:
        return None
    user = get_session().get(User, user_id)
    if user is None or not user.is_active or user.session_epoch != epoch:
        return None
    return user


def _load_token_user(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    secret = header[7:].strip()
    try:
        token, principal = accounts.token_and_principal(get_session(), secret)
    except NotAuthenticated:
        return None
    g.principal = principal  # read with the token, so current_principal() needs no statement of its own
    if not request_writes():
        # A read never commits the request's session: record the use aside, and only when stale.
        _note_use_aside(token.id, token.last_used_at)
    else:
        # Committed with the request's work (on SQLite its unit of work already holds the write lock).
        accounts.note_token_use(get_session(), token.id, last_used_at=token.last_used_at)
    g.token_auth = True
    return token.user


def _note_use_aside(token_id: int, last_used_at: datetime | None) -> None:
    """Record a read's token use in a short unit of work of its own that asks for the write lock before
    it reads (on SQLite a read that later wants to write cannot wait for the lock: it fails at once when
    another writer committed meanwhile). The record is a convenience: should the lock stay busy past
    the timeout, the read goes on and a later request records the use."""
    if accounts.token_use_is_fresh(last_used_at):
        return
    factory = current_app.extensions["matchmaker.session_factory"]
    try:
        with factory.begin() as side:
            take_write_lock(side)
            accounts.note_token_use(side, token_id, last_used_at=last_used_at)
    except OperationalError:
        log.warning("could not record the use of token %s; the database stayed busy", token_id)


def current_db_user() -> User | None:
    return cast(User, current_user._get_current_object()) if current_user.is_authenticated else None


def current_principal() -> Principal:
    if "principal" not in g:
        user = current_db_user()  # a token's request reads its principal here, with the token
        if "principal" not in g:
            g.principal = accounts.principal_for(get_session(), user) if user else ANONYMOUS
    return cast(Principal, g.principal)


def refresh_principal() -> Principal:
    g.pop("principal", None)
    return current_principal()


def require_user() -> User:
    user = current_db_user()
    if user is None:
        raise NotAuthenticated()
    return user


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        require_user()
        return view(*args, **kwargs)

    return cast(F, wrapped)


def is_token_request() -> bool:
    return bool(g.get("token_auth"))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_session_user)
    login_manager.request_loader(_load_token_user)
    login_manager.session_protection = "basic"

    def _unauthorized() -> Any:
        raise NotAuthenticated()

    login_manager.unauthorized_handler(_unauthorized)

    # Bearer-token API calls carry no cookie, so they must not set one either.
    @app.after_request
    def _no_cookie_for_tokens(response: Any) -> Any:
        if is_token_request():
            session.modified = False
        return response
