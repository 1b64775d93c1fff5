"""The one place that turns errors into the JSON error shape, an error page or a Socket.IO ``error``."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from typing import Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request, url_for
from flask_limiter.errors import RateLimitExceeded
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from matchmaker.errors import InvalidInput, MatchmakerError, RateLimited, field_code
from web.i18n import current_locale

log = logging.getLogger("matchmaker.web")
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "The request could not be understood.", "无法理解该请求。"),
    401: ("not_authenticated", "Please log in first.", "请先登录。"),
    403: ("forbidden", "You are not allowed to do this.", "您无权执行此操作。"),
    404: ("not_found", "There is nothing at this address.", "该地址没有内容。"),
    405: ("method_not_allowed", "This address does not accept that method.", "该地址不支持此请求方法。"),
    413: ("too_large", "The request is too large.", "请求内容过大。"),
    415: (
        "unsupported_media_type",
        "Send JSON with Content-Type: application/json.",
        "请以 application/json 格式发送。",
    ),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def from_validation_error(exc: ValidationError) -> InvalidInput:
    fields: dict[str, str] = {}
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "body"
        fields[name] = field_code(err["type"], err["msg"])
    names = ", ".join(fields)
    return InvalidInput(
        f"Some fields are not valid: {names}.",
        f"以下字段无效：{names}。",
        details={"fields": fields},
    )


def respond(exc: MatchmakerError) -> tuple[Any, int]:
    message = exc.message(current_locale())
    if wants_json():
        response = jsonify(error_body(exc.code, message, exc.details))
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="matchmaker"'
        return response, exc.status
    if exc.status == 401 and request.method == "GET":
        # A page that needs a login sends a person to the login form, and back here afterwards.
        back = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=back)), 302
    return render_template("error.html", code=exc.code, message=message, status=exc.status), exc.status


def public_message(exc: BaseException) -> dict[str, Any]:
    """The payload of a Socket.IO ``error`` event (sent to the sender only)."""
    if isinstance(exc, ValidationError):
        exc = from_validation_error(exc)
    if isinstance(exc, MatchmakerError):
        return error_body(exc.code, exc.message(current_locale()), exc.details)
    log.exception("socket event failed", exc_info=exc)
    return error_body("internal_error", "Something went wrong on our side.")


def init_app(app: Flask) -> None:
    @app.before_request
    def _request_id() -> None:
        supplied = request.headers.get("X-Request-ID", "")
        # A load balancer's id is kept when it is sane (8-64 letters, digits, "-", "_" or "."), so one
        # request can be followed from the balancer's log into ours; anything else gets a fresh id.
        g.request_id = supplied if SANE_REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    @app.errorhandler(MatchmakerError)
    def _domain_error(exc: MatchmakerError) -> Any:
        return respond(exc)

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError) -> Any:
        return respond(from_validation_error(exc))

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> Any:
        body, _ = respond(RateLimited(str(exc.description)))
        return body, 429

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        code, en, zh = HTTP_MESSAGES.get(status, ("http_error", exc.name, exc.name))
        if status == 400 and exc.description and "CSRF" in str(exc.description):
            code, en, zh = (
                "csrf_failed",
                "The form expired or came from elsewhere; please reload and retry.",
                "表单已过期或来源不明，请刷新页面后重试。",
            )
        message = zh if current_locale() == "zh" else en
        if wants_json():
            return jsonify(error_body(code, message)), status
        return render_template("error.html", code=code, message=message, status=status), status

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(exc: DBAPIError) -> Any:
        """The database is restarting, unreachable or busy: a passing state, so 503 with Retry-After
        (clients and load balancers retry), answered without touching the database again."""
        request_id = g.get("request_id", "-")
        log.warning("database unavailable (request id %s): %s", request_id, exc.orig or exc)
        session = g.get("db_session")
        if session is not None:
            with contextlib.suppress(Exception):
                session.rollback()
        en = "The service is briefly unavailable. Please try again in a moment."
        zh = "服务暂时不可用，请稍后重试。"
        message = zh if current_locale() == "zh" else en
        if wants_json():
            response = jsonify(error_body("service_unavailable", message, {"request_id": request_id}))
        else:
            response = Response(f"{message} ({request_id})", mimetype="text/plain")
        response.status_code = 503
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        request_id = g.get("request_id", "-")
        log.exception("unhandled error (request id %s)", request_id)
        session = g.get("db_session")
        if session is not None:
            try:  # the error page's own queries must not meet a failed transaction
                session.rollback()
            except Exception:
                log.exception("rollback after an unhandled error failed")
        en = f"Something went wrong on our side. Quote request id {request_id} when reporting it."
        zh = f"服务器出现意外错误。反馈时请提供请求编号 {request_id}。"
        message = zh if current_locale() == "zh" else en
        if wants_json():
            return jsonify(error_body("internal_error", message, {"request_id": request_id})), 500
        return render_template("error.html", code="internal_error", message=message, status=500), 500
