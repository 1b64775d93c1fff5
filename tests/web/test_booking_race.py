"""No double booking, ever: many clients asking for one slot at once, through HTTP and real threads, on
each database. Exactly one wins; the rest get a clean 409; the table never holds an overlap."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import ACTIVE_STATUSES, Booking, BookingStatus
from seeds import builders
from tests.conftest import PASSWORD_HASH, LiveServer, World, fresh
from tests.web.booking_support import iso, next_week, token_for
from tests.web.live import WAIT

CLIENTS = 50


def overlapping_pairs(db: Session) -> list[tuple[int, int]]:
    """Scan the whole table: any two active bookings of one unit whose busy ranges meet."""
    fresh(db)
    rows = db.scalars(select(Booking).where(Booking.status.in_(ACTIVE_STATUSES))).all()
    return [
        (a.id, b.id)
        for a in rows
        for b in rows
        if a.id < b.id
        and (a.resource_id, a.unit) == (b.resource_id, b.unit)
        and a.starts_at < b.blocked_until
        and b.starts_at < a.blocked_until
    ]


def _teams_with_tokens(db: Session, world: World, count: int) -> list[tuple[int, str]]:
    out = []
    for i in range(count):
        lead = builders.get_or_create_user(
            db, f"racer{i}@test.example", f"Racer {i}", password_hash=PASSWORD_HASH
        )
        team = builders.get_or_create_team(
            db,
            world.space1,
            f"racer-{i}",
            lead=lead,
            stage="incubator",
            name_zh=f"队{i}",
            name_en=f"Team {i}",
        )
        db.commit()
        out.append((team.id, token_for(db, lead)))
    return out


def _fire(url: str, bodies: list[tuple[dict[str, Any], str]]) -> list[requests.Response]:
    start = threading.Barrier(len(bodies))

    def one(item: tuple[dict[str, Any], str]) -> requests.Response:
        body, token = item
        start.wait(timeout=WAIT)  # everyone leaves the gate together
        return requests.post(
            f"{url}/api/v1/bookings", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))


def test_fifty_teams_racing_for_one_slot_leave_exactly_one_booking(
    live_server: LiveServer, world: World, db: Session
) -> None:
    teams = _teams_with_tokens(db, world, CLIENTS)
    start, end = next_week(2, 10), next_week(2, 12)
    bodies = [
        (
            {
                "team_id": team_id,
                "resource_id": world.equipment1.id,
                "starts_at": iso(start),
                "ends_at": iso(end),
            },
            token,
        )
        for team_id, token in teams
    ]
    responses = _fire(live_server.url, bodies)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (CLIENTS - 1), statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"slot_taken"}
    assert overlapping_pairs(db) == []
    fresh(db)
    assert len(db.scalars(select(Booking)).all()) == 1


def test_racing_for_overlapping_but_different_ranges_never_overlaps_in_the_table(
    live_server: LiveServer, world: World, db: Session
) -> None:
    teams = _teams_with_tokens(db, world, CLIENTS)
    base = next_week(3, 9)
    bodies = []
    for i, (team_id, token) in enumerate(teams):
        s = base.replace(minute=0) + (i % 12) * (next_week(3, 9, minute=30) - next_week(3, 9))
        e = s + (1 + i % 3) * (next_week(3, 10) - next_week(3, 9))
        bodies.append(
            (
                {
                    "team_id": team_id,
                    "resource_id": world.equipment1.id,
                    "starts_at": iso(s),
                    "ends_at": iso(e),
                },
                token,
            )
        )
    responses = _fire(live_server.url, bodies)
    assert all(r.status_code in (201, 409, 422) for r in responses), [r.status_code for r in responses]
    assert any(r.status_code == 201 for r in responses)
    assert overlapping_pairs(db) == []


def test_the_database_itself_refuses_an_overlap_the_code_did_not_check(world: World, db: Session) -> None:
    start, end = next_week(2, 10), next_week(2, 12)

    def row(s: Any, e: Any, unit: int = 1, status: BookingStatus = BookingStatus.CONFIRMED) -> Booking:
        return Booking(
            resource_id=world.equipment1.id,
            unit=unit,
            team_id=world.team1.id,
            booked_by_id=world.id("founder"),
            starts_at=s,
            ends_at=e,
            blocked_until=e,
            status=status,
        )

    db.add(row(start, end))
    db.commit()
    db.add(row(end, end + (end - start)))  # back to back: fine
    db.add(row(start, end, unit=2))  # another unit: fine
    db.add(row(start, end, status=BookingStatus.CANCELLED))  # inactive: fine
    db.commit()
    db.add(row(start + (end - start) / 2, end + (end - start) / 2))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()
    cancelled = db.scalars(select(Booking).where(Booking.status == BookingStatus.CANCELLED)).one()
    cancelled.status = BookingStatus.CONFIRMED  # reviving it would overlap the first
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()
