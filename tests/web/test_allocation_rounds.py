"""Allocation rounds through the API: a manager computes an optimal draft over the teams that asked,
reviews it, publishes it; teams and mentors then see their own lines, and are told live."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session

from matchmaker.operations import matching
from tests.conftest import Client, LiveServer, World
from tests.web.booking_support import Api, token_for
from tests.web.live import WAIT, api_token
from tests.web.test_realtime import Listener, connect_as


@pytest.fixture(autouse=True)
def _fresh_rankers() -> None:
    matching.reset_ranker_cache()


@pytest.fixture
def api(client: Client, world: World, db: Session) -> dict[str, Api]:
    names = ("manager", "founder", "other_founder", "mentor", "manager2", "outsider")
    return {name: Api(client, token_for(db, world.users[name])) for name in names}


def round_body(world: World, units: int = 4, **extra: Any) -> dict[str, Any]:
    return {
        "title": "十二月导师时段 / December mentor hours",
        "resource_kind": "mentor",
        "team_ids": [world.team1.id, world.team2.id],
        "capacity": [{"resource_id": world.mentor1.id, "units": units}],
        "units_per_assignment": 2,
        **extra,
    }


def test_a_manager_reviews_a_draft_then_publishes_it_to_teams_and_mentors(
    api: dict[str, Api], world: World
) -> None:
    made = api["manager"].post(f"/spaces/{world.space1.id}/allocation-rounds", round_body(world))
    assert made.status_code == 201, made.json
    draft = made.json
    assert draft["status"] == "draft"
    assert {a["team"]["id"] for a in draft["assignments"]} == {world.team1.id, world.team2.id}
    assert draft["capacity"][str(world.mentor1.id)] == {"offered": 4, "used": 4}
    assert draft["unassigned_team_ids"] == []
    assert api["founder"].get(f"/allocation-rounds/{draft['id']}").status_code == 404  # a draft is private

    published = api["manager"].post(f"/allocation-rounds/{draft['id']}/publish")
    assert published.status_code == 200 and published.json["status"] == "published"
    mine = api["founder"].get(f"/allocation-rounds/{draft['id']}").json
    assert [a["team"]["id"] for a in mine["assignments"]] == [world.team1.id]  # only its own line
    assert "capacity" not in mine
    mentor = api["mentor"].get(f"/allocation-rounds/{draft['id']}").json
    assert len(mentor["assignments"]) == 2
    assert api["outsider"].get(f"/allocation-rounds/{draft['id']}").status_code == 404
    again = api["manager"].post(f"/allocation-rounds/{draft['id']}/publish")
    assert again.status_code == 409


def test_scarce_capacity_leaves_a_team_explicitly_unassigned(api: dict[str, Api], world: World) -> None:
    made = (
        api["manager"].post(f"/spaces/{world.space1.id}/allocation-rounds", round_body(world, units=2)).json
    )
    assert len(made["assignments"]) == 1
    assert len(made["unassigned_team_ids"]) == 1
    assert made["capacity"][str(world.mentor1.id)]["used"] <= 2


@pytest.mark.parametrize(
    ("who", "body_change", "status", "field"),
    [
        ("manager", {"capacity": [{"resource_id": 0, "units": 4}]}, 422, "capacity.0.resource_id"),
        ("manager", {"units": 0}, 422, "capacity"),
        ("manager", {"team_ids": []}, 422, "team_ids"),
        ("manager", {"team_ids": [999999]}, 422, "team_ids"),
        ("manager", {"resource_kind": "fund"}, 422, "resource_kind"),
        ("founder", {}, 403, None),
        ("manager2", {}, 403, None),
    ],
)
def test_bad_rounds_are_refused_clearly(
    api: dict[str, Api], world: World, who: str, body_change: dict[str, Any], status: int, field: str | None
) -> None:
    change = dict(body_change)  # the parameters are shared by both databases' runs
    body = round_body(world, units=change.pop("units", 4))
    body.update(change)
    response = api[who].post(f"/spaces/{world.space1.id}/allocation-rounds", body)
    assert response.status_code == status, response.json
    if field is not None:
        assert field in response.json["error"]["details"]["fields"]


def test_a_team_of_another_space_cannot_be_put_in_a_round(api: dict[str, Api], world: World) -> None:
    response = api["manager"].post(
        f"/spaces/{world.space1.id}/allocation-rounds",
        round_body(world, team_ids=[world.team1.id, world.team3.id]),
    )
    assert response.status_code == 422
    assert response.json["error"]["details"]["team_ids"] == [world.team3.id]


def test_publishing_tells_the_teams_members_live(live_server: LiveServer, world: World) -> None:
    listener = Listener()
    listener.record("allocation_published")
    connect_as(listener, live_server.url, "member@test.example")
    try:
        headers = {"Authorization": f"Bearer {api_token(live_server.url, 'manager@test.example')}"}
        made = requests.post(
            f"{live_server.url}/api/v1/spaces/{world.space1.id}/allocation-rounds",
            json=round_body(world),
            headers=headers,
            timeout=WAIT,
        ).json()
        requests.post(
            f"{live_server.url}/api/v1/allocation-rounds/{made['id']}/publish", headers=headers, timeout=WAIT
        )
        event = listener.wait_for("allocation_published")[0]
        assert event["round_id"] == made["id"]
    finally:
        listener.client.disconnect()


def test_a_manager_runs_reviews_and_publishes_a_round_from_the_pages(client: Client, world: World) -> None:
    client.login("manager@test.example")
    page = client.get(f"/spaces/{world.space1.id}/allocation-rounds?lang=zh").get_data(as_text=True)
    assert "分配轮次" in page and "李导师" in page
    form = {
        "kind": "mentor",
        "title": "Round one",
        f"capacity-{world.mentor1.id}": "2",
        "team_ids": [str(world.team1.id), str(world.team2.id)],
        "units_per_assignment": "2",
    }
    made = client.form(f"/spaces/{world.space1.id}/allocation-rounds", form)
    assert made.status_code == 302, made.get_data(as_text=True)[:300]
    review = client.get(made.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "Round one" in review and "Unassigned" in review and "Publish to teams and mentors" in review
    token_from = made.headers["Location"]
    client.form(made.headers["Location"] + "/publish", {}, token_from=token_from)
    assert "published" in client.get(made.headers["Location"] + "?lang=en").get_data(as_text=True)


def test_a_round_with_nothing_offered_is_refused_on_the_page(client: Client, world: World) -> None:
    client.login("manager@test.example")
    response = client.form(
        f"/spaces/{world.space1.id}/allocation-rounds",
        {"kind": "mentor", f"capacity-{world.mentor1.id}": "0", "team_ids": [str(world.team1.id)]},
    )
    assert response.status_code == 422
    assert "容量为零" in response.get_data(as_text=True) or "zero capacity" in response.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("founder@test.example")
    assert client.get(f"/spaces/{world.space1.id}/allocation-rounds").status_code == 403


def test_a_publish_and_a_discard_at_once_leave_exactly_one_decision(
    live_server: LiveServer, world: World, db: Session
) -> None:
    from models import AllocationRound
    from tests.conftest import fresh
    from tests.web.test_booking_change_race import Call, at_once

    token = api_token(live_server.url, "manager@test.example")
    for _ in range(8):
        made = requests.post(
            f"{live_server.url}/api/v1/spaces/{world.space1.id}/allocation-rounds",
            json=round_body(world),
            headers={"Authorization": f"Bearer {token}"},
            timeout=WAIT,
        )
        assert made.status_code == 201, made.text
        round_id = made.json()["id"]
        publish, discard = at_once(
            live_server.url,
            [
                Call("POST", f"/allocation-rounds/{round_id}/publish", token),
                Call("POST", f"/allocation-rounds/{round_id}/discard", token),
            ],
        )
        assert sorted([publish.status_code, discard.status_code]) == [200, 409], (publish.text, discard.text)
        winner = publish if publish.status_code == 200 else discard
        fresh(db)
        assert db.get(AllocationRound, round_id).status.value == winner.json()["status"]  # type: ignore[union-attr]
