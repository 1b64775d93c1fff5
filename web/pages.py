"""What every server-rendered page shares: form parsing through the API's schemas, errors beside fields,
navigation and label helpers."""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar, Union

from flask import Flask, render_template, request
from pydantic import BaseModel

from matchmaker import lifecycles
from matchmaker.errors import MatchmakerError
from matchmaker.operations import notifications as notification_ops
from matchmaker.operations import spaces as space_ops
from web import labels
from web.api.schemas import NULLABLE
from web.db import get_session
from web.home import navigation
from web.i18n import current_locale
from web.security import current_db_user, current_principal

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


def _is_str(annotation: Any) -> bool:
    if annotation is str or typing.get_origin(annotation) is typing.Annotated:
        return annotation is str or typing.get_args(annotation)[0] is str
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return any(_is_str(a) for a in typing.get_args(annotation) if a is not type(None))
    return False


def form_to_model(model: type[M], *, extra: dict[str, Any] | None = None) -> M:
    """Parse an HTML form with the same schema the API uses (types coerced from strings).

    Every field the model names is taken as shown on the form: an unchecked checkbox is false, an
    emptied field that may be empty is cleared, other empty non-text inputs count as not given.
    """
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        ann = info.annotation
        if _is_list(ann):
            data[name] = [v for v in request.form.getlist(name) if v.strip()]
        elif ann in (bool, bool | None):
            data[name] = request.form.get(name) in ("on", "true", "1", "yes")
        elif name in request.form:
            value = request.form[name]
            if not value.strip() and name in NULLABLE:
                data[name] = None  # an emptied field that may be empty: clear it
            elif value.strip() or _is_str(ann):
                data[name] = value
    data.update(extra or {})
    return model.model_validate(data, strict=False)


def render_form(template: str, error: MatchmakerError | None, **context: Any) -> tuple[str, int]:
    status = 200 if error is None else (422 if error.status == 422 else error.status)
    fields = (error.details.get("fields") if error else None) or {}
    return (
        render_template(
            template,
            error_message=error.message(current_locale()) if error else None,
            field_errors=fields,
            form=request.form,
            **context,
        ),
        status,
    )


def init_app(app: Flask) -> None:
    app.jinja_env.globals["labels"] = labels.ALL
    app.jinja_env.globals["entry_stages"] = lifecycles.ENTRY_STAGES

    @app.context_processor
    def _globals() -> dict[str, Any]:
        me = current_db_user()
        unread = latest = 0
        if me is not None:
            unread, latest = notification_ops.badge(get_session(), me.id)
        spaces = space_ops.list_spaces(get_session())
        principal = current_principal()
        return {
            "nav_spaces": spaces,
            "menu": navigation.menu_for(get_session(), principal, spaces),
            "principal": principal,
            "me": me,
            "unread_notifications": unread,
            "latest_notification_id": latest,
        }

    @app.template_filter("money")
    def _money(value: Any) -> str:
        if value is None:
            return "—"
        number = float(value)
        return f"¥{number:,.0f}" if number == int(number) else f"¥{number:,.2f}"

    @app.template_filter("field_error")
    def _field_error(code: str) -> str:
        return str(labels.FIELD_ERRORS.get(code, code))
