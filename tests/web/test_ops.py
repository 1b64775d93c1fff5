"""Operations: health and readiness, metrics, request ids, JSON logs and security headers."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from models.database import make_engine, make_session_factory
from tests.conftest import REDIS_URL, Client, World, app_config
from tests.web.booking_support import Api, next_week, token_for
from web import create_app
from web.observability import JsonFormatter


def _unreachable_database() -> sessionmaker[Session]:
    # Port 1 on the loopback refuses at once: a database that is down, not one that is slow.
    return make_session_factory(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))


def _app(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, factory: sessionmaker[Session], **config: Any
) -> Flask:
    monkeypatch.setenv("MATCHMAKER_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(app_config(**config), session_factory=factory)


def sample(client: Client, name: str, **labels: str) -> float:
    """The current value of one metric sample, read from /metrics as Prometheus would."""
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0


# Health and readiness --------------------------------------------------------------------------


def test_healthz_answers_without_a_database_and_readyz_names_the_database(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _app(tmp_path, monkeypatch, _unreachable_database(), INSTANCE_NAME="a1").test_client()
    alive = client.get("/healthz")
    assert alive.status_code == 200
    assert alive.json == {"status": "ok", "instance": "a1"}
    ready = client.get("/readyz", headers={"Accept-Language": "en"})
    assert ready.status_code == 503
    error = ready.json["error"]
    assert error["code"] == "not_ready"
    assert error["message"] == "Not ready: database unreachable."
    zh = client.get("/readyz", headers={"Accept-Language": "zh"}).json["error"]["message"]
    assert zh == "尚未就绪：无法连接 database。"
    assert error["details"]["failed"] == ["database"]
    assert error["details"]["checks"]["database"].startswith("failed")


def test_readyz_is_ok_when_the_database_answers(client: Client) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"] == {"database": "ok"}  # no Redis configured, so none checked


def test_readyz_names_redis_when_the_configured_redis_is_down(
    factory: sessionmaker[Session], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path, monkeypatch, factory, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json["error"]["details"]["failed"] == ["redis"]
    assert ready.json["error"]["details"]["checks"]["database"] == "ok"


@pytest.mark.redis
def test_readyz_checks_a_live_redis(
    factory: sessionmaker[Session], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not REDIS_URL:
        pytest.skip("Redis not configured (set MATCHMAKER_TEST_REDIS_URL)")
    # The limiter's storage, not the message queue: a queue would leave a listener thread behind.
    app = _app(tmp_path, monkeypatch, factory, RATELIMIT_STORAGE_URI=REDIS_URL)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"] == {"database": "ok", "redis": "ok"}


# Metrics ---------------------------------------------------------------------------------------


def test_metrics_count_requests_by_endpoint_and_status(client: Client) -> None:
    labels = {"endpoint": "ops.healthz", "method": "GET", "status": "200"}
    before = sample(client, "matchmaker_http_requests_total", **labels)
    missing_before = sample(client, "matchmaker_http_requests_total", endpoint="unmatched", status="404")
    latency_before = sample(client, "matchmaker_http_request_duration_seconds_count", endpoint="ops.healthz")
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/page")
    assert sample(client, "matchmaker_http_requests_total", **labels) == before + 3
    assert sample(client, "matchmaker_http_requests_total", endpoint="unmatched", status="404") == (
        missing_before + 1
    )
    assert sample(client, "matchmaker_http_request_duration_seconds_count", endpoint="ops.healthz") == (
        latency_before + 3
    )


def test_metrics_count_bookings_made_and_events_published(client: Client, world: World, db: Session) -> None:
    api = Api(client, token_for(db, world.users["founder"]))
    made = sample(client, "matchmaker_bookings_made_total")
    published = sample(client, "matchmaker_events_published_total", event="booking_changed")
    response = api.book(world.team1.id, world.equipment1.id, next_week(2, 10), next_week(2, 12))
    assert response.status_code == 201, response.json
    assert sample(client, "matchmaker_bookings_made_total") == made + 1
    assert sample(client, "matchmaker_events_published_total", event="booking_changed") == published + 1
    refused = api.book(world.team1.id, world.equipment1.id, next_week(2, 10), next_week(2, 12))
    assert refused.status_code == 409
    assert sample(client, "matchmaker_bookings_made_total") == made + 1


def test_jobs_are_counted_through_the_counter_api(client: Client) -> None:
    from web.observability import count_job_run

    before = sample(client, "matchmaker_jobs_run_total", job="sweep", outcome="failed")
    count_job_run("sweep", "failed")
    assert sample(client, "matchmaker_jobs_run_total", job="sweep", outcome="failed") == before + 1


# Request ids, JSON logs and the 500 answer -----------------------------------------------------


@pytest.fixture
def failing_app(app: Flask) -> Flask:
    def boom() -> str:
        raise RuntimeError("the disk is on fire")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    return app


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_sane_request_id_is_kept_and_echoed_and_logged_as_json(
    client: Client, json_log: io.StringIO
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "lb-0123456789abcdef"})
    assert response.headers["X-Request-ID"] == "lb-0123456789abcdef"
    entries = [e for e in _lines(json_log) if e.get("path") == "/healthz"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["request_id"] == "lb-0123456789abcdef"
    assert entry["status"] == 200 and entry["method"] == "GET" and entry["logger"] == "matchmaker.access"
    assert isinstance(entry["duration_ms"], float)


@pytest.mark.parametrize("supplied", ["short", "x" * 65, "has space in it", "<script>alert(1)</script>"])
def test_an_insane_request_id_is_replaced(client: Client, supplied: str) -> None:
    echoed = client.get("/healthz", headers={"X-Request-ID": supplied}).headers["X-Request-ID"]
    assert echoed != supplied
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_the_json_500_error_and_the_log_carry_the_request_id(
    failing_app: Flask, json_log: io.StringIO
) -> None:
    response = failing_app.test_client().get("/api/v1/boom", headers={"X-Request-ID": "abcdef123456"})
    assert response.status_code == 500
    error = response.json["error"]
    assert error["code"] == "internal_error"
    assert error["details"]["request_id"] == "abcdef123456"
    assert "abcdef123456" in error["message"]
    failures = [e for e in _lines(json_log) if e["level"] == "error"]
    assert failures and failures[0]["request_id"] == "abcdef123456"
    assert "the disk is on fire" in failures[0]["exception"]


def test_the_500_page_shows_the_request_id(failing_app: Flask) -> None:
    response = failing_app.test_client().get(
        "/boom", headers={"X-Request-ID": "abcdef123456", "Accept-Language": "en"}
    )
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Quote request id abcdef123456" in page
    zh = failing_app.test_client().get(
        "/boom", headers={"X-Request-ID": "abcdef123456", "Accept-Language": "zh"}
    )
    assert "请求编号 abcdef123456" in zh.get_data(as_text=True)


# Security headers ------------------------------------------------------------------------------


def test_pages_carry_the_security_headers_and_no_hsts_over_plain_http(client: Client, world: World) -> None:
    response = client.get("/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_is_sent_when_cookies_are_secure(
    factory: sessionmaker[Session], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path, monkeypatch, factory, SESSION_COOKIE_SECURE=True)
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)


def test_the_pages_need_nothing_the_policy_forbids(client: Client, world: World) -> None:
    """The policy allows no inline script, style or handler: the pages, logged in, must use none."""
    client.login("host@test.example")
    pages = [
        "/",
        "/catalogue",
        "/directory",
        f"/resources/{world.equipment1.id}",
        f"/resources/{world.equipment1.id}/calendar",
        f"/teams/{world.team1.id}",
        "/bookings",
        "/equipment/mine",
        "/account",
    ]
    checked = 0
    for path in pages:
        response = client.get(path)
        if response.status_code != 200:
            continue
        html = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(html), path
        assert not INLINE_STYLE.search(html), path
        checked += 1
    assert checked >= 4


def test_behind_a_trusted_proxy_the_client_address_and_https_come_from_its_headers(
    factory: sessionmaker[Session], tmp_path: Any, monkeypatch: pytest.MonkeyPatch, json_log: io.StringIO
) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    direct = _app(tmp_path, monkeypatch, factory).test_client()
    assert "Strict-Transport-Security" not in direct.get("/healthz", headers=forwarded).headers
    proxied = _app(tmp_path, monkeypatch, factory, PROXY_HOPS=1).test_client()
    response = proxied.get("/healthz", headers=forwarded)
    assert "Strict-Transport-Security" in response.headers
    remotes = [e["remote"] for e in _lines(json_log) if e.get("path") == "/healthz"]
    assert remotes == ["127.0.0.1", "203.0.113.9"]  # untrusted headers are ignored without PROXY_HOPS


def test_an_unreachable_database_answers_503_with_retry_after_not_500(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATCHMAKER_INSTANCE_PATH", str(tmp_path / "instance"))
    nowhere = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    app = create_app(app_config(), session_factory=make_session_factory(nowhere))
    client = app.test_client()
    answer = client.get("/api/v1/spaces")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json["error"]["code"] == "service_unavailable"
    page = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 503
    assert "服务暂时不可用" in page.get_data(as_text=True)
    nowhere.dispose()
