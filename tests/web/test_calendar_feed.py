"""The secret iCalendar address of a team's and a resource's bookings parses as RFC 5545 and matches them."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
from sqlalchemy.orm import Session

from matchmaker import ical
from tests.conftest import Client, World
from tests.web.booking_support import Api, next_week, token_for


def test_a_teams_feed_parses_and_lists_its_bookings(client: Client, world: World, db: Session) -> None:
    founder = Api(client, token_for(db, world.users["founder"]))
    made = [
        founder.book(
            world.team1.id,
            world.equipment1.id,
            next_week(1, 10),
            next_week(1, 12),
            note="wafer; lot 7, die 3",
        ).json,
        founder.book(world.team1.id, world.equipment1.id, next_week(3, 14), next_week(3, 15)).json,
    ]
    founder.post(f"/bookings/{made[1]['id']}/cancel")
    url = founder.post(f"/teams/{world.team1.id}/calendar-feed", {}).json["url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = client.get(f"/{path}")  # no login: calendar apps cannot log in
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    assert [e.decoded("DTSTART") for e in events] == [next_week(1, 10), next_week(3, 14)]
    assert [e.decoded("DTEND") for e in events] == [next_week(1, 12), next_week(3, 15)]
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    assert "Field-emission SEM" in str(events[0]["SUMMARY"])
    assert "wafer; lot 7, die 3" in str(events[0]["DESCRIPTION"])
    assert str(events[0]["UID"]) == f"booking-{made[0]['id']}@matchmaker"


def test_rotating_the_address_kills_the_old_one_and_others_cannot_mint_one(
    client: Client, world: World, db: Session
) -> None:
    founder = Api(client, token_for(db, world.users["founder"]))
    old = founder.post(f"/teams/{world.team1.id}/calendar-feed", {}).json["url"]
    new = founder.post(f"/teams/{world.team1.id}/calendar-feed", {"rotate": True}).json["url"]
    assert old != new
    assert client.get("/" + old.split("://", 1)[1].split("/", 1)[1]).status_code == 404
    assert client.get("/" + new.split("://", 1)[1].split("/", 1)[1]).status_code == 200
    other = Api(client, token_for(db, world.users["other_founder"]))
    assert other.post(f"/teams/{world.team1.id}/calendar-feed", {}).status_code == 404
    assert other.post(f"/resources/{world.equipment1.id}/calendar-feed", {}).status_code == 403
    host = Api(client, token_for(db, world.users["host"]))
    assert host.post(f"/resources/{world.equipment1.id}/calendar-feed", {}).status_code == 200


def test_long_lines_are_folded_at_75_octets_without_splitting_a_character() -> None:
    text = ical.render(
        "名" * 60,
        [
            ical.CalendarEvent(
                "u1", datetime(2031, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, 1, tzinfo=UTC), "扫描电镜" * 40
            )
        ],
        now=datetime(2030, 12, 1, tzinfo=UTC),
    )
    lines = text.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    parsed = icalendar.Calendar.from_ical(text)
    assert str(parsed.walk("VEVENT")[0]["SUMMARY"]) == "扫描电镜" * 40
    assert str(parsed["X-WR-CALNAME"]) == "名" * 60
