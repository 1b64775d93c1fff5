"""Recommendations where people work: on a team's page (booking starts from there), on a mentor's or
investor's own page, and refreshed live when the team's history changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy.orm import Session

from matchmaker.operations import matching
from models import Booking, BookingStatus
from tests.conftest import Client, LiveServer, World
from tests.web.live import WAIT, api_token
from tests.web.test_realtime import Listener, connect_as


@pytest.fixture(autouse=True)
def _fresh_rankers() -> None:
    matching.reset_ranker_cache()


def test_a_member_sees_what_fits_the_team_and_books_from_it(client: Client, world: World) -> None:
    client.login("member@test.example")
    html = client.get(f"/teams/{world.team1.id}?lang=en").get_data(as_text=True)
    assert "Recommended for this team" in html
    assert "Li · machine vision mentor" in html
    assert "Shared capabilities: machine vision" in html
    assert f"/resources/{world.equipment1.id}/calendar?view=day" in html and f"team={world.team1.id}" in html
    assert "Book: free from" in html


@pytest.mark.parametrize("who", ["mentor", "host", "other_founder"])
def test_others_do_not_see_a_teams_recommendations(client: Client, world: World, who: str) -> None:
    client.login(f"{who}@test.example")
    page = client.get(f"/teams/{world.team1.id}?lang=en")
    assert "Recommended for this team" not in page.get_data(as_text=True)
    assert client.get(f"/teams/{world.team1.id}/recommendations").status_code in (403, 404)


def test_a_mentor_sees_the_teams_that_fit_on_their_own_page(client: Client, world: World) -> None:
    client.login("mentor@test.example")
    html = client.get(f"/resources/{world.mentor1.id}?lang=en").get_data(as_text=True)
    assert "Teams that fit you" in html
    assert "Vision chip" in html
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("other_founder@test.example")
    assert "Teams that fit you" not in client.get(f"/resources/{world.mentor1.id}?lang=en").get_data(
        as_text=True
    )


def test_checking_out_tells_the_team_its_recommendations_changed(
    live_server: LiveServer, world: World, db: Session
) -> None:
    started = datetime.now(UTC) - timedelta(minutes=30)
    booking = Booking(
        resource_id=world.equipment1.id,
        team_id=world.team1.id,
        booked_by_id=world.id("founder"),
        starts_at=started,
        ends_at=started + timedelta(hours=1),
        blocked_until=started + timedelta(hours=1),
        status=BookingStatus.CHECKED_IN,
        checked_in_at=started,
    )
    db.add(booking)
    db.commit()
    listener = Listener()
    listener.record("recommendations_changed")
    connect_as(listener, live_server.url, "member@test.example")
    try:
        token = api_token(live_server.url, "founder@test.example")
        out = requests.post(
            f"{live_server.url}/api/v1/bookings/{booking.id}/check-out",
            headers={"Authorization": f"Bearer {token}"},
            timeout=WAIT,
        )
        assert out.status_code == 200, out.text
        assert listener.wait_for("recommendations_changed")[0] == {"team_id": world.team1.id}
    finally:
        listener.client.disconnect()
