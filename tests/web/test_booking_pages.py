"""Booking pages in both languages: the calendar (anyone), my bookings (teams), my equipment (hosts),
their buttons, and the host's blackout form in the space's wall-clock time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Blackout, Booking, BookingStatus
from tests.conftest import Client, World, fresh
from tests.web.booking_support import SHANGHAI, Api, next_week, token_for
from web.bookings import sweeper
from web.concurrency import ConcurrencyLimit


@pytest.mark.parametrize(("lang", "words"), [("zh", ["日历", "空闲"]), ("en", ["Calendar", "Free"])])
def test_the_calendar_page_is_public_and_bilingual(
    client: Client, world: World, lang: str, words: list[str]
) -> None:
    page = client.get(f"/resources/{world.equipment1.id}/calendar?lang={lang}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(word in html for word in words)
    assert 'id="calendar-data"' in html
    day = client.get(f"/resources/{world.equipment1.id}/calendar?view=day&date=2030-01-07")
    assert day.status_code == 200
    assert "2030-01-07" in day.get_data(as_text=True)


def test_the_calendar_grid_is_on_the_spaces_clock(client: Client, world: World) -> None:
    monday = next_week(0, 9).astimezone(SHANGHAI).date()
    html = client.get(f"/resources/{world.equipment1.id}/calendar?date={monday.isoformat()}").get_data(
        as_text=True
    )
    assert f'data-start="{next_week(0, 9).isoformat()}"' in html  # 09:00 Shanghai is 01:00 UTC


def test_a_bad_date_or_an_unbookable_resource_is_a_clear_error(client: Client, world: World) -> None:
    assert client.get(f"/resources/{world.equipment1.id}/calendar?date=soon").status_code == 422
    assert client.get(f"/resources/{world.mentor1.id}/calendar").status_code == 422
    assert client.get("/resources/999999/calendar").status_code == 404


def test_my_bookings_lists_the_teams_bookings_and_cancels_from_its_button(
    client: Client, world: World, db: Session
) -> None:
    booked = (
        Api(client, token_for(db, world.users["founder"]))
        .book(world.team1.id, world.equipment1.id, next_week(1, 10), next_week(1, 12))
        .json
    )
    client.login("member@test.example")
    page = client.get("/bookings?lang=en").get_data(as_text=True)
    assert f'data-booking-id="{booked["id"]}"' in page
    assert "Field-emission SEM" in page and "confirmed" in page
    response = client.form(f"/bookings/{booked['id']}/cancel", {"next": "/bookings"}, token_from="/bookings")
    assert response.status_code == 302
    fresh(db)
    assert db.get(Booking, booked["id"]).status is BookingStatus.CANCELLED  # type: ignore[union-attr]
    again = client.form(f"/bookings/{booked['id']}/cancel", {"next": "/bookings"}, token_from="/bookings")
    assert again.status_code == 302
    assert "cannot" in client.get("/bookings?lang=en").get_data(as_text=True)


def test_my_equipment_shows_approvals_and_the_host_approves_from_it(
    client: Client, world: World, db: Session
) -> None:
    Api(client, token_for(db, world.users["host"])).patch(
        f"/resources/{world.equipment1.id}/availability", {"requires_approval": True}
    )
    booked = (
        Api(client, token_for(db, world.users["founder"]))
        .book(world.team1.id, world.equipment1.id, next_week(1, 10), next_week(1, 12))
        .json
    )
    client.login("host@test.example")
    page = client.get("/equipment/mine?lang=zh").get_data(as_text=True)
    assert "我的设备" in page and f'data-booking-id="{booked["id"]}"' in page and "视觉芯片" in page
    client.form(
        f"/bookings/{booked['id']}/approve", {"next": "/equipment/mine"}, token_from="/equipment/mine"
    )
    fresh(db)
    assert db.get(Booking, booked["id"]).status is BookingStatus.CONFIRMED  # type: ignore[union-attr]


def test_others_cannot_press_the_buttons(client: Client, world: World, db: Session) -> None:
    booked = (
        Api(client, token_for(db, world.users["founder"]))
        .book(world.team1.id, world.equipment1.id, next_week(1, 10), next_week(1, 12))
        .json
    )
    client.login("other_founder@test.example")
    client.form(f"/bookings/{booked['id']}/cancel", {}, token_from="/")
    fresh(db)
    assert db.get(Booking, booked["id"]).status is BookingStatus.CONFIRMED  # type: ignore[union-attr]
    assert client.form(f"/bookings/{booked['id']}/explode", {}, token_from="/").status_code == 404


def test_the_host_closes_a_resource_in_the_spaces_wall_clock(
    client: Client, world: World, db: Session
) -> None:
    client.login("host@test.example")
    start = next_week(2, 9).astimezone(SHANGHAI)
    form = {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "校准",
        "effect": "cancel",
    }
    path = f"/resources/{world.equipment1.id}/blackouts"
    assert client.form(path, form, token_from=f"/resources/{world.equipment1.id}/calendar").status_code == 302
    fresh(db)
    blackout = db.scalars(select(Blackout)).one()
    assert blackout.starts_at == next_week(2, 9) and blackout.reason == "校准"
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("founder@test.example")
    client.form(path, form, token_from="/")
    fresh(db)
    assert len(db.scalars(select(Blackout)).all()) == 1


def test_the_background_sweep_releases_a_booking_nobody_checked_in(
    app: Flask, world: World, db: Session
) -> None:
    started = datetime.now(UTC) - timedelta(hours=1)
    db.add(
        Booking(
            resource_id=world.equipment1.id,
            team_id=world.team1.id,
            booked_by_id=world.id("founder"),
            starts_at=started,
            ends_at=started + timedelta(hours=2),
            blocked_until=started + timedelta(hours=2),
            status=BookingStatus.CONFIRMED,
        )
    )
    db.commit()
    assert sweeper.sweep_once(app) == 1
    assert sweeper.sweep_once(app) == 0
    fresh(db)
    assert db.scalars(select(Booking)).one().status is BookingStatus.NO_SHOW


def test_on_sqlite_the_background_sweep_waits_for_a_writer_instead_of_failing(
    app: Flask, world: World, db: Session
) -> None:
    """The sweep reads, then writes what lapsed: on SQLite it must take the write lock first, or a
    writer committing in between makes it fail with "database is locked"."""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    db.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # a writer holds the lock
    world.team1.name_en = "Renamed meanwhile"
    db.flush()
    outcome: list[object] = []
    sweeping = threading.Thread(target=lambda: outcome.append(sweeper.sweep_once(app)))
    sweeping.start()
    sweeping.join(timeout=0.5)
    assert sweeping.is_alive(), "the sweep went ahead while another writer held the lock"
    db.commit()
    sweeping.join(timeout=30)
    assert outcome == [0]


def test_requests_beyond_the_concurrency_limit_wait_their_turn() -> None:
    inside = 0
    most = 0
    changed = threading.Condition()
    release = threading.Event()

    def slow_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        nonlocal inside, most
        with changed:
            inside += 1
            most = max(most, inside)
            changed.notify_all()
        release.wait(5)
        with changed:
            inside -= 1
        start_response("200 OK", [])
        return [b"ok"]

    limited = ConcurrencyLimit(slow_app, 2)
    threads = [threading.Thread(target=limited, args=({}, lambda *a: None)) for _ in range(6)]
    for t in threads:
        t.start()
    with changed:  # the first two are in; the other four wait at the door while they are held
        assert changed.wait_for(lambda: inside >= 2, timeout=5)
    release.set()
    for t in threads:
        t.join(5)
    assert most == 2


def test_health_checks_pass_the_request_queue() -> None:
    held = threading.Event()
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] != "/healthz":
            held.set()
            release.wait(5)
        start_response("200 OK", [])
        return [b"ok"]

    limited = ConcurrencyLimit(app, 1)
    busy = threading.Thread(target=limited, args=({"PATH_INFO": "/api/v1/bookings"}, lambda *a: None))
    busy.start()
    assert held.wait(5)
    try:  # the one slot is taken, yet the health check answers at once
        assert list(limited({"PATH_INFO": "/healthz"}, lambda *a: None)) == [b"ok"]
    finally:
        release.set()
        busy.join(5)
