"""Pages: each person's home, listing what needs them now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template

from web.db import get_session
from web.home import providers
from web.security import current_principal, login_required

bp = Blueprint("home", __name__)


@bp.get("/home")
@login_required
def index() -> Any:
    principal = current_principal()
    items = providers.items_for(get_session(), principal, datetime.now(UTC))
    return render_template("home/index.html", items=items, sections=providers.SECTIONS)
