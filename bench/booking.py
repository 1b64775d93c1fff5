"""Booking benchmark: throughput of the real HTTP API, live-event delay, and the space week view.

Everything goes through real server instances started the production way (``matchmaker serve``:
gunicorn, one gthread worker each) over HTTP and Socket.IO, on SQLite and on PostgreSQL (with the Redis
message queue, in one instance and in ``--processes`` more sharing the database and the queue). Prints
figures and writes bench/results/booking.json.

    python bench/booking.py [--backend sqlite|postgresql|both] [--quick] [--clients 1,8,32]
                            [--seconds 8] [--stride-minutes 360] [--listeners 200] [--event-bookings 20]
                            [--listener-processes 4] [--week-resources 300] [--days 365]
                            [--week-requests 10] [--skip-throughput] [--skip-events] [--skip-week]
                            [--processes 1,2] [--keep] [--postgres-url URL] [--redis-url URL]

1. Throughput: each client thread has its own team, token and resource (a team's bookings are
   serialised by a row lock) and books distinct free 30-minute slots from tomorrow on, one every
   ``--stride-minutes`` (6 h: its resource gets 4 bookings a day, as busy as the week view's; booking
   back to back would make every booking read an ever denser calendar), so every request should be a
   successful booking. Clients open a connection per request. Reported:
   requests and bookings per second, p50/p95 latency, the 201 / 409 / other 4xx / 5xx / connection-error
   counts, and the CPU per request of the servers, this client, the app's PostgreSQL connections and
   everything else on the machine. Target: at least 300 bookings/s on PostgreSQL at 32 clients, no 5xx.
2. Event delay: ``--listeners`` real python-socketio clients (websocket transport), spread over a few
   child processes, join one resource's room; another client books that resource over HTTP, one booking
   at a time. The server emits right after the commit and before answering, so per booking and listener
   ``t_recv - t_send`` (send = just before the POST) is the conservative bound, and
   ``max(0, t_recv - t_resp)`` how long after the answer the event came. Target: p95 of the first under
   100 ms. With Redis, also how many connection records the app still keeps once all have disconnected.
3. Week view: a space of ``--week-resources`` resources with ``--days`` of bookings centred on today
   (2-6 a day each, about 4, never overlapping; inserted in bulk with SQLAlchemy Core), then
   ``GET /api/v1/spaces/<id>/calendar?week=...`` for weeks spread over that year. Target: p95 under 1 s.

The PostgreSQL runs use their own schema (``bench_booking``, dropped first and at the end unless
``--keep``), so tests sharing the database are not disturbed. The machine's load average and CPU use
are recorded: on a shared 2-core host, other work shows in every figure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import socketio
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import code_state, environment, percentile, slow_paths  # noqa: E402
from matchmaker.operations import accounts  # noqa: E402
from matchmaker.passwords import hash_password  # noqa: E402
from models import Availability, Booking, migrate  # noqa: E402
from models.database import make_engine, make_session_factory  # noqa: E402
from seeds import builders  # noqa: E402
from web.realtime import rooms  # noqa: E402
from web.realtime.presence import KEY as PRESENCE_KEY  # noqa: E402

PG_URL = os.environ.get("MATCHMAKER_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MATCHMAKER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SCHEMA = "bench_booking"
APPLICATION_NAME = "bench_booking_app"  # names the app's PostgreSQL connections, to watch them
ZONE = ZoneInfo("Asia/Shanghai")
SLOT = timedelta(minutes=30)
SECRET_KEY = secrets.token_hex(16)  # one per run, shared by every server process of the run
TARGET_BOOKINGS_PER_S = 300.0
TARGET_EVENT_P95_MS = 100.0
TARGET_WEEK_P95_S = 1.0
OPEN_ALL_WEEK = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


# ---------------------------------------------------------------------------------------------- helpers


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and every descendant (gunicorn's master and its worker), from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def server_cpu_s(servers: list[Server]) -> float:
    """CPU seconds the servers' processes have used so far, each with its children (the worker)."""
    return sum(process_cpu_s(p) for s in servers for p in process_tree(s.process.pid))


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, every core, so far (Linux /proc; 0 elsewhere)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - values[3] - values[4]) / tick, sum(values) / tick


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZONE)


# ---------------------------------------------------------------------------------------------- data


@dataclass
class Seat:
    """One booking client: its team, token and resource, and the slots it asks for: 30 minutes every
    ``stride`` from ``origin`` (tomorrow, local midnight) for 700 days, then again 30 minutes later."""

    team_id: int
    resource_id: int
    secret: str
    origin: datetime
    stride: timedelta
    made: int = 0

    def next_body(self) -> bytes:
        per_lane = max(1, int(timedelta(days=700) / self.stride))
        lane, k = divmod(self.made, per_lane)
        self.made += 1
        start = self.origin + lane * SLOT + k * self.stride
        return json.dumps(
            {
                "team_id": self.team_id,
                "resource_id": self.resource_id,
                "starts_at": start.isoformat(),
                "ends_at": (start + SLOT).isoformat(),
            }
        ).encode()


@dataclass
class World:
    week_space_id: int
    week_resource_ids: list[int]
    week_teams: list[tuple[int, int]]  # (team id, lead's user id)
    seats: list[Seat]
    event_seat: Seat
    listener_secret: str
    listener_rooms: list[str]  # the rooms the app records the listeners' connections under (presence)
    build_s: float = 0.0
    history: dict[str, Any] = field(default_factory=dict)


def database_url(backend: str, folder: Path, pg_url: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    with_schema = make_url(pg_url).update_query_dict(
        {"options": f"-csearch_path={SCHEMA}", "application_name": APPLICATION_NAME}
    )
    return with_schema.render_as_string(hide_password=False)


def drop_schema(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


def build(url: str, seats: int, week_resources: int, week_teams: int, stride: timedelta) -> World:
    """Two spaces: one whose week view is timed (resources, teams, and later a year of bookings), and one
    where the clients book (a team, user, token and resource each), plus a listener account."""
    started = time.perf_counter()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    cheap = hash_password("x", n=2**10)
    tomorrow = local_midnight(datetime.now(ZONE).date() + timedelta(days=1))
    with factory() as session:
        host = builders.get_or_create_user(session, "host@bench.example", "Bench host", password_hash=cheap)
        week = builders.get_or_create_space(session, "bench-week")
        book = builders.get_or_create_space(session, "bench-book")
        orgs = {}
        for space in (week, book):
            orgs[space.id] = org = builders.get_or_create_organization(
                session, space, "host", is_host=True, name_zh="测试研究院", name_en="Test institute"
            )
            builders.grant(session, host, space, "host_staff", org)

        def resource(space: Any, key: str, n: int) -> int:
            r = builders.get_or_create_resource(
                session,
                space,
                orgs[space.id],
                key,
                name_zh=f"测试仪器 {n}",
                name_en=f"Test instrument {n}",
                price_cny=120,
                tags=[],
            )
            session.add(
                Availability(
                    resource_id=r.id,
                    weekly_hours=OPEN_ALL_WEEK,
                    slot_minutes=30,
                    min_minutes=30,
                    max_minutes=480,
                    horizon_days=730,
                    units=1,
                )
            )
            return r.id

        def team(space: Any, key: str, n: int) -> tuple[Any, Any]:
            user = builders.get_or_create_user(
                session, f"{key}@bench.example", f"Bench founder {key}", password_hash=cheap
            )
            names = {"name_zh": f"测试团队 {n}", "name_en": f"Team {n}"}
            t = builders.get_or_create_team(session, space, key, lead=user, stage="incubator", **names)
            return t, user

        week_ids = [resource(week, f"w{i:04d}", i) for i in range(week_resources)]
        teams = [team(week, f"wt{i:03d}", i) for i in range(week_teams)]
        made = []
        for i in range(seats + 1):
            t, user = team(book, f"bt{i:03d}", i)
            r = resource(book, f"b{i:03d}", i)
            _, secret = accounts.create_token(session, user, "bench")
            made.append(Seat(t.id, r, secret, tomorrow, stride))
        listener = builders.get_or_create_user(
            session, "listener@bench.example", "Bench listener", password_hash=cheap
        )
        token, listener_secret = accounts.create_token(session, listener, "bench listener")
        session.commit()
        world = World(
            week_space_id=week.id,
            week_resource_ids=week_ids,
            week_teams=[(t.id, u.id) for t, u in teams],
            seats=made[:seats],
            event_seat=made[seats],
            listener_secret=listener_secret,
            listener_rooms=[rooms.user(listener.id), rooms.token(token.id)],
        )
    engine.dispose()
    world.build_s = time.perf_counter() - started
    return world


def history_rows(world: World, first_day: date, days: int, seed: int) -> Iterator[dict[str, Any]]:
    """2-6 bookings a day per resource (about 4), in distinct two-hour blocks between 08:00 and 20:00
    local time, 30-90 minutes long: never overlapping on one resource."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for resource_id in world.week_resource_ids:
        for d in range(days):
            eight = local_midnight(first_day + timedelta(days=d)) + timedelta(hours=8)
            for block in sorted(rng.sample(range(6), rng.randint(2, 6))):
                start = (eight + timedelta(hours=2 * block, minutes=30 * rng.randrange(2))).astimezone(UTC)
                end = start + timedelta(minutes=30 * rng.randint(1, 3))
                team_id, user_id = world.week_teams[rng.randrange(len(world.week_teams))]
                yield {
                    "resource_id": resource_id,
                    "unit": 1,
                    "team_id": team_id,
                    "booked_by_id": user_id,
                    "series_id": None,
                    "starts_at": start,
                    "ends_at": end,
                    "blocked_until": end,
                    "status": "completed" if end <= now else "confirmed",
                    "hold_expires_at": None,
                    "note": "",
                    "amount_cny": 0,
                    "free_minutes": 0,
                    "flagged_reason": None,
                    "decided_by_id": None,
                    "checked_in_at": None,
                    "checked_out_at": None,
                    "cancelled_at": None,
                    "cancel_reason": None,
                    "generated": True,
                    "created_at": min(start, now),
                    "updated_at": min(end, now),
                }


def load_history(url: str, world: World, days: int, seed: int, chunk: int = 5000) -> dict[str, Any]:
    first_day = datetime.now(ZONE).date() - timedelta(days=days // 2)
    engine = make_engine(url)
    table = Booking.__table__
    rows = 0
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in history_rows(world, first_day, days, seed):
            batch.append(row)
            if len(batch) == chunk:
                conn.execute(insert(table), batch)
                rows += len(batch)
                batch = []
        if batch:
            conn.execute(insert(table), batch)
            rows += len(batch)
    inserted = time.perf_counter() - started
    analyzed = engine.dialect.name == "postgresql"
    if analyzed:  # autovacuum would soon do the same after such a load; do it now, deterministically
        with engine.begin() as conn:
            conn.execute(text("ANALYZE bookings"))
    engine.dispose()
    world.history = {
        "rows": rows,
        "resources": len(world.week_resource_ids),
        "first_day": first_day.isoformat(),
        "days": days,
        "insert_s": round(inserted, 1),
        "analyzed": analyzed,
    }
    return world.history


# ---------------------------------------------------------------------------------------------- servers


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path


def start_server(
    url: str,
    folder: Path,
    name: str,
    redis_url: str | None,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """Start one app instance (in a session of its own, so a fault can kill it with all its children)
    and wait until it answers."""
    port = port or free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MATCHMAKER_INSTANCE_PATH": str(folder / name),
        "MATCHMAKER_SECRET_KEY": SECRET_KEY,
        "MATCHMAKER_RATELIMIT_STORAGE_URI": "memory://",
        "MATCHMAKER_LOGIN_RATE_LIMIT": "100000 per minute",
    }
    for inherited in ("SOCKETIO_MESSAGE_QUEUE", "MATCHMAKER_SOCKETIO_MESSAGE_QUEUE"):
        env.pop(inherited, None)
    if redis_url:
        env["SOCKETIO_MESSAGE_QUEUE"] = redis_url
    env.update(extra_env or {})
    log = folder / f"{name}.log"
    with log.open("ab") as out:  # the child keeps its own copy of the handle; a restart appends
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "web.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            status, _ = request("GET", base, "/api/v1/spaces", timeout=5)
            if status == 200:
                return Server(process, base, log)
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"server {name} did not start:\n{log.read_text()[-3000:]}")


@contextmanager
def servers(url: str, folder: Path, count: int, redis_url: str | None, label: str) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for i in range(count):
            started.append(start_server(url, folder, f"{label}-{i + 1}", redis_url))
        yield started
    finally:
        for s in started:
            s.process.terminate()
        for s in started:
            try:
                s.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                s.process.kill()
                s.process.wait()


def tracebacks(log: Path, most: int = 5) -> list[str]:
    """The distinct tracebacks in a server log (by their last line), each with the line before it."""
    lines = log.read_text(errors="replace").splitlines()
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last)"):
            continue
        end = i + 1
        while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
            end += 1
        if end < len(lines):  # the exception line itself
            end += 1
        excerpt = "\n".join(lines[max(0, i - 1) : end])
        found.setdefault(lines[end - 1], excerpt)
        if len(found) >= most:
            break
    return list(found.values())


def request(
    method: str,
    base: str,
    path: str,
    body: bytes | None = None,
    secret: str | None = None,
    timeout: float = 60,
) -> tuple[int, bytes]:
    """One HTTP request on a fresh connection (the server closes it after each answer)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------- throughput


def book_once(base: str, seat: Seat) -> tuple[int, bytes]:
    """POST one booking for the seat's next slot; the seat moves on whatever the answer."""
    return request("POST", base, "/api/v1/bookings", seat.next_body(), seat.secret)


class BackendWatch:
    """While a level runs, samples the PostgreSQL backends of the app's connections (by application
    name) every ``every`` seconds: how many distinct connections served it (pool churn shows as many
    more than the pools hold) and their CPU. A backend that came and went between two samples is missed,
    so the CPU is a lower bound."""

    def __init__(self, pg_url: str, every: float = 0.1) -> None:
        self.engine = make_engine(pg_url)
        self.every = every
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, conn: Any, initial: bool) -> None:
        query = text("SELECT pid FROM pg_stat_activity WHERE application_name = :name")
        for pid in conn.execute(query, {"name": APPLICATION_NAME}).scalars():
            cpu = process_cpu_s(pid)
            # A backend first seen after the start was (nearly always) born during the level.
            self.first.setdefault(pid, cpu if initial else 0.0)
            self.last[pid] = cpu

    def _run(self) -> None:
        with self.engine.connect() as conn:
            while not self._stop.wait(self.every):
                self._sample(conn, initial=False)
                conn.rollback()

    def __enter__(self) -> BackendWatch:
        with self.engine.connect() as conn:
            self._sample(conn, initial=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def figures(self, answered: int) -> dict[str, Any]:
        cpu = sum(self.last[pid] - self.first[pid] for pid in self.last)
        return {
            "database_connections_seen": len(self.last),
            "database_cpu_ms_per_request": round(cpu * 1000 / answered, 2) if answered else None,
        }


def throughput(
    running: list[Server], seats: list[Seat], clients: int, seconds: float, pg_url: str | None
) -> dict[str, Any]:
    """``clients`` threads, spread round-robin over the servers, each booking its own resource's next
    slot as fast as answers come, for ``seconds`` after two untimed warm-up bookings each. Also the CPU
    the servers, this client process, the app's database connections (PostgreSQL) and the whole
    machine used."""
    bases = [s.base for s in running]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[Counter[str]] = [Counter() for _ in range(clients)]
    samples: list[str] = []
    ready = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(i: int) -> None:
        seat, base = seats[i], bases[i % len(bases)]
        for _ in range(2):
            with suppress(OSError):
                book_once(base, seat)
        ready.wait()
        while time.perf_counter() < deadline[0]:
            started = time.perf_counter()
            try:
                status, payload = book_once(base, seat)
            except OSError as exc:
                statuses[i]["connection_error"] += 1
                if len(samples) < 5:
                    samples.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies[i].append((time.perf_counter() - started) * 1000)
            kind = (
                "201"
                if status == 201
                else "409"
                if status == 409
                else "5xx"
                if status >= 500
                else "other_4xx"
                if status >= 400
                else f"other_{status}"
            )
            statuses[i][kind] += 1
            if status != 201 and len(samples) < 5:
                samples.append(f"{status}: {payload[:300].decode(errors='replace')}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + 3600  # set for real once every client has warmed up
    ready.wait()
    watch = BackendWatch(pg_url) if pg_url else None
    if watch:
        watch.__enter__()
    server_cpu = server_cpu_s(running)
    client_cpu = time.process_time()
    busy, total = machine_cpu_s()
    started = time.perf_counter()
    deadline[0] = started + seconds
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if watch:
        watch.__exit__()
    server_cpu = server_cpu_s(running) - server_cpu
    client_cpu = time.process_time() - client_cpu
    busy_after, total_after = machine_cpu_s()
    busy, total = busy_after - busy, total_after - total
    counts: Counter[str] = Counter()
    for c in statuses:
        counts.update(c)
    every = [x for lat in latencies for x in lat]
    answered = len(every)
    database = watch.figures(answered) if watch else {}
    database_cpu = (database.get("database_cpu_ms_per_request") or 0.0) * answered / 1000
    return {
        "clients": clients,
        "processes": len(bases),
        "seconds": round(elapsed, 2),
        "requests": answered + counts["connection_error"],
        "requests_per_s": round(answered / elapsed, 1),
        "bookings_per_s": round(counts["201"] / elapsed, 1),
        "p50_ms": round(statistics.median(every), 1) if every else None,
        "p95_ms": round(percentile(every, 0.95), 1) if every else None,
        "max_ms": round(max(every), 1) if every else None,
        "status_201": counts["201"],
        "status_409": counts["409"],
        "status_other_4xx": counts["other_4xx"],
        "status_5xx": counts["5xx"],
        "connection_errors": counts["connection_error"],
        "server_cpu_ms_per_request": round(server_cpu * 1000 / answered, 2) if answered else None,
        "client_cpu_ms_per_request": round(client_cpu * 1000 / answered, 2) if answered else None,
        **database,
        "rest_of_machine_cpu_ms_per_request": (
            round(max(0.0, busy - server_cpu - client_cpu - database_cpu) * 1000 / answered, 2)
            if answered
            else None
        ),
        "machine_busy_percent": round(100 * busy / total, 1) if total else None,
        "other": {k: v for k, v in counts.items() if k.startswith("other_") and k != "other_4xx"},
        "error_samples": samples,
    }


def print_throughput(label: str, row: dict[str, Any]) -> None:
    print(
        f"  {label:<18} {row['clients']:>3} clients  {row['requests_per_s']:>7.1f} req/s  "
        f"{row['bookings_per_s']:>7.1f} bookings/s  p50 {row['p50_ms']:>7} ms  p95 {row['p95_ms']:>7} ms  "
        f"201:{row['status_201']} 409:{row['status_409']} 4xx:{row['status_other_4xx']} "
        f"5xx:{row['status_5xx']} conn-err:{row['connection_errors']}",
        flush=True,
    )
    database = (
        f"database {row['database_cpu_ms_per_request']} ({row['database_connections_seen']} connections), "
        if "database_cpu_ms_per_request" in row
        else ""
    )
    print(
        f"{'':<22}CPU ms per request: server {row['server_cpu_ms_per_request']}, "
        f"client {row['client_cpu_ms_per_request']}, {database}everything else on the machine "
        f"{row['rest_of_machine_cpu_ms_per_request']}; machine {row['machine_busy_percent']}% busy",
        flush=True,
    )
    for sample in row["error_samples"][:2]:
        print(f"      e.g. {sample[:200]}")


# ---------------------------------------------------------------------------------------------- events


class Listener:
    """A connected python-socketio client that notes when each booking_changed event arrives."""

    def __init__(self, resource_id: int) -> None:
        self.resource_id = resource_id
        self.client = socketio.Client(reconnection=False)
        self.arrived: dict[int, float] = {}
        self.client.on("booking_changed", self._on_booking)

    def _on_booking(self, payload: Any) -> None:
        at = time.monotonic()
        with suppress(KeyError, TypeError, ValueError):
            booking = payload["booking"]
            # Other deployments sharing the Redis queue publish on the same channel: keep only ours.
            if int(booking["resource_id"]) == self.resource_id:
                self.arrived.setdefault(int(booking["id"]), at)

    def open(self, base: str, secret: str) -> None:
        self.client.connect(base, auth={"token": secret}, transports=["websocket"], wait_timeout=30)
        ack = self.client.call("join", {"room": "resource", "id": self.resource_id}, timeout=30)
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise RuntimeError(f"join refused: {ack}")


def _close(crowd: list[Listener]) -> None:
    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(lambda x: x.client.disconnect(), crowd))


def listener_group(
    bases: list[str], secret: str, resource_id: int, count: int, offset: int, pipe: Any
) -> None:
    """In a child process: open ``count`` listeners (listener ``offset + i`` on base ``(offset + i) mod
    len(bases)``), then answer the parent: "wait" for a booking id, "collect" the arrivals, "close"."""
    crowd = [Listener(resource_id) for _ in range(count)]
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda i: crowd[i].open(bases[(offset + i) % len(bases)], secret), range(count)))
    except Exception as exc:  # the parent reports it and stops
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
        _close(crowd)
        return
    pipe.send(("ready", None))
    while True:
        command, booking_id = pipe.recv()
        if command == "wait":  # until every listener here has the booking, 5 s at most
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not all(booking_id in x.arrived for x in crowd):
                time.sleep(0.002)
            pipe.send(("waited", None))
        elif command == "collect":
            pipe.send(("arrived", [x.arrived for x in crowd]))
        else:
            break
    _close(crowd)
    pipe.send(("closed", None))


def _answer(pipe: Any, timeout: float = 120) -> tuple[str, Any]:
    if not pipe.poll(timeout):
        raise RuntimeError("a listener process did not answer")
    kind, value = pipe.recv()
    if kind == "error":
        raise RuntimeError(f"a listener process failed: {value}")
    return kind, value


def event_delay(
    bases: list[str], world: World, listeners: int, bookings: int, processes: int, gap: float = 0.1
) -> dict[str, Any]:
    """Listeners spread round-robin over ``bases``, in ``processes`` child processes (so the clients'
    own work is not serialised behind one interpreter lock); the bookings go to the first base. Times
    are CLOCK_MONOTONIC, the same clock in every process."""
    seat = world.event_seat
    context = multiprocessing.get_context("spawn")
    groups = max(1, min(processes, listeners))
    sizes = [listeners // groups + (1 if g < listeners % groups else 0) for g in range(groups)]
    children: list[tuple[Any, Any]] = []
    started = time.perf_counter()
    try:
        offset = 0
        for size in sizes:
            ours, theirs = context.Pipe()
            child = context.Process(
                target=listener_group,
                args=(bases, world.listener_secret, seat.resource_id, size, offset, theirs),
                daemon=True,
            )
            child.start()
            children.append((child, ours))
            offset += size
        for _, pipe in children:
            _answer(pipe)
        connected = time.perf_counter() - started
        book_once(bases[0], seat)  # warm-up, not counted
        sent: list[tuple[int, float, float]] = []
        refused = 0
        for _ in range(bookings):
            t_send = time.monotonic()
            status, payload = book_once(bases[0], seat)
            t_resp = time.monotonic()
            if status != 201:
                refused += 1
                continue
            booking_id = int(json.loads(payload)["id"])
            sent.append((booking_id, t_send, t_resp))
            for _, pipe in children:
                pipe.send(("wait", booking_id))
            for _, pipe in children:
                _answer(pipe)
            time.sleep(gap)
        arrived: list[dict[int, float]] = []
        for _, pipe in children:
            pipe.send(("collect", None))
        for _, pipe in children:
            arrived.extend(_answer(pipe)[1])
    finally:
        for _, pipe in children:
            with suppress(OSError):
                pipe.send(("close", None))
        for child, pipe in children:
            with suppress(OSError, RuntimeError):
                _answer(pipe, timeout=60)
            child.join(timeout=10)
            if child.is_alive():
                child.terminate()
    from_send: list[float] = []
    from_resp: list[float] = []
    spread: list[float] = []
    missing = 0
    for booking_id, t_send, t_resp in sent:
        times = [a[booking_id] for a in arrived if booking_id in a]
        missing += len(arrived) - len(times)
        from_send.extend((at - t_send) * 1000 for at in times)
        from_resp.extend(max(0.0, (at - t_resp) * 1000) for at in times)
        if times:
            spread.append((max(times) - min(times)) * 1000)

    def summary(values: list[float]) -> dict[str, float | None]:
        if not values:
            return {"p50_ms": None, "p95_ms": None, "max_ms": None}
        return {
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
            "max_ms": round(max(values), 1),
        }

    return {
        "listeners": listeners,
        "listener_processes": groups,
        "server_processes": len(bases),
        "connect_s": round(connected, 1),
        "bookings": len(sent),
        "refused": refused,
        "deliveries": len(from_send),
        "missing": missing,
        "send_to_receive": summary(from_send),
        "response_to_receive": summary(from_resp),
        "first_to_last_listener": summary(spread),
    }


def presence_left(redis_url: str, world: World, *, clear: bool) -> int:
    """How many connections the app still records (in Redis) for the listener's user and token; every
    listener has disconnected, so it should be none. ``clear`` then removes them: they are this run's
    own records (its database is dropped) and would otherwise wait out their 7-day expiry."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = [PRESENCE_KEY.format(room=room) for room in world.listener_rooms]
        left = sum(int(client.scard(key)) for key in keys)
        if clear:
            client.delete(*keys)
        return left
    finally:
        client.close()


def print_events(label: str, row: dict[str, Any]) -> None:
    s, r, f = row["send_to_receive"], row["response_to_receive"], row["first_to_last_listener"]
    print(
        f"  {label:<18} {row['listeners']} listeners, {row['bookings']} bookings, {row['deliveries']} "
        f"deliveries ({row['missing']} missing; connected in {row['connect_s']} s)\n"
        f"{'':<22}send→receive p50 {s['p50_ms']} ms  p95 {s['p95_ms']} ms  max {s['max_ms']} ms   "
        f"response→receive p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  max {r['max_ms']} ms\n"
        f"{'':<22}first to last listener, per booking: p50 {f['p50_ms']} ms  max {f['max_ms']} ms "
        f"({row['listener_processes']} listener processes)"
        + (
            f"\n{'':<22}presence records (Redis) left after all {row['listeners']} disconnected: "
            f"{row['presence_left_after_disconnect']} (should be 0; two per connection, user and token)"
            if "presence_left_after_disconnect" in row
            else ""
        ),
        flush=True,
    )


# ---------------------------------------------------------------------------------------------- week view


def week_view(base: str, world: World, requests: int) -> dict[str, Any]:
    """One untimed first request (the current week), then ``requests`` weeks spread over the year."""
    days = world.history.get("days", 7)
    first = date.fromisoformat(world.history.get("first_day", datetime.now(ZONE).date().isoformat()))
    # Whole weeks inside the loaded year: from the second week to the second last.
    early, late = first + timedelta(days=7), first + timedelta(days=max(7, days - 14))
    span = (late - early).days
    weeks = [early + timedelta(days=round(span * i / max(1, requests - 1))) for i in range(requests)]
    path = f"/api/v1/spaces/{world.week_space_id}/calendar?week="
    started = time.perf_counter()
    status, payload = request("GET", base, path + datetime.now(ZONE).date().isoformat())
    cold = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"week view answered {status}: {payload[:300]!r}")
    times, sizes, counts = [], [], []
    for week in weeks:
        started = time.perf_counter()
        status, payload = request("GET", base, path + week.isoformat())
        times.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"week view answered {status}: {payload[:300]!r}")
        found = json.loads(payload)
        sizes.append(len(payload))
        counts.append(sum(len(r["bookings"]) for r in found["resources"]))
    return {
        "requests": len(times),
        "first_request_s": round(cold, 3),
        "p50_s": round(statistics.median(times), 3),
        "p95_s": round(percentile(times, 0.95), 3),
        "max_s": round(max(times), 3),
        "resources": len(world.week_resource_ids),
        "bookings_per_week_mean": round(statistics.fmean(counts)),
        "response_kb_mean": round(statistics.fmean(sizes) / 1024),
    }


def print_week(label: str, row: dict[str, Any]) -> None:
    print(
        f"  {label:<18} {row['requests']} weeks: p50 {row['p50_s']:.3f} s  p95 {row['p95_s']:.3f} s  "
        f"max {row['max_s']:.3f} s  (first request {row['first_request_s']:.3f} s; "
        f"{row['resources']} resources, ~{row['bookings_per_week_mean']} bookings and "
        f"{row['response_kb_mean']} KB a week)",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------- run


def process_key(count: int) -> str:
    return f"{count}_process{'es' if count > 1 else ''}"


def run_backend(backend: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    print(f"\n== {backend} ==", flush=True)
    url = database_url(backend, folder, args.postgres_url)
    try:
        return measure_backend(backend, url, args, folder)
    finally:
        if backend == "postgresql" and not args.keep:
            drop_schema(args.postgres_url)


def measure_backend(backend: str, url: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    started = time.perf_counter()
    migrate.upgrade(url)
    print(f"schema migrated in {time.perf_counter() - started:.1f} s", flush=True)
    levels = [int(c) for c in args.clients.split(",")]
    stride = timedelta(minutes=args.stride_minutes)
    world = build(url, max(levels), args.week_resources, args.week_teams, stride)
    print(
        f"built {len(world.week_resource_ids)} week-view resources, {len(world.week_teams)} teams there, "
        f"{len(world.seats)} booking clients in {world.build_s:.1f} s",
        flush=True,
    )
    out["build_s"] = round(world.build_s, 1)
    if not args.skip_week:
        print(f"inserting {args.days} days of bookings for the week view ...", flush=True)
        history = load_history(url, world, args.days, args.seed)
        print(f"  {history['rows']} bookings inserted in {history['insert_s']} s", flush=True)
        out["history"] = history
    redis_url = args.redis_url if backend == "postgresql" else None
    # Several processes share the database through the Redis queue, which SQLite runs without.
    counts = [int(c) for c in args.processes.split(",")] if backend == "postgresql" else [1]
    for count in counts:
        key, label = process_key(count), f"{count} process{'es' if count > 1 else ''}"
        part: dict[str, Any] = {}
        with servers(url, folder, count, redis_url, f"{backend}-{count}") as running:
            bases = [s.base for s in running]
            queue = " + Redis queue" if redis_url else ""
            print(f"{label}{queue}:", flush=True)
            if not args.skip_throughput:
                rows = []
                for clients in levels:
                    pg = args.postgres_url if backend == "postgresql" else None
                    row = throughput(running, world.seats, clients, args.seconds, pg)
                    print_throughput(f"booking, {count}p", row)
                    rows.append(row)
                part["throughput"] = rows
            if not args.skip_events:
                if redis_url:
                    presence_left(redis_url, world, clear=True)  # start from none
                row = event_delay(bases, world, args.listeners, args.event_bookings, args.listener_processes)
                if redis_url:
                    time.sleep(2)  # the last disconnect handlers finish
                    row["presence_left_after_disconnect"] = presence_left(redis_url, world, clear=True)
                print_events(f"events, {count}p", row)
                part["events"] = row
            if not args.skip_week and count == counts[0]:
                row = week_view(bases[0], world, args.week_requests)
                print_week("week view", row)
                out["week_view"] = row
            # A server error shows in its log; keep its tracebacks (the first few of each kind).
            part["server_tracebacks"] = {s.log.name: tracebacks(s.log) for s in running if tracebacks(s.log)}
            for name, found in part["server_tracebacks"].items():
                print(f"  the log of {name} has {len(found)} kinds of traceback, ending:", flush=True)
                for excerpt in found:
                    print(f"      {excerpt.splitlines()[-1][:150]}", flush=True)
        out[key] = part
    return out


def targets(result: dict[str, Any], levels: list[int]) -> dict[str, Any]:
    verdicts: dict[str, Any] = {}
    pg = result["backends"].get("postgresql", {})
    for key in [k for k in pg if k.endswith(("_process", "_processes"))]:
        top = next((r for r in pg[key].get("throughput", []) if r["clients"] == 32), None)
        if top is not None:
            verdicts[f"postgresql_{key}_300_bookings_per_s_at_32_clients_no_5xx"] = (
                top["bookings_per_s"] >= TARGET_BOOKINGS_PER_S and top["status_5xx"] == 0
            )
    for backend, found in result["backends"].items():
        for key in [k for k in found if k.endswith(("_process", "_processes"))]:
            events = found.get(key, {}).get("events")
            if events and events["send_to_receive"]["p95_ms"] is not None:
                verdicts[f"{backend}_{key}_event_p95_under_100ms"] = (
                    events["send_to_receive"]["p95_ms"] < TARGET_EVENT_P95_MS and events["missing"] == 0
                )
        if "week_view" in found:
            verdicts[f"{backend}_week_view_p95_under_1s"] = found["week_view"]["p95_s"] < TARGET_WEEK_P95_S
    if 32 not in levels:
        verdicts["note"] = "32 clients not run: the throughput target was not checked"
    return verdicts


def run(args: argparse.Namespace) -> dict[str, Any]:
    ran_on = environment()
    result: dict[str, Any] = {"benchmark": "booking", **ran_on}
    result["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS", "unset")
    result["code"] = code_state(("matchmaker", "models", "web", "seeds"))
    result["load_average_before"] = ran_on["load_average_at_start"]
    print(
        f"{result['machine']} ({result['cpu']}), OMP_NUM_THREADS={result['omp_num_threads']}, "
        f"load average {result['load_average_before']}, calibration {ran_on['calibration']}",
        flush=True,
    )
    drivers = ran_on["drivers"]
    print(
        f"psycopg {ran_on['packages']['psycopg']} ({drivers['psycopg_impl']}, libpq {drivers.get('libpq')}), "
        f"SQLAlchemy {ran_on['packages']['sqlalchemy']} (compiled: {drivers['sqlalchemy_compiled']}), "
        f"optimized Python build: {ran_on['python']['optimized_build']}",
        flush=True,
    )
    slow = slow_paths(drivers)
    result["slow_paths"] = slow
    for reason in slow:
        print(f"SLOW PATH: {reason}", flush=True)
    if slow and not args.allow_slow_path:
        raise SystemExit(
            "the servers would run the slow path named above, and their figures would not compare with "
            "others'; fix the installation, or pass --allow-slow-path to measure it anyway"
        )
    if result["code"]["uncommitted_changes_in"]:
        print(f"measuring uncommitted code in {', '.join(result['code']['uncommitted_changes_in'])}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    result["options"] = {
        "backends": backends,
        "clients": args.clients,
        "seconds_per_level": args.seconds,
        "listeners": args.listeners,
        "event_bookings": args.event_bookings,
        "week_resources": args.week_resources,
        "days": args.days,
        "week_requests": args.week_requests,
        "quick": args.quick,
    }
    started = time.perf_counter()
    result["backends"] = {}
    with tempfile.TemporaryDirectory(prefix="bench-booking-") as tmp:
        for backend in backends:
            result["backends"][backend] = run_backend(backend, args, Path(tmp))
    result["total_s"] = round(time.perf_counter() - started, 1)
    result["load_average_after"] = load_average()
    result["targets"] = targets(result, [int(c) for c in args.clients.split(",")])
    print(f"\ntargets (on this machine, load average after: {result['load_average_after']}):")
    for name, met in result["targets"].items():
        print(f"  {name}: {met if isinstance(met, str) else ('met' if met else 'NOT met')}")
    print(f"total {result['total_s']:.0f} s")
    return result


def main() -> None:
    # A TERM (from ``kill`` or a timeout) unwinds like Ctrl+C, so the servers and services started are
    # stopped and removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="a small run for development")
    parser.add_argument("--clients", default="1,8,32", help="concurrent booking clients, per level")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per level")
    parser.add_argument(
        "--stride-minutes",
        type=int,
        default=360,
        help="minutes between one client's booked slots: 360 keeps its resource at 4 bookings a day, "
        "as busy as the week view's; 30 books back to back",
    )
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--event-bookings", type=int, default=20)
    parser.add_argument(
        "--listener-processes", type=int, default=4, help="child processes the listeners are spread over"
    )
    parser.add_argument("--week-resources", type=int, default=300)
    parser.add_argument("--week-teams", type=int, default=40)
    parser.add_argument("--days", type=int, default=365, help="days of bookings behind the week view")
    parser.add_argument("--week-requests", type=int, default=10)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-events", action="store_true")
    parser.add_argument("--skip-week", action="store_true")
    parser.add_argument(
        "--processes",
        default="1,2",
        help="app processes sharing PostgreSQL and the Redis queue, per configuration (SQLite: 1)",
    )
    parser.add_argument("--keep", action="store_true", help=f"keep the PostgreSQL schema {SCHEMA}")
    parser.add_argument("--postgres-url", default=PG_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", help="results file (default bench/results/booking.json)")
    parser.add_argument(
        "--allow-slow-path",
        action="store_true",
        help="measure even when psycopg or SQLAlchemy run their pure-Python implementations",
    )
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds, args.listeners, args.event_bookings = "1,8", 3.0, 20, 5
        args.week_resources, args.days, args.week_requests = 40, 60, 4
    result = run(args)
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / "booking.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
