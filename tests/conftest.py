"""Shared fixtures: every database test runs on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from matchmaker import passwords
from matchmaker.operations import catalogue
from models import Base, migrate
from models.database import make_engine, make_session_factory
from seeds import builders
from tests.contract import check_answer
from web import create_app
from web import jobs as job_layer
from web.jobs.inprocess import InProcessJobs
from web.jobs.runner import SYSTEM_CLOCK, Clock, new_key, spec_of
from web.jobs.settings import JobSettings, settings_of

IN_CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get("MATCHMAKER_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("MATCHMAKER_TEST_REDIS_URL")
PASSWORD = "correct horse battery staple"
# One cheap hash for every test account: scrypt at full cost per user would dominate the suite's time.
PASSWORD_HASH = passwords.hash_password(PASSWORD, n=2**10)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI a missing service is a failure, not a skip."""
    if IN_CI:
        missing = [
            name
            for name, value in (
                ("MATCHMAKER_TEST_DATABASE_URL", PG_URL),
                ("MATCHMAKER_TEST_REDIS_URL", REDIS_URL),
            )
            if not value
        ]
        if missing:
            raise pytest.UsageError(
                f"CI run without {', '.join(missing)}: PostgreSQL and Redis are required in CI"
            )
        if CHROMIUM is None:
            raise pytest.UsageError("CI run without Debian's chromium: the browser tests are required in CI")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` are about PostgreSQL itself: run them only with that backend."""
    items[:] = [
        item
        for item in items
        if item.get_closest_marker("postgres") is None
        or getattr(getattr(item, "callspec", None), "params", {}).get("engine", "").startswith("postgresql")
    ]


BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
if not PG_URL and not IN_CI:
    BACKENDS.append("postgresql-missing")


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The schema is built by the Alembic migrations themselves, so they are tested on both databases."""
    if request.param == "postgresql-missing":
        pytest.skip("PostgreSQL not configured (set MATCHMAKER_TEST_DATABASE_URL to run these on it)")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        url = _worker_schema_url(str(PG_URL))
    migrate.upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def _worker_schema_url(url: str) -> str:
    """A fresh schema per test process, so parallel workers share the one database without meeting."""
    # A prefix of one's own keeps several checkouts' runs apart on one shared database.
    prefix = os.environ.get("MATCHMAKER_TEST_SCHEMA_PREFIX", "test")
    schema = f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    eng.dispose()
    with_schema = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return with_schema.render_as_string(hide_password=False)


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608  (names come from our metadata)


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    catalogue.reset_search_cache()
    yield make_session_factory(engine)
    _empty(engine)
    catalogue.reset_search_cache()


@pytest.fixture
def db(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging data; commit it so the app's own sessions see the rows."""
    session = factory()
    yield session
    session.rollback()
    session.close()


def fresh(session: Session) -> None:
    """See what the app committed: end the session's read snapshot and forget loaded state (a plain
    rollback does neither when no transaction has begun since the last commit)."""
    session.rollback()
    session.expire_all()


def app_config(**overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        "SOCKETIO_MESSAGE_QUEUE": None,
        # A long-polling client's last request returns at the next ping; keep test teardowns short.
        "SOCKETIO_PING_INTERVAL": 1,
    }
    config.update(overrides)
    return config


class HeldJobs:
    """The job layer of a test app: what the app enqueues waits here, recorded, until the test runs it
    (``run_held``: through the in-process layer, in the test's thread), so no job runs behind a test's
    back or outlives it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.settings: JobSettings = settings_of(app)
        self.held: list[tuple[str, str, dict[str, Any]]] = []

    def enqueue(self, name: str, key: str | None = None, **kwargs: Any) -> str:
        spec_of(name)
        key = key or new_key(name)
        self.held.append((name, key, kwargs))
        return key

    def schedule(self, name: str, every: float) -> None:
        spec_of(name)

    def stop(self, timeout: float = 10) -> None:
        self.held.clear()

    def names(self) -> list[str]:
        return [name for name, _, _ in self.held]

    def run_held(self, clock: Clock = SYSTEM_CLOCK) -> list[str]:
        """Run every held job once, in the order enqueued; the outcome of each."""
        layer = InProcessJobs(self.app, self.settings, clock=clock)
        outcomes = []
        while self.held:
            name, key, kwargs = self.held.pop(0)
            outcomes.append(layer.run(name, key, kwargs))
        return outcomes


def hold_jobs(app: Flask) -> HeldJobs:
    held = HeldJobs(app)
    app.extensions[job_layer.EXTENSION] = held
    return held


@pytest.fixture
def app(factory: sessionmaker[Session], tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("MATCHMAKER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(), session_factory=factory)
    hold_jobs(app)
    return app


@pytest.fixture
def held_jobs(app: Flask) -> HeldJobs:
    """The jobs the app enqueued and has not run yet."""
    held: HeldJobs = app.extensions[job_layer.EXTENSION]
    return held


class Client(FlaskClient):
    """A test client that logs in through the real form and sends CSRF tokens like a browser, and
    checks every API answer it receives against the OpenAPI document."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        check_answer(self.application, response)
        return response

    def csrf_token(self, path: str = "/login") -> str:
        page = self.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def form(self, path: str, data: dict[str, Any], *, token_from: str | None = None) -> Any:
        token = self.csrf_token(token_from or path)
        return self.post(path, data={**data, "csrf_token": token})

    def login(self, email: str, password: str = PASSWORD) -> Any:
        response = self.form("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response


@pytest.fixture
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@contextmanager
def sql_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block (transaction control left out), each on one
    line."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        words = statement.split()
        if words and words[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            seen.append(" ".join(words))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# A small world every permission test can reason about ------------------------------------------


@dataclass
class World:
    space1: Any
    space2: Any
    host1: Any  # host organisation of space 1
    investors1: Any  # investor firm of space 1
    host2: Any
    users: dict[str, Any]
    equipment1: Any  # owned by host1
    mentor1: Any  # mentor profile of users["mentor"]
    fund1: Any
    equipment2: Any  # in space 2
    team1: Any  # founder's team in space 1 (admitted, incubator)
    team2: Any  # another team in space 1
    team3: Any  # a team in space 2
    pending1: Any  # an application waiting in space 1

    def id(self, name: str) -> int:
        return int(self.users[name].id)


ROLE_NAMES = (
    "admin",
    "manager",
    "host",
    "mentor",
    "investor",
    "founder",
    "member",
    "other_founder",
    "manager2",
    "host2",
    "outsider",
)


def build_world(session: Session) -> World:
    for slug, zh, en in (
        ("sem-imaging", "扫描电镜", "scanning electron microscope"),
        ("failure-analysis", "失效分析", "failure analysis"),
        ("machine-vision", "机器视觉", "machine vision"),
        ("financing", "融资", "financing"),
        ("hplc", "高效液相色谱", "HPLC"),
    ):
        builders.get_or_create_tag(session, slug, [zh], [en])
    space1 = builders.get_or_create_space(
        session,
        "ic",
        name_zh="集成电路专业化众创空间",
        name_en="IC space",
        niche_zh="集成电路",
        niche_en="Integrated circuits",
    )
    space2 = builders.get_or_create_space(
        session,
        "bio",
        name_zh="生物医药专业化众创空间",
        name_en="Bio space",
        niche_zh="生物医药",
        niche_en="Biomedicine",
    )
    host1 = builders.get_or_create_organization(
        session, space1, "inst", is_host=True, name_zh="微电子研究所", name_en="Microelectronics Institute"
    )
    investors1 = builders.get_or_create_organization(
        session, space1, "vc", kind="investor_firm", name_zh="创投", name_en="VC firm"
    )
    host2 = builders.get_or_create_organization(
        session, space2, "pharma", is_host=True, name_zh="药物研究院", name_en="Pharma Institute"
    )
    users = {
        name: builders.get_or_create_user(
            session,
            f"{name}@test.example",
            name.title(),
            password_hash=PASSWORD_HASH,
            is_admin=name == "admin",
        )
        for name in ROLE_NAMES
    }
    builders.grant(session, users["manager"], space1, "manager")
    builders.grant(session, users["host"], space1, "host_staff", host1)
    builders.grant(session, users["mentor"], space1, "mentor", host1)
    builders.grant(session, users["investor"], space1, "investor", investors1)
    builders.grant(session, users["manager2"], space2, "manager")
    builders.grant(session, users["host2"], space2, "host_staff", host2)
    equipment1 = builders.get_or_create_resource(
        session,
        space1,
        host1,
        "sem",
        name_zh="场发射扫描电子显微镜",
        name_en="Field-emission SEM",
        description_zh="高分辨形貌观察与失效分析",
        description_en="High-resolution imaging for failure analysis",
        service_content_zh="形貌观察",
        service_content_en="Imaging",
        service_unit_zh="测试中心",
        service_unit_en="Test centre",
        price_cny=400,
        price_unit="hour",
        tags=["sem-imaging", "failure-analysis"],
    )
    mentor1 = builders.get_or_create_resource(
        session,
        space1,
        host1,
        "mentor-li",
        kind="mentor",
        category="technical",
        name_zh="李导师 · 机器视觉",
        name_en="Li · machine vision mentor",
        price_unit="free",
        tags=["machine-vision"],
        attributes={"monthly_hours": 8},
        person_user_id=users["mentor"].id,
    )
    fund1 = builders.get_or_create_resource(
        session,
        space1,
        investors1,
        "seed-fund",
        kind="fund",
        category="seed_fund",
        name_zh="种子基金",
        name_en="Seed fund",
        price_unit="free",
        tags=["financing"],
        attributes={"rounds": ["seed", "angel"]},
        person_user_id=users["investor"].id,
    )
    equipment2 = builders.get_or_create_resource(
        session,
        space2,
        host2,
        "hplc",
        name_zh="高效液相色谱仪",
        name_en="HPLC system",
        price_cny=200,
        tags=["hplc"],
    )
    team1 = builders.get_or_create_team(
        session,
        space1,
        "vision-chip",
        lead=users["founder"],
        stage="incubator",
        name_zh="视觉芯片",
        name_en="Vision chip",
        tags=["machine-vision"],
    )
    builders.add_team_member(session, team1, users["member"], "member")
    team2 = builders.get_or_create_team(
        session, space1, "gan-driver", lead=users["other_founder"], name_zh="氮化镓驱动", name_en="GaN driver"
    )
    team3 = builders.get_or_create_team(
        session, space2, "protac", lead=users["other_founder"], name_zh="蛋白降解", name_en="PROTAC"
    )
    pending1 = builders.get_or_create_team(
        session,
        space1,
        "new-sensor",
        lead=users["outsider"],
        admitted=False,
        name_zh="新传感器",
        name_en="New sensor",
    )
    session.commit()
    return World(
        space1,
        space2,
        host1,
        investors1,
        host2,
        users,
        equipment1,
        mentor1,
        fund1,
        equipment2,
        team1,
        team2,
        team3,
        pending1,
    )


@pytest.fixture
def world(db: Session) -> World:
    return build_world(db)


# A live server for Socket.IO and browser tests -------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(
    factory: sessionmaker[Session], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    monkeypatch.setenv("MATCHMAKER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(), session_factory=factory)
    hold_jobs(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
