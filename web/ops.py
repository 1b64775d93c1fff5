"""Operations endpoints (/healthz, /readyz, /metrics), request logs and metrics, and security headers."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from web import observability
from web.errors import error_body

bp = Blueprint("ops", __name__)
access_log = logging.getLogger("matchmaker.access")

# What the pages load: our own scripts, styles and the vendored Socket.IO client, all from /static;
# JSON data islands are <script type="application/json">, which the browser never runs. No inline
# script, style or handler attribute, so nothing here needs 'unsafe-inline'. 'self' covers the
# Socket.IO connection (same origin, ws/wss included).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def instance_name() -> str:
    return str(current_app.config.get("INSTANCE_NAME") or "")


@bp.get("/healthz")
def healthz() -> Any:
    """Alive: the process answers. Touches no database, so a slow database never restarts it."""
    return {"status": "ok", "instance": instance_name()}


def _check_database() -> str | None:
    factory: sessionmaker[Session] = current_app.extensions["matchmaker.session_factory"]
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log and the answer
        logging.getLogger("matchmaker.ops").warning("database not reachable: %s", exc)
        return type(exc).__name__
    return None


def _redis_urls() -> list[str]:
    candidates = (
        current_app.config.get("SOCKETIO_MESSAGE_QUEUE"),
        current_app.config.get("RATELIMIT_STORAGE_URI"),
    )
    return sorted({str(u) for u in candidates if u and str(u).startswith(("redis://", "rediss://"))})


def _check_redis(url: str) -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # same as above: report, do not raise
        logging.getLogger("matchmaker.ops").warning("redis not reachable: %s", exc)
        return type(exc).__name__
    return None


@bp.get("/readyz")
def readyz() -> Any:
    """Ready to serve: the database answers, and Redis too when the deployment uses it."""
    checks: dict[str, str] = {}
    failed = _check_database()
    checks["database"] = f"failed: {failed}" if failed else "ok"
    if _redis_urls():
        failures = [f for f in (_check_redis(url) for url in _redis_urls()) if f]
        checks["redis"] = f"failed: {failures[0]}" if failures else "ok"
    broken = [name for name, state in checks.items() if state != "ok"]
    if broken:
        body = error_body(
            "not_ready", f"Not ready: {', '.join(broken)} unreachable.", {"checks": checks, "failed": broken}
        )
        return jsonify(body), 503
    return {"status": "ok", "instance": instance_name(), "checks": checks}


@bp.get("/metrics")
def metrics() -> Response:
    payload, content_type = observability.exposition()
    return Response(payload, content_type=content_type)


def init_app(app: Flask) -> None:
    app.config.setdefault("INSTANCE_NAME", os.environ.get("MATCHMAKER_INSTANCE_NAME", ""))
    app.register_blueprint(bp)

    @app.before_request
    def _start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        # Unmatched addresses share one label, so scanners cannot grow the metric without bound.
        endpoint = request.endpoint or "unmatched"
        if endpoint != "ops.metrics":
            observability.count_request(endpoint, request.method, response.status_code, seconds)
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "endpoint": endpoint,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
        _secure(response)
        if instance_name():
            response.headers["X-Instance"] = instance_name()
        return response


def _secure(response: Response) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        # Only behind HTTPS: over plain HTTP the header is ignored at best and misleading at worst.
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
