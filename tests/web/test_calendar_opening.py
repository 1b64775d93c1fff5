"""Where a calendar opens: on the first week with time that can be booked, or on the slot a
suggestion links to, selected."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from matchmaker import slots
from matchmaker.operations import accounts, booking_rules, calendars
from tests.conftest import Client, World
from tests.web.booking_support import SHANGHAI, iso, next_week


def test_the_first_bookable_time_after_a_sunday_evening_is_monday_morning(db: Session, world: World) -> None:
    founder = accounts.principal_for(db, world.users["founder"])
    monday = next_week(0, 9)
    sunday_evening = monday - timedelta(hours=13)
    found = calendars.first_bookable(db, founder, world.equipment1.id, sunday_evening)
    assert found == monday


def test_a_calendar_opened_without_a_date_shows_the_first_week_with_bookable_time(
    client: Client, world: World, db: Session
) -> None:
    host = accounts.principal_for(db, world.users["host"])
    booking_rules.set_availability(db, host, world.equipment1.id, {"lead_minutes": 15 * 24 * 60})
    db.commit()
    client.login("founder@test.example")
    page = client.get(f"/resources/{world.equipment1.id}/calendar?lang=zh").get_data(as_text=True)
    shown_from = datetime.fromisoformat(re.search(r'data-from="([^"]+)"', page)[1])  # type: ignore[index]
    earliest = datetime.now(SHANGHAI) + timedelta(days=15)
    shown = shown_from.astimezone(SHANGHAI).date()
    # The week of the first weekday from the lead time on (a weekend in between moves it on a week).
    assert slots.week_start(earliest.date()) <= shown <= slots.week_start(earliest.date() + timedelta(days=3))
    assert shown.weekday() == 0
    labels = json.loads(re.search(r'id="calendar-text">(.*?)</script>', page, re.S)[1])  # type: ignore[index]
    assert labels["free"] == "空闲"


def test_a_link_with_a_slot_opens_its_day_with_the_slot_chosen(client: Client, world: World) -> None:
    client.login("founder@test.example")
    start = next_week(3, 14)
    query = urlencode({"view": "day", "start": iso(start), "end": iso(start + timedelta(hours=2))})
    page = client.get(f"/resources/{world.equipment1.id}/calendar?{query}").get_data(as_text=True)
    chosen = json.loads(re.search(r'id="calendar-chosen">(.*?)</script>', page, re.S)[1])  # type: ignore[index]
    assert datetime.fromisoformat(chosen["starts_at"]) == start
    assert start.astimezone(SHANGHAI).date().isoformat() in page
    # A selection that does not parse is simply not made; the calendar still opens.
    broken = client.get(f"/resources/{world.equipment1.id}/calendar?start=yesterday&end=x")
    assert broken.status_code == 200
    assert 'id="calendar-chosen">null<' in broken.get_data(as_text=True)
