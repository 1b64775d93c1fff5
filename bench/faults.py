"""Fault script: what bookings survive when an app instance, Redis or PostgreSQL goes away under load.

Runs on one machine, against a PostgreSQL and a Redis of its own (created in a temporary folder on
ports of their own, faulted, and removed at the end; the shared services are never touched), with two
app instances serving the real HTTP API, and prints one table:

    python bench/faults.py [--only kill,redis,postgres] [--clients 8] [--seconds 4]
                           [--pg-port 55432] [--redis-port 56379] [--listeners 10]

1. kill: booking clients spread over both instances, each request with an ``Idempotency-Key``; one
   instance gets ``kill -9`` (with all its children) mid-load; a client whose request failed retries
   it, with the same key, on the other instance (as a load balancer would), and the killed instance
   is started again on its port. Then: every 201 a client received is in the database, no two active
   bookings overlap, no key booked twice (every answer to a key names one booking, and the database
   holds exactly the bookings that were answered), and each key answered by the killed instance before
   it died, sent again to the restarted one, gets the original answer (same booking, replayed).
2. redis: live listeners (python-socketio, reconnecting) follow one resource on instance B while
   clients book on instance A; Redis is stopped for ``--seconds`` and started again. Counted: 5xx and
   connection errors while it was down, how long after it came back a new booking's event reached
   every listener, the events lost meanwhile, and whether a listener that reconnects and reads the
   calendar sees every booking made during the outage.
3. postgres: PostgreSQL restarts (``pg_ctl restart -m fast``) under booking load. Counted: 5xx and
   connection errors, the time from the restart until the first booking succeeds again and until
   every client has booked again, and that every 201 is in the database afterwards.

Bounded: every loop has a deadline, everything listens on 127.0.0.1 only, and the script stops by
itself. Results go to bench/results/faults.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import socketio
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.booking import (  # noqa: E402
    Seat,
    Server,
    World,
    build,
    start_server,
)
from bench.measure import code_state, environment  # noqa: E402
from models import migrate  # noqa: E402
from models.database import make_engine  # noqa: E402

PG_BIN = Path(os.environ.get("MATCHMAKER_PG_BIN", "/usr/lib/postgresql/15/bin"))
APPLICATION_NAME = "bench_faults_app"
ACTIVE = ("confirmed", "pending", "held", "checked_in")


# ---------------------------------------------------------------------------------------------- services


def _as_postgres_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` account then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temporary folder, on 127.0.0.1:``port`` only."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, timeout: float = 120) -> None:
        subprocess.run(  # noqa: S603
            _as_postgres_user([str(PG_BIN / argv[0]), *argv[1:]]),
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def _options(self) -> str:
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log), "-w", "start")

    def restart(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log), "-m", "fast", "-w",
            "restart",
        )  # fmt: skip

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with suppress(subprocess.SubprocessError, OSError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """A throw-away Redis without persistence on 127.0.0.1:``port``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="faults-redis-"))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(  # noqa: S603
            [  # noqa: S607
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "yes", "--dir", str(self.folder),
                "--pidfile", str(self.folder / "redis.pid"), "--logfile", str(self.folder / "redis.log"),
            ],
            check=True,
            timeout=30,
        )  # fmt: skip
        self._wait(up=True)

    def stop(self) -> None:
        with suppress(subprocess.SubprocessError, OSError):
            subprocess.run(  # noqa: S603
                ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],  # noqa: S607
                timeout=30,
                capture_output=True,
            )
        self._wait(up=False)

    def _wait(self, up: bool, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            answered = subprocess.run(  # noqa: S603
                ["redis-cli", "-p", str(self.port), "ping"],  # noqa: S607
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            if (answered == "PONG") == up:
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis on port {self.port} did not {'start' if up else 'stop'}")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def kill_instance(server: Server) -> None:
    """``kill -9`` of the instance and every process it started (it runs in a session of its own)."""
    with suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)


def stop_instance(server: Server) -> None:
    with suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kill_instance(server)


# ---------------------------------------------------------------------------------------------- clients


def post(
    base: str, path: str, body: bytes, secret: str, key: str | None, timeout: float = 30
) -> tuple[int, bytes, bool]:
    """One POST on a fresh connection: (status, body, whether the server said it replayed the answer)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {secret}",
    }
    if key:
        headers["Idempotency-Key"] = key
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Idempotent-Replayed") == "true"
    finally:
        conn.close()


def get(base: str, path: str, secret: str, timeout: float = 30) -> tuple[int, bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": "application/json", "Authorization": f"Bearer {secret}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Answer:
    key: str
    base: str
    status: int | None  # None: no answer (connection refused, or cut mid-request)
    refused: bool  # no answer because nothing listened: the request never reached an app
    booking_id: int | None
    replayed: bool
    at: float  # monotonic time of the answer


@dataclass
class Load:
    """Booking clients, one per seat, each POSTing its seat's next slot with a fresh Idempotency-Key
    and, when a request gets no answer or a 5xx, sending it again with the same key (to the next
    instance in its list) until answered or ``give_up_s`` passes. Every answer is recorded."""

    seats: list[Seat]
    bases: list[list[str]]  # per client, the instances it tries in turn
    tag: str
    retry: bool = True
    give_up_s: float = 60.0
    answers: list[Answer] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # keys still without a final answer
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _client(self, i: int) -> None:
        seat, bases = self.seats[i], self.bases[i]
        n = 0
        while not self._stop.is_set():
            n += 1
            key, body, turn = f"{self.tag}-{i}-{n}", seat.next_body(), 0
            deadline = time.monotonic() + self.give_up_s
            while time.monotonic() < deadline:
                base = bases[turn % len(bases)]
                refused = False
                try:
                    status, payload, replayed = post(base, "/api/v1/bookings", body, seat.secret, key)
                except OSError as exc:
                    status, payload, replayed = None, b"", False
                    refused = isinstance(exc, ConnectionRefusedError)
                booking_id = None
                if status in (200, 201):
                    with suppress(ValueError, KeyError, TypeError):
                        booking_id = int(json.loads(payload)["id"])
                with self._lock:
                    self.answers.append(
                        Answer(key, base, status, refused, booking_id, replayed, time.monotonic())
                    )
                if status is not None and status < 500:
                    break
                if not self.retry:
                    break
                turn += 1
                time.sleep(0.05)  # a client's back-off, not a wait for the server's state
            else:
                with self._lock:
                    self.unanswered.append(key)

    def start(self) -> Load:
        self._threads = [
            threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(len(self.seats))
        ]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.give_up_s + 30)

    def count(self, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        c: Counter[str] = Counter()
        for a in self.answers:
            if since <= a.at < until:
                c[_kind(a.status)] += 1
        return c

    def booked(self) -> dict[str, set[int]]:
        """Every key that got a booking, with every booking id its answers named."""
        out: dict[str, set[int]] = {}
        for a in self.answers:
            if a.booking_id is not None:
                out.setdefault(a.key, set()).add(a.booking_id)
        return out


def _kind(status: int | None) -> str:
    if status is None:
        return "no_answer"
    if status in (200, 201):
        return "booked"
    if status == 409:
        return "409"
    if status >= 500:
        return "5xx"
    return "other_4xx"


def wait_until(condition: Callable[[], bool], seconds: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


# ---------------------------------------------------------------------------------------------- checks


def database_check(pg_url: str, seats: list[Seat], booked: dict[str, set[int]]) -> dict[str, Any]:
    """What the database holds for the seats' resources against what the clients were told."""
    resources = sorted({s.resource_id for s in seats})
    told = {i for ids in booked.values() for i in ids}
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, status FROM bookings WHERE resource_id = ANY(:r)"), {"r": resources}
            ).all()
            overlaps = conn.execute(
                text(
                    "SELECT count(*) FROM bookings a JOIN bookings b ON a.resource_id = b.resource_id "
                    "AND a.unit = b.unit AND a.id < b.id "
                    "AND tstzrange(a.starts_at, a.blocked_until) && tstzrange(b.starts_at, b.blocked_until) "
                    "WHERE a.resource_id = ANY(:r) AND a.status = ANY(:s) AND b.status = ANY(:s)"
                ),
                {"r": resources, "s": list(ACTIVE)},
            ).scalar_one()
    finally:
        engine.dispose()
    stored = {int(r.id): str(r.status) for r in rows}
    return {
        "confirmed_to_clients": len(told),
        "found_after": sum(1 for i in told if stored.get(i) in ACTIVE),
        "lost": sorted(i for i in told if stored.get(i) not in ACTIVE)[:20],
        "keys_naming_two_bookings": sum(1 for ids in booked.values() if len(ids) > 1),
        "stored_but_never_answered": len(set(stored) - told),
        "overlapping_pairs": int(overlaps),
    }


# ---------------------------------------------------------------------------------------------- faults


@dataclass
class Rig:
    pg: PrivatePostgres
    redis: PrivateRedis
    folder: Path
    app_url: str
    world: World
    seat_cursor: int = 0

    def seats(self, n: int) -> list[Seat]:
        """``n`` seats no earlier fault used (each fault books its own resources)."""
        picked = self.world.seats[self.seat_cursor : self.seat_cursor + n]
        if len(picked) < n:
            raise RuntimeError("not enough seats built for the faults asked for")
        self.seat_cursor += n
        return picked

    def instance(self, name: str, port: int | None = None) -> Server:
        return start_server(
            self.app_url,
            self.folder,
            name,
            self.redis.url,
            port=port,
            extra_env={"MATCHMAKER_REDIS_URL": self.redis.url, "MATCHMAKER_SWEEP_SECONDS": "0"},
        )


@contextmanager
def instances(rig: Rig, *names: str) -> Iterator[list[Server]]:
    running: list[Server] = []
    try:
        for name in names:
            running.append(rig.instance(name))
        yield running
    finally:
        for s in running:
            stop_instance(s)


def fault_kill(rig: Rig, args: argparse.Namespace) -> dict[str, Any]:
    seats = rig.seats(args.clients)
    with instances(rig, "kill-a", "kill-b") as (a, b):
        port_a = int(urlsplit(a.base).port or 0)
        order = [[a.base, b.base] if i % 2 == 0 else [b.base, a.base] for i in range(len(seats))]
        load = Load(seats, order, "kill").start()
        wait_until(lambda: load.count()["booked"] >= 20, args.seconds * 5)
        killed_at = time.monotonic()
        kill_instance(a)
        wait_until(lambda: load.count(since=killed_at)["booked"] >= 20, args.seconds * 5)
        time.sleep(args.seconds)  # load runs on the survivor for a while
        restarted = rig.instance("kill-a", port=port_a)
        a.process = restarted.process  # so the context stops the new one
        back_at = time.monotonic()
        time.sleep(args.seconds)
        load.stop()
        before_kill = [x for x in load.answers if x.base == a.base and x.status == 201 and x.at < killed_at]
        # The same requests again, same keys, to the restarted instance: each should get its first answer.
        by_key = {x.key: x for x in before_kill}
        bodies = _bodies_by_key(seats, load)
        same = 0
        replays = 0
        for key, first in list(by_key.items())[: args.replays]:
            seat, body = bodies[key]
            status, payload, replayed = post(restarted.base, "/api/v1/bookings", body, seat.secret, key)
            replays += 1
            if status == 201 and replayed and int(json.loads(payload)["id"]) == first.booking_id:
                same += 1
        checked = database_check(rig.pg.url, seats, load.booked())
    cut = {x.key for x in load.answers if x.status is None and not x.refused}
    # A cut request that the killed instance had committed: its retry must be a replay of that booking.
    cut_replayed = {x.key for x in load.answers if x.key in cut and x.replayed}
    return {
        "fault": "kill -9 of one of two app instances",
        "answers": dict(load.count()),
        "requests_cut_by_the_kill": len(cut),
        "cut_requests_committed_before_the_kill_and_replayed": len(cut_replayed),
        "requests_refused_while_down": sum(1 for x in load.answers if x.refused),
        "keys_without_final_answer": len(load.unanswered),
        "5xx": load.count()["5xx"],
        "instance_down_s": round(back_at - killed_at, 2),
        "retried_after_restart": replays,
        "retries_given_the_original_answer": same,
        **checked,
    }


def _bodies_by_key(seats: list[Seat], load: Load) -> dict[str, tuple[Seat, bytes]]:
    """Rebuild each key's request body: key ``tag-i-n`` is seat i's n-th slot."""
    out: dict[str, tuple[Seat, bytes]] = {}
    for x in load.answers:
        _, i, n = x.key.rsplit("-", 2)
        seat = seats[int(i)]
        replay = Seat(seat.team_id, seat.resource_id, seat.secret, seat.origin, seat.stride, made=int(n) - 1)
        out[x.key] = (seat, replay.next_body())
    return out


class Follower:
    """A live Socket.IO client that reconnects by itself and re-joins its resource's room on every
    connect (as the pages do), noting each booking_changed event and each disconnect."""

    def __init__(self, base: str, secret: str, resource_id: int) -> None:
        self.base, self.secret, self.resource_id = base, secret, resource_id
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        self.seen: set[int] = set()
        self.disconnects = 0
        self.joined = threading.Event()
        self.resyncs = 0
        self.client.on("booking_changed", self._on_booking)
        self.client.on("resync", self._on_resync)
        self.client.on("connect", self._on_connect)
        self.client.on("disconnect", self._on_disconnect)

    def _on_connect(self) -> None:
        threading.Thread(target=self._join, daemon=True).start()

    def _join(self) -> None:
        with suppress(Exception):
            ack = self.client.call("join", {"room": "resource", "id": self.resource_id}, timeout=10)
            if isinstance(ack, dict) and ack.get("ok"):
                self.joined.set()

    def _on_disconnect(self, *_: Any) -> None:
        self.disconnects += 1
        self.joined.clear()

    def _on_booking(self, payload: Any) -> None:
        with suppress(KeyError, TypeError, ValueError):
            self.seen.add(int(payload["booking"]["id"]))

    def _on_resync(self, *_: Any) -> None:
        """What the pages do when the server says they may have missed events: read again."""
        self.resyncs += 1
        threading.Thread(target=lambda: self.seen.update(self.calendar_ids()), daemon=True).start()

    def open(self) -> None:
        self.client.connect(self.base, auth={"token": self.secret}, transports=["websocket"], wait_timeout=30)
        if not self.joined.wait(30):
            raise RuntimeError("a listener could not join its room")

    def calendar_ids(self) -> set[int]:
        """What a reconnecting page reads: the resource's calendar, over HTTP."""
        start = datetime.now(UTC).replace(microsecond=0)
        window = f"start={quote(start.isoformat())}&end={quote((start + timedelta(days=42)).isoformat())}"
        status, payload = get(
            self.base, f"/api/v1/resources/{self.resource_id}/calendar?{window}", self.secret
        )
        if status != 200:
            return set()
        return {int(b["id"]) for b in json.loads(payload).get("bookings", []) if "id" in b}


def fault_redis(rig: Rig, args: argparse.Namespace) -> dict[str, Any]:
    seats = rig.seats(args.clients)
    watched = rig.world.event_seat
    with instances(rig, "redis-a", "redis-b") as (a, b):
        followers = [
            Follower(b.base, rig.world.listener_secret, watched.resource_id) for _ in range(args.listeners)
        ]
        for f in followers:
            f.open()

        watched_booked: dict[str, set[int]] = {}

        def book_watched(key: str) -> int | None:
            try:
                status, payload, _ = post(
                    a.base, "/api/v1/bookings", watched.next_body(), watched.secret, key
                )
            except OSError:
                return None
            if status != 201:
                return None
            made = int(json.loads(payload)["id"])
            watched_booked[key] = {made}
            return made

        first = book_watched("redis-watched-0")
        before_ok = first is not None and wait_until(lambda: all(first in f.seen for f in followers), 10)
        load = Load(seats, [[a.base] for _ in seats], "redis", retry=False).start()
        wait_until(lambda: load.count()["booked"] >= 10, args.seconds * 5)
        down_at = time.monotonic()
        rig.redis.stop()
        during: list[int] = []
        deadline = time.monotonic() + args.seconds
        n = 0
        while time.monotonic() < deadline:
            n += 1
            made = book_watched(f"redis-watched-down-{n}")
            if made is not None:
                during.append(made)
            time.sleep(0.2)
        rig.redis.start()
        up_at = time.monotonic()
        down = load.count(since=down_at, until=up_at)
        # Events flow again when a fresh booking reaches every listener; book one every half second.
        flowing_after = None
        probe_deadline = time.monotonic() + 60
        while time.monotonic() < probe_deadline:
            n += 1
            made = book_watched(f"redis-watched-up-{n}")
            if made is not None and wait_until(lambda m=made: all(m in f.seen for f in followers), 0.5):
                flowing_after = time.monotonic() - up_at
                break
        load.stop()
        checked = database_check(rig.pg.url, [*seats, watched], {**load.booked(), **watched_booked})
        # The listeners catch up by reading again when the server asks them to resync.
        wait_until(lambda: all(set(during) <= f.seen for f in followers), 10)
        missed = sum(1 for f in followers for i in during if i not in f.seen)
        resynced = sum(1 for f in followers if f.resyncs)
        caught_up = sum(1 for f in followers if set(during) <= f.calendar_ids())
        disconnects = sum(f.disconnects for f in followers)
        for f in followers:
            with suppress(Exception):
                f.client.disconnect()
    return {
        "fault": "Redis stopped and started again",
        "events_before": "reached every listener" if before_ok else "did NOT reach every listener",
        "down_s": round(up_at - down_at, 2),
        "answers_while_down": dict(down),
        "5xx": load.count()["5xx"],
        "no_answer": load.count()["no_answer"],
        "bookings_while_down_on_watched_resource": len(during),
        "listeners_told_to_resync": f"{resynced}/{len(followers)}",
        "events_missed_by_live_listeners_after_resync": missed,
        "listener_disconnects": disconnects,
        "events_flow_again_after_s": round(flowing_after, 2) if flowing_after is not None else None,
        "listeners_whose_calendar_read_shows_every_booking_made_while_down": f"{caught_up}/{len(followers)}",
        **checked,
    }


def fault_postgres(rig: Rig, args: argparse.Namespace) -> dict[str, Any]:
    seats = rig.seats(args.clients)
    with instances(rig, "pg-a", "pg-b") as (a, b):
        order = [[a.base, b.base] if i % 2 == 0 else [b.base, a.base] for i in range(len(seats))]
        load = Load(seats, order, "pg").start()
        wait_until(lambda: load.count()["booked"] >= 20, args.seconds * 5)
        started = time.monotonic()
        rig.pg.restart()
        accepting = time.monotonic()
        wait_until(lambda: load.count(since=accepting)["booked"] >= 1, 60)
        first_after = [x.at for x in load.answers if x.status == 201 and x.at >= accepting]

        def every_client_booked() -> bool:
            done = {x.key.rsplit("-", 1)[0] for x in load.answers if x.status == 201 and x.at >= accepting}
            return len(done) == len(seats)

        wait_until(every_client_booked, 60)
        all_back = time.monotonic()
        time.sleep(args.seconds)
        load.stop()
        checked = database_check(rig.pg.url, seats, load.booked())
        around = load.count(since=started, until=all_back)
    return {
        "fault": "PostgreSQL restarted (pg_ctl restart -m fast)",
        "restart_s": round(accepting - started, 2),
        "answers_around_restart": dict(around),
        "5xx": load.count()["5xx"],
        "5xx_while_down": load.count(since=started, until=accepting)["5xx"],
        "5xx_after_it_accepted_connections_again": load.count(since=accepting)["5xx"],
        "no_answer": load.count()["no_answer"],
        "first_booking_after_s": round(min(first_after) - accepting, 2) if first_after else None,
        "every_client_booked_again_after_s": round(all_back - accepting, 2)
        if every_client_booked()
        else None,
        "keys_without_final_answer": len(load.unanswered),
        **checked,
    }


FAULTS = {"kill": fault_kill, "redis": fault_redis, "postgres": fault_postgres}


# ---------------------------------------------------------------------------------------------- run


def print_table(rows: dict[str, dict[str, Any]]) -> None:
    print(
        "\n| fault | bookings confirmed | found after | keys booked twice / rows never answered | overlaps "
        "| 5xx | recovery |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, r in rows.items():
        if "error" in r:
            print(f"| {name} | failed: {r['error'][:80]} | | | | | |")
            continue
        if name == "kill":
            recovery = (
                f"{r['requests_cut_by_the_kill']} requests cut mid-way "
                f"({r['cut_requests_committed_before_the_kill_and_replayed']} committed: replayed), "
                f"{r['keys_without_final_answer']} left unanswered; "
                f"{r['retries_given_the_original_answer']}/{r['retried_after_restart']} retries after "
                "restart got the original answer"
            )
        elif name == "redis":
            recovery = (
                f"down {r['down_s']} s; events flow again {r['events_flow_again_after_s']} s after; "
                f"listeners told to resync: {r['listeners_told_to_resync']}; "
                f"{r['events_missed_by_live_listeners_after_resync']} events still missed after it; "
                "calendar read shows all: "
                f"{r['listeners_whose_calendar_read_shows_every_booking_made_while_down']}"
            )
        else:
            recovery = (
                f"restart {r['restart_s']} s; first booking {r['first_booking_after_s']} s after, "
                f"every client {r['every_client_booked_again_after_s']} s after"
            )
        confirmed = r.get("confirmed_to_clients", r.get("answers_while_down", {}).get("booked", "-"))
        duplicates = f"{r.get('keys_naming_two_bookings', '-')} / {r.get('stored_but_never_answered', '-')}"
        print(
            f"| {name} | {confirmed} | {r.get('found_after', '-')} | {duplicates} | "
            f"{r.get('overlapping_pairs', '-')} | {r['5xx']} | {recovery} |"
        )


def main() -> None:
    # A TERM (from ``kill`` or a timeout) unwinds like Ctrl+C, so the servers and services started are
    # stopped and removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(FAULTS), help="faults to run, comma-separated")
    parser.add_argument("--clients", type=int, default=8, help="booking clients per fault")
    parser.add_argument("--seconds", type=float, default=4.0, help="how long each phase of a fault lasts")
    parser.add_argument("--listeners", type=int, default=10, help="live Socket.IO listeners (redis fault)")
    parser.add_argument("--replays", type=int, default=20, help="keys sent again after the kill's restart")
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--redis-port", type=int, default=56379)
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in FAULTS]
    if unknown:
        parser.error(f"unknown faults {unknown}; choose from {list(FAULTS)}")
    result: dict[str, Any] = {"benchmark": "faults", **environment()}
    result["code"] = code_state(("matchmaker", "models", "web", "seeds"))
    print(
        f"{result['machine']} ({result['cpu']}), load average {result['load_average_at_start']}", flush=True
    )
    pg, redis = PrivatePostgres(args.pg_port), PrivateRedis(args.redis_port)
    folder = Path(tempfile.mkdtemp(prefix="faults-app-"))
    rows: dict[str, dict[str, Any]] = {}
    try:
        pg.create()
        redis.start()
        app_url = f"{pg.url}?application_name={APPLICATION_NAME}"
        migrate.upgrade(pg.url)
        world = build(pg.url, args.clients * len(chosen), 1, 1, timedelta(minutes=360))
        rig = Rig(pg, redis, folder, app_url, world)
        for name in chosen:
            print(f"\n== {name} ==", flush=True)
            try:
                rows[name] = FAULTS[name](rig, args)
            except Exception as exc:  # report it in the table and go on with the next fault
                rows[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(rows[name], indent=2), flush=True)
    finally:
        redis.remove()
        pg.remove()
        shutil.rmtree(folder, ignore_errors=True)
    result["faults"] = rows
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print_table(rows)
    out = ROOT / "bench" / "results" / "faults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
