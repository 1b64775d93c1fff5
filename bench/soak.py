"""Soak: mixed traffic at a fixed rate for a long while, watching that memory, connections and latency
stay flat.

    python bench/soak.py [--minutes 30] [--rate 20] [--clients 8] [--sample-seconds 10]
                         [--pg-port 55433] [--redis-port 56380] [--instances 1]

Runs against a PostgreSQL and a Redis of its own (as ``bench/faults.py`` does: created in a temporary
folder on ports of their own and removed at the end) and ``--instances`` app instances started the
production way (``matchmaker serve``). A dispatcher sends ``--rate`` requests a second, spread over
the instances, in a fixed mix: 40% bookings (each client its own resource, next free slot, with an
Idempotency-Key), 25% a resource's calendar, 20% the catalogue, 15% cancels of an earlier booking.
Every ``--sample-seconds`` it samples each instance's resident memory (every process of it) and the
app's PostgreSQL connections (``pg_stat_activity``, by application name); per minute it reports the
latency p50/p95 and the answers by kind. At the end it says whether each stayed flat: memory within
10% (and 30 MB) of the second minute's, connections never above the pools' bound, p95 of the last
five minutes within 1.5x of the first five (after the first minute, which warms up), and no 5xx.
Results go to bench/results/soak.json and a line a minute is printed as it goes.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.booking import Seat, Server, build, process_tree, start_server  # noqa: E402
from bench.faults import PrivatePostgres, PrivateRedis, get, post, stop_instance  # noqa: E402
from bench.measure import code_state, environment, percentile  # noqa: E402
from models import migrate  # noqa: E402
from models.database import make_engine  # noqa: E402

APPLICATION_NAME = "bench_soak_app"
MIX = (("book", 40), ("calendar", 25), ("catalogue", 20), ("cancel", 15))
POOL_BOUND_PER_INSTANCE = 40  # pool_size 20 + max_overflow 20 (models/database.py)


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and every descendant (gunicorn's master and its worker), in KiB."""
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


@dataclass
class Traffic:
    seats: list[Seat]
    bases: list[str]
    public_secret: str
    rate: float
    clients: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    made: dict[int, list[int]] = field(default_factory=dict)  # seat index -> booking ids not cancelled
    records: list[tuple[float, str, str, float]] = field(default_factory=list)  # (at, op, kind, ms)
    backlog_max: int = 0
    seat_locks: list[threading.Lock] = field(default_factory=list)
    counter: int = 0

    def __post_init__(self) -> None:
        self.seat_locks = [threading.Lock() for _ in self.seats]

    def one(self, op: str, rng: random.Random) -> None:
        i = rng.randrange(len(self.seats))
        seat, base = self.seats[i], self.bases[i % len(self.bases)]
        started = time.perf_counter()
        status: int | None
        try:
            if op == "book":
                with self.seat_locks[i]:  # a seat's slots go in order; its requests never overlap
                    body = seat.next_body()
                    with self.lock:
                        self.counter += 1
                        key = f"soak-{self.counter}"
                    status, payload, _ = post(base, "/api/v1/bookings", body, seat.secret, key)
                    if status == 201:
                        with self.lock:
                            self.made.setdefault(i, []).append(int(json.loads(payload)["id"]))
            elif op == "cancel":
                with self.lock:
                    mine = self.made.get(i) or []
                    booking_id = mine.pop(0) if mine else None
                if booking_id is None:
                    status, _ = get(base, "/api/v1/resources?limit=20", self.public_secret)
                    op = "catalogue"
                else:
                    status, _, _ = post(
                        base, f"/api/v1/bookings/{booking_id}/cancel", b"{}", seat.secret, None
                    )
            elif op == "calendar":
                start = datetime.now(UTC).replace(microsecond=0)
                window = (
                    f"start={quote(start.isoformat())}&end={quote((start + timedelta(days=7)).isoformat())}"
                )
                status, _ = get(base, f"/api/v1/resources/{seat.resource_id}/calendar?{window}", seat.secret)
            else:
                status, _ = get(base, "/api/v1/resources?limit=20", self.public_secret)
        except OSError:
            status = None
        ms = (time.perf_counter() - started) * 1000
        kind = (
            "no_answer"
            if status is None
            else "2xx"
            if 200 <= status < 300
            else "409"
            if status == 409
            else "5xx"
            if status >= 500
            else "other_4xx"
        )
        with self.lock:
            self.records.append((time.monotonic(), op, kind, ms))

    def run(self, seconds: float, seed: int = 11) -> None:
        """A dispatcher hands out one operation every 1/rate seconds to ``clients`` worker threads."""
        work: queue.Queue[str | None] = queue.Queue()
        ops = [op for op, weight in MIX for _ in range(weight)]
        rng = random.Random(seed)

        def worker(n: int) -> None:
            mine = random.Random(seed * 1000 + n)
            while (op := work.get()) is not None:
                self.one(op, mine)

        threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(self.clients)]
        for t in threads:
            t.start()
        started = time.monotonic()
        sent = 0
        while (now := time.monotonic()) < started + seconds:
            due = int((now - started) * self.rate)
            while sent < due:
                work.put(rng.choice(ops))
                sent += 1
            self.backlog_max = max(self.backlog_max, work.qsize())
            time.sleep(min(0.01, 1 / self.rate))
        for _ in threads:
            work.put(None)
        for t in threads:
            t.join(timeout=120)


def sampler(
    running: list[Server], pg_url: str, every: float, stop: threading.Event, out: list[dict[str, Any]]
) -> None:
    engine = make_engine(pg_url)
    started = time.monotonic()
    try:
        with engine.connect() as conn:
            while not stop.wait(every):
                connections = int(
                    conn.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"),
                        {"n": APPLICATION_NAME},
                    ).scalar_one()
                )
                conn.rollback()
                out.append(
                    {
                        "t_s": round(time.monotonic() - started, 1),
                        "rss_mb": [round(tree_rss_kb(s.process.pid) / 1024, 1) for s in running],
                        "db_connections": connections,
                        "load_average": [round(x, 2) for x in os.getloadavg()],
                    }
                )
    finally:
        engine.dispose()


def per_minute(records: list[tuple[float, str, str, float]], started: float) -> list[dict[str, Any]]:
    minutes: dict[int, list[tuple[str, str, float]]] = {}
    for at, op, kind, ms in records:
        minutes.setdefault(int((at - started) // 60), []).append((op, kind, ms))
    rows = []
    for minute in sorted(minutes):
        batch = minutes[minute]
        times = [ms for _, _, ms in batch]
        rows.append(
            {
                "minute": minute + 1,
                "requests": len(batch),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "answers": dict(Counter(kind for _, kind, _ in batch)),
                "by_operation": dict(Counter(op for op, _, _ in batch)),
            }
        )
    return rows


def verdicts(minutes: list[dict[str, Any]], samples: list[dict[str, Any]], instances: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if samples:
        # The second minute's memory is the baseline: the first includes imports and warm-up.
        base = [s for s in samples if 60 <= s["t_s"] < 120] or samples[:1]
        last = samples[-max(1, len(samples) // 10) :]
        start_mb = statistics.median(sum(s["rss_mb"]) for s in base)
        end_mb = statistics.median(sum(s["rss_mb"]) for s in last)
        growth = end_mb - start_mb
        out["rss_mb_second_minute_to_end"] = [round(start_mb, 1), round(end_mb, 1)]
        out["rss_flat"] = growth <= max(30.0, 0.10 * start_mb)
        most = max(s["db_connections"] for s in samples)
        out["db_connections_min_max"] = [min(s["db_connections"] for s in samples), most]
        out["db_connections_bounded"] = most <= POOL_BOUND_PER_INSTANCE * instances
    if len(minutes) >= 3:
        body = minutes[1:]
        head, tail = body[: min(5, len(body) // 2)], body[-min(5, len(body) // 2) :]
        first = statistics.median(m["p95_ms"] for m in head)
        final = statistics.median(m["p95_ms"] for m in tail)
        out["p95_ms_first_to_last_minutes"] = [first, final]
        out["latency_flat"] = final <= 1.5 * first
    out["no_5xx"] = sum(m["answers"].get("5xx", 0) for m in minutes) == 0
    return out


def main() -> None:
    # A TERM (from ``kill`` or a timeout) unwinds like Ctrl+C, so the servers and services started are
    # stopped and removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0, help="requests a second, all kinds together")
    parser.add_argument("--clients", type=int, default=8, help="worker threads sending the requests")
    parser.add_argument("--seats", type=int, default=16, help="teams, each booking its own resource")
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--pg-port", type=int, default=55433)
    parser.add_argument("--redis-port", type=int, default=56380)
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "soak", **environment()}
    result["code"] = code_state(("matchmaker", "models", "web", "seeds"))
    result["options"] = vars(args)
    print(
        f"{result['machine']} ({result['cpu']}), load average {result['load_average_at_start']}", flush=True
    )
    pg, redis = PrivatePostgres(args.pg_port), PrivateRedis(args.redis_port)
    folder = Path(tempfile.mkdtemp(prefix="soak-app-"))
    running: list[Server] = []
    samples: list[dict[str, Any]] = []
    try:
        pg.create()
        redis.start()
        migrate.upgrade(pg.url)
        world = build(pg.url, args.seats, 1, 1, timedelta(minutes=360))
        app_url = f"{pg.url}?application_name={APPLICATION_NAME}"
        for n in range(args.instances):
            running.append(
                start_server(
                    app_url,
                    folder,
                    f"soak-{n + 1}",
                    redis.url,
                    extra_env={"MATCHMAKER_REDIS_URL": redis.url},
                )
            )
        traffic = Traffic(
            world.seats, [s.base for s in running], world.listener_secret, args.rate, args.clients
        )
        stop = threading.Event()
        watch = threading.Thread(
            target=sampler, args=(running, pg.url, args.sample_seconds, stop, samples), daemon=True
        )
        started = time.monotonic()
        watch.start()
        reporter_stop = threading.Event()

        def report() -> None:
            shown = 0
            while not reporter_stop.wait(5):
                with traffic.lock:
                    rows = per_minute(list(traffic.records), started)
                for row in rows[shown:-1]:
                    last = samples[-1] if samples else {}
                    print(
                        f"minute {row['minute']:>3}: {row['requests']} requests, p50 {row['p50_ms']} ms, "
                        f"p95 {row['p95_ms']} ms, {row['answers']}; RSS {last.get('rss_mb')} MB, "
                        f"db connections {last.get('db_connections')}, load {last.get('load_average')}",
                        flush=True,
                    )
                shown = max(shown, len(rows) - 1)

        reporter = threading.Thread(target=report, daemon=True)
        reporter.start()
        traffic.run(args.minutes * 60)
        stop.set()
        reporter_stop.set()
        watch.join(timeout=30)
        reporter.join(timeout=30)
        minutes = per_minute(traffic.records, started)
        result["minutes"] = minutes
        result["samples"] = samples
        result["dispatch_backlog_max"] = traffic.backlog_max
        result["verdicts"] = verdicts(minutes, samples, args.instances)
    finally:
        for s in running:
            stop_instance(s)
        redis.remove()
        pg.remove()
        shutil.rmtree(folder, ignore_errors=True)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print("\nverdicts:")
    for name, value in result["verdicts"].items():
        print(f"  {name}: {value}")
    out = ROOT / "bench" / "results" / "soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
