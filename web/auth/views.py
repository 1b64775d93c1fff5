"""Pages: register, log in, log out, and my account (roles, teams, personal access tokens, language)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from matchmaker.operations import accounts, teams
from web.db import get_session
from web.extensions import limiter, login_limit
from web.i18n import current_locale
from web.pages import render_form
from web.security import current_db_user, current_principal, login_required, require_user
from web.units import attempt

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not bounce the user to another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")  # each person lands on what needs them now


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login() -> Any:
    if request.method == "GET":
        return render_form("auth/login.html", None, next=request.args.get("next", ""))
    email, password = request.form.get("email", ""), request.form.get("password", "")
    user, error = attempt(lambda: accounts.authenticate(get_session(), email[:254], password[:256]))
    if error or user is None:
        return render_form("auth/login.html", error, next=request.form.get("next", ""))
    lang = session.get("lang")
    session.clear()  # a fresh session at login: nothing from before carries over
    if lang:
        session["lang"] = lang
    login_user(user)
    flash(_("Welcome, %(name)s.", name=user.display_name), "success")
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    user = current_db_user()
    if user is not None:
        accounts.end_sessions(get_session(), user)
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("spaces.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def register() -> Any:
    if request.method == "GET":
        return render_form("auth/register.html", None)
    user, error = attempt(
        lambda: accounts.create_user(
            get_session(),
            email=request.form.get("email", "")[:254],
            password=request.form.get("password", "")[:257],
            display_name=request.form.get("display_name", "")[:81],
        )
    )
    if error or user is None:
        return render_form("auth/register.html", error)
    login_user(user)
    flash(_("Your account is ready. Apply to a space with your team, or browse the catalogue."), "success")
    return redirect(url_for("auth.account"))


@bp.get("/account")
@login_required
def account() -> Any:
    return _account_page()


def _account_page(new_token: str | None = None, status: int = 200) -> Any:
    user = require_user()
    page = render_template(
        "auth/account.html",
        user=user,
        my_teams=teams.teams_of(get_session(), user),
        principal=current_principal(),
        new_token=new_token,
    )
    return page, status


@bp.post("/account/tokens")
@login_required
def create_token() -> Any:
    user = require_user()
    result, error = attempt(
        lambda: accounts.create_token(get_session(), user, request.form.get("name", "")[:201])
    )
    if error or result is None:
        flash(error.message(current_locale()) if error else "", "danger")
        return redirect(url_for("auth.account"))
    # Shown in this response only: the secret never travels in the (signed, not encrypted) cookie.
    return _account_page(new_token=result[1], status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Any:
    accounts.revoke_token(get_session(), require_user(), token_id)
    flash(_("Token revoked."), "info")
    return redirect(url_for("auth.account"))
