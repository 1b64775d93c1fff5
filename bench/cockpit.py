"""Cockpit benchmark: the manager's page and its data API over a generated year of 200,000 bookings
across two spaces, on SQLite and on PostgreSQL.

Each space gets 40 bookable resources (30 instruments with three units, 4 pilot lines, 6 desks), 40
teams with capability needs, blackouts and waits; then a year of bookings fills every unit's weekday
opening hours with one-to-three-hour bookings of every outcome (seeded, so every run builds the same
data; all of it is marked generated), and the database's statistics are gathered as autovacuum or
PRAGMA optimize would in service. Then a manager asks, one request after another, for the cockpit
page and for ``/api/v1/spaces/<id>/utilization`` over the whole year. Prints p50/p95 and writes
bench/results/cockpit.json. The target is a p95 under 500 ms for both.

    python bench/cockpit.py [--bookings 200000] [--requests 30] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import environment, percentile  # noqa: E402
from matchmaker.passwords import hash_password  # noqa: E402
from models import (  # noqa: E402
    Blackout,
    BlackoutEffect,
    Booking,
    BookingStatus,
    WaitlistEntry,
    WaitlistStatus,
    migrate,
)
from models.database import make_engine, make_session_factory  # noqa: E402
from seeds import builders  # noqa: E402

PG_URL = os.environ.get("MATCHMAKER_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "bench_cockpit"
ZONE = ZoneInfo("Asia/Shanghai")
YEAR_START = date(2025, 12, 1)
YEAR_END = date(2026, 11, 30)
PASSWORD = "bench-cockpit"  # noqa: S105  (the generated manager of a throw-away database)
TARGET_P95_MS = 500.0
OFFICE_HOURS = [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)]
TAGS = [f"capability-{i}" for i in range(12)]
OUTCOMES = [
    (BookingStatus.COMPLETED, 70),
    (BookingStatus.NO_SHOW, 5),
    (BookingStatus.CANCELLED, 10),
    (BookingStatus.CONFIRMED, 8),
    (BookingStatus.REJECTED, 4),
    (BookingStatus.EXPIRED, 3),
]


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).astimezone(UTC)


def build(url: str, bookings: int, seed: int = 12) -> dict[str, Any]:
    """The two spaces and their year of bookings; returns the manager's login and the space ids."""
    rng = random.Random(seed)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    statuses = [s for s, w in OUTCOMES for _ in range(w)]
    space_ids: list[int] = []
    with factory.begin() as session:
        for slug in TAGS:
            builders.get_or_create_tag(session, slug, [slug], [slug])
        manager = builders.get_or_create_user(
            session, "manager@bench.example", "Manager", password_hash=hash_password(PASSWORD, n=2**10)
        )
        for s in range(2):
            space = builders.get_or_create_space(
                session,
                f"bench-{s}",
                name_zh=f"基准{s}专业化众创空间",
                name_en=f"Bench space {s}",
                niche_zh=f"基准{s}",
                niche_en=f"Bench {s}",
            )
            space_ids.append(space.id)
            builders.grant(session, manager, space, "manager")
            host = builders.get_or_create_organization(
                session, space, "host", is_host=True, name_zh="主体", name_en="Host"
            )
            resources = []
            for i in range(40):
                kind = "equipment" if i < 30 else "pilot_line" if i < 34 else "workspace"
                resource = builders.get_or_create_resource(
                    session,
                    space,
                    host,
                    f"r{i}",
                    kind=kind,
                    category="testing" if kind == "equipment" else "line" if kind == "pilot_line" else "desk",
                    name_zh=f"资源{i}",
                    name_en=f"Resource {i}",
                    tags=[TAGS[i % 10]],
                )
                units = 3 if kind == "equipment" else 1
                builders.get_or_create_availability(session, resource, units=units, weekly_hours=OFFICE_HOURS)
                resources.append((resource, units))
            teams = []
            for t in range(40):
                lead = builders.get_or_create_user(session, f"lead{s}-{t}@bench.example", f"Lead {t}")
                teams.append(
                    (
                        builders.get_or_create_team(
                            session,
                            space,
                            f"t{t}",
                            lead=lead,
                            name_zh=f"团队{t}",
                            name_en=f"Team {t}",
                            tags=[TAGS[t % 12]],
                        ),
                        lead,
                    )
                )
            session.flush()
            per_space = bookings // 2
            rows: list[dict[str, Any]] = []
            slots = [(r, u) for r, units in resources for u in range(1, units + 1)]
            days = [YEAR_START + timedelta(days=d) for d in range((YEAR_END - YEAR_START).days + 1)]
            weekdays = [d for d in days if d.weekday() < 5]
            per_slot = per_space // len(slots) + 1
            for resource, unit in slots:
                made = 0
                for day in weekdays:
                    hour = 9
                    while hour < 18 and made < per_slot:
                        length = rng.choice((1, 1, 2, 3))
                        if hour + length > 18:
                            break
                        team, lead = rng.choice(teams)
                        status = rng.choice(statuses)
                        start, end = local(day, hour), local(day, hour + length)
                        row: dict[str, Any] = {
                            "resource_id": resource.id,
                            "unit": unit,
                            "team_id": team.id,
                            "booked_by_id": lead.id,
                            "starts_at": start,
                            "ends_at": end,
                            "blocked_until": end,
                            "status": status,
                            "generated": True,
                            "checked_in_at": None,
                            "checked_out_at": None,
                            "cancelled_at": None,
                        }
                        if status is BookingStatus.COMPLETED:
                            row["checked_in_at"] = start + timedelta(minutes=rng.randint(0, 10))
                            row["checked_out_at"] = end - timedelta(minutes=rng.randint(0, 20))
                        elif status is BookingStatus.CANCELLED:
                            row["cancelled_at"] = start - timedelta(hours=rng.choice((2, 12, 48, 96)))
                        rows.append(row)
                        made += 1
                        hour += length
                    if made >= per_slot:
                        break
            rows = rows[:per_space]
            for chunk in range(0, len(rows), 5000):
                session.execute(insert(Booking), rows[chunk : chunk + 5000])
            for resource, _units in resources[:10]:
                day = rng.choice(weekdays)
                session.add(
                    Blackout(
                        resource_id=resource.id,
                        unit=None,
                        starts_at=local(day, 8),
                        ends_at=local(day, 20),
                        reason="maintenance",
                        effect=BlackoutEffect.FLAG,
                    )
                )
            for _ in range(300):
                resource, _units = rng.choice(resources)
                team, lead = rng.choice(teams)
                day = rng.choice(weekdays)
                session.add(
                    WaitlistEntry(
                        resource_id=resource.id,
                        team_id=team.id,
                        user_id=lead.id,
                        starts_at=local(day, 10),
                        ends_at=local(day, 11),
                        status=WaitlistStatus.LAPSED,
                    )
                )
        count = session.scalar(text("SELECT count(*) FROM bookings"))
    # A database in service has its statistics (PostgreSQL's autovacuum, SQLite's PRAGMA optimize);
    # one freshly bulk-loaded does not until they run, so run them once as they would.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    return {"space_ids": space_ids, "bookings": count}


def measure(url: str, space_ids: list[int], requests: int) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    from web import create_app

    with tempfile.TemporaryDirectory() as instance:
        os.environ["MATCHMAKER_INSTANCE_PATH"] = instance
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "RATELIMIT_STORAGE_URI": "memory://",
                "SOCKETIO_MESSAGE_QUEUE": None,
                "WTF_CSRF_ENABLED": False,
            }
        )
        client = app.test_client()
        answer = client.post("/login", data={"email": "manager@bench.example", "password": PASSWORD})
        assert answer.status_code == 302, answer.status_code
        period = f"start={YEAR_START.isoformat()}&end={YEAR_END.isoformat()}"
        found: dict[str, Any] = {}
        for name, path in (
            ("page", "/spaces/{id}/cockpit?" + period),
            ("api", "/api/v1/spaces/{id}/utilization?" + period),
        ):
            times = []
            for i in range(requests + 2):
                space_id = space_ids[i % len(space_ids)]
                began = time.perf_counter()
                response = client.get(path.format(id=space_id))
                elapsed = (time.perf_counter() - began) * 1000
                assert response.status_code == 200, (path, response.status_code)
                if i >= 2:  # the first two warm the caches and the connection pool
                    times.append(elapsed)
            found[name] = {
                "requests": len(times),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "max_ms": round(max(times), 1),
            }
        api = client.get(f"/api/v1/spaces/{space_ids[0]}/utilization?{period}").get_json()
        found["sample"] = {
            "utilization": api["total"]["utilization"],
            "booked_hours": api["total"]["booked_hours"],
        }
        return found


def backend_url(name: str, folder: Path) -> str:
    if name == "sqlite":
        return f"sqlite:///{folder / 'cockpit.sqlite3'}"
    from models.database import make_engine as engine_for

    eng = engine_for(PG_URL)
    with eng.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    eng.dispose()
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    return url.render_as_string(hide_password=False)


def drop(name: str) -> None:
    if name != "postgresql":
        return
    eng = make_engine(PG_URL)
    with eng.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    eng.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results: dict[str, Any] = {"environment": environment(), "bookings": args.bookings, "backends": {}}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.backends.split(","):
            url = backend_url(name, Path(folder))
            migrate.upgrade(url)
            began = time.perf_counter()
            built = build(url, args.bookings)
            build_s = round(time.perf_counter() - began, 1)
            found = measure(url, built["space_ids"], args.requests)
            found.update(bookings=built["bookings"], build_s=build_s)
            results["backends"][name] = found
            drop(name)
            print(
                f"{name:10} {built['bookings']:>7} bookings (built in {build_s} s) · page p50 "
                f"{found['page']['p50_ms']} ms p95 {found['page']['p95_ms']} ms · API p50 "
                f"{found['api']['p50_ms']} ms p95 {found['api']['p95_ms']} ms"
            )
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["target_p95_ms"] = TARGET_P95_MS
    results["met"] = all(
        r[k]["p95_ms"] < TARGET_P95_MS for r in results["backends"].values() for k in ("page", "api")
    )
    out = ROOT / "bench" / "results" / "cockpit.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"target p95 < {TARGET_P95_MS:.0f} ms met: {results['met']} · written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
