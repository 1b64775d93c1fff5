"""A mentor sets their own office hours (through the API and on a page); sessions and proposed times
must lie in them. Overlapping periods are refused beside the field, nothing saved; only the mentor and
the space's managers may set them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from models import Availability
from tests.conftest import Client, World, fresh
from tests.web.booking_support import Api, iso, next_week, token_for

TUESDAY_AFTERNOON = [{"weekday": 1, "start": "14:00", "end": "18:00"}]


@pytest.fixture
def api(client: Client, world: World, db: Session) -> dict[str, Api]:
    return {name: Api(client, token_for(db, world.users[name])) for name in ("mentor", "founder", "manager")}


def _put(api: Api, mentor_id: int, hours: list[dict[str, Any]]) -> Any:
    return api.put(f"/mentors/{mentor_id}/office-hours", {"weekly_hours": hours})


def test_a_mentor_sets_office_hours_and_accepts_only_inside_them(
    api: dict[str, Api], world: World, db: Session
) -> None:
    mentor_id = world.mentor1.id
    assert api["founder"].get(f"/mentors/{mentor_id}/office-hours").json["weekly_hours"]  # the default
    assert _put(api["founder"], mentor_id, TUESDAY_AFTERNOON).status_code == 403
    saved = _put(api["mentor"], mentor_id, TUESDAY_AFTERNOON)
    assert saved.status_code == 200, saved.json
    assert saved.json["weekly_hours"] == TUESDAY_AFTERNOON
    asked = api["founder"].post(
        "/mentor-requests",
        {"team_id": world.team1.id, "mentor_id": mentor_id, "topic": "Readout review", "hours": 1},
    )
    assert asked.status_code == 201, asked.json
    path = f"/mentor-requests/{asked.json['id']}/accept"
    monday = api["mentor"].post(path, {"starts_at": iso(next_week(0, 10)), "minutes": 60})
    assert monday.status_code == 422
    assert monday.json["error"]["details"]["fields"] == {"starts_at": "outside_office_hours"}
    tuesday = api["mentor"].post(path, {"starts_at": iso(next_week(1, 15)), "minutes": 60})
    assert tuesday.status_code == 200, tuesday.json


def test_overlapping_office_hours_are_refused_and_nothing_is_saved(
    api: dict[str, Api], world: World, db: Session
) -> None:
    mentor_id = world.mentor1.id
    assert _put(api["manager"], mentor_id, TUESDAY_AFTERNOON).status_code == 200  # managers may too
    overlapping = [*TUESDAY_AFTERNOON, {"weekday": 1, "start": "17:00", "end": "19:00"}]
    refused = _put(api["mentor"], mentor_id, overlapping)
    assert refused.status_code == 422
    assert "weekly_hours" in refused.json["error"]["details"]["fields"]
    backwards = _put(api["mentor"], mentor_id, [{"weekday": 2, "start": "18:00", "end": "09:00"}])
    assert backwards.status_code == 422
    fresh(db)
    kept = db.get(Availability, mentor_id)
    assert kept is not None and kept.weekly_hours == TUESDAY_AFTERNOON


def test_the_office_hours_page_saves_and_tells_a_problem_beside_the_week(
    client: Client, world: World, db: Session
) -> None:
    client.login("mentor@test.example")
    page = f"/mentors/{world.mentor1.id}/office-hours?lang=en"
    assert "Office hours" in client.get(page).get_data(as_text=True)
    token = client.csrf_token(page)
    form = {"csrf_token": token, "open.1.0.start": "14:00", "open.1.0.end": "18:00",
            "open.1.1.start": "17:00", "open.1.1.end": "19:00"}  # fmt: skip
    bad = client.post(page, data=form)
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'data-field="weekly_hours"' in text and 'value="19:00"' in text  # told beside it, kept as typed
    form.pop("open.1.1.start"), form.pop("open.1.1.end")
    good = client.post(page, data=form)
    assert good.status_code == 200 and 'id="office-hours-saved"' in good.get_data(as_text=True)
    fresh(db)
    kept = db.get(Availability, world.mentor1.id)
    assert kept is not None and kept.weekly_hours == TUESDAY_AFTERNOON
    client.post("/logout", data={"csrf_token": client.csrf_token("/home")})
    client.login("founder@test.example")
    assert client.get(page).status_code == 404
