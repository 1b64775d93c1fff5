"""The JSON API under ``/api/v1``: routes declare their input models once, for parsing and for OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, request
from pydantic import BaseModel

from matchmaker.errors import InvalidInput, NotAuthenticated
from web.api import answers
from web.extensions import csrf
from web.security import current_db_user, current_principal, is_token_request

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Operation:
    rule: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    auth: bool
    responses: dict[int, str] = field(default_factory=dict)
    body_required: bool = True
    answer: type[BaseModel] | None = None
    status: int = 200
    media: str | None = None  # a file answer (its media type) instead of JSON


OPERATIONS: list[Operation] = []


def parse_json(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise InvalidInput(
            "Send a JSON body with Content-Type: application/json.",
            "请以 application/json 格式提交 JSON 请求体。",
            details={"fields": {"body": "not_json"}},
        )
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidInput(
            "The request body is empty.", "请求体为空。", details={"fields": {"body": "empty"}}
        )
    return model.model_validate_json(raw)


def parse_query(model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    listy = {
        name
        for name, info in model.model_fields.items()
        if getattr(info.annotation, "__origin__", None) is list
    }
    for key in request.args:
        if key == "lang":  # the language switch works on every address
            continue
        values = request.args.getlist(key)
        data[key] = values if key in listy else values[-1]
    return model.model_validate(data)


def _check_csrf_for_cookie_auth() -> None:
    """A browser calling the API with its session cookie must send the CSRF token like a form does."""
    if request.method in ("GET", "HEAD", "OPTIONS") or is_token_request():
        return
    if current_db_user() is not None:
        csrf.protect()


def route(
    rule: str,
    method: str,
    summary: str,
    *,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    auth: bool = True,
    responses: dict[int, str] | None = None,
    body_required: bool = True,
    answer: type[BaseModel] | None = None,
    media: str | None = None,
) -> Callable[[F], F]:
    """Register an API route. ``answer`` is the model of its success (201 when ``responses`` names
    201; without a model, 204 and no body). With ``body_required=False`` an empty body stands for
    ``body()``'s defaults (for actions whose details are optional). With ``media``, the view returns a
    file of that type (a 200 documented as binary) instead of a JSON answer."""
    success = 200 if media else 204 if answer is None else 201 if 201 in (responses or {}) else 200

    def decorate(view: F) -> F:
        OPERATIONS.append(
            Operation(
                rule,
                method,
                summary,
                tag,
                body,
                query,
                auth,
                responses or {},
                body_required,
                answer,
                success,
                media,
            )
        )

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if auth and current_db_user() is None:
                raise NotAuthenticated()
            _check_csrf_for_cookie_auth()
            if body is not None:
                empty = not request.get_data(cache=True).strip()
                kwargs["body"] = body() if empty and not body_required else parse_json(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            result = view(*args, **kwargs)
            if answer is None:
                return result
            if not isinstance(result, tuple):
                return answers.render(answer, result, current_principal())
            payload, *rest = result
            return (answers.render(answer, payload, current_principal()), *rest)

        endpoint = f"{view.__name__}"
        bp.add_url_rule(rule, endpoint=endpoint, view_func=wrapped, methods=[method])
        return cast(F, wrapped)

    return decorate


from web.api import allocations, bookings, cockpit, investing, mentoring, notifications, openapi, tasks, views  # noqa: E402, F401  (registers the routes)
