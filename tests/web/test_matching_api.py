"""Recommendations through the API: who may ask, what comes back, and in which language."""

from __future__ import annotations

import pytest

from matchmaker.operations import matching
from tests.conftest import Client, World


@pytest.fixture(autouse=True)
def _fresh_rankers() -> None:
    matching.reset_ranker_cache()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("founder", 200),
        ("member", 200),
        ("manager", 200),
        ("admin", 200),
        ("mentor", 403),
        ("other_founder", 404),
        ("manager2", 404),
    ],
)
def test_only_the_team_and_its_managers_see_its_recommendations(
    client: Client, world: World, who: str, status: int
) -> None:
    client.login(f"{who}@test.example")
    response = client.get(f"/api/v1/teams/{world.team1.id}/recommendations?lang=en")
    assert response.status_code == status, response.json


def test_recommendations_come_with_reasons_in_the_viewers_language(client: Client, world: World) -> None:
    client.login("founder@test.example")
    en = client.get(
        f"/api/v1/teams/{world.team1.id}/recommendations?kind=mentor", headers={"Accept-Language": "en"}
    ).json
    zh = client.get(
        f"/api/v1/teams/{world.team1.id}/recommendations?kind=mentor", headers={"Accept-Language": "zh"}
    ).json
    assert en["mode"] == "cold-start score"
    assert en["ranker"]["served"] == "cold-start score" and en["ranker"]["label"] == "cold-start score"
    assert en["ranker"]["selected_on_validation"] is False
    assert zh["ranker"]["label"] == "冷启动评分（内容与图）"
    assert [i["name_en"] for i in en["items"]] == ["Li · machine vision mentor"]
    assert "Shared capabilities: machine vision" in [r["text"] for r in en["items"][0]["reasons"]]
    assert "共同能力：机器视觉" in [r["text"] for r in zh["items"][0]["reasons"]]


def test_a_pending_team_has_no_recommendations_yet(client: Client, world: World) -> None:
    client.login("outsider@test.example")
    response = client.get(f"/api/v1/teams/{world.pending1.id}/recommendations")
    assert response.status_code == 409


def test_why_not_names_the_rank_and_what_holds_a_resource_back(client: Client, world: World) -> None:
    client.login("founder@test.example")
    response = client.get(
        f"/api/v1/teams/{world.team1.id}/recommendations/why-not?resource_id={world.fund1.id}"
    )
    assert response.status_code == 200
    assert response.json["rank"] >= 1 and response.json["of"] == 3
    other_space = client.get(
        f"/api/v1/teams/{world.team1.id}/recommendations/why-not?resource_id={world.equipment2.id}&lang=en"
    ).json
    assert other_space["rank"] is None
    assert other_space["held_back_by"][0]["text"] == "It belongs to another space"
    assert (
        client.get(f"/api/v1/teams/{world.team1.id}/recommendations/why-not?resource_id=999999").status_code
        == 404
    )


@pytest.mark.parametrize(
    ("who", "status"), [("mentor", 200), ("host", 200), ("manager", 200), ("founder", 403), ("investor", 403)]
)
def test_a_mentor_sees_the_teams_that_fit_both_ways(
    client: Client, world: World, who: str, status: int
) -> None:
    client.login(f"{who}@test.example")
    response = client.get(f"/api/v1/resources/{world.mentor1.id}/recommended-teams?lang=en")
    assert response.status_code == status
    if status == 200:
        names = [i["name_en"] for i in response.json["items"]]
        assert names[0] == "Vision chip"  # shares the machine-vision capability
        assert all(0 < i["score"] <= 1 for i in response.json["items"])
        for item in response.json["items"]:  # the score is the harmonic mean of the two sides shown
            a, b = item["team_side"], item["resource_side"]
            assert item["score"] == pytest.approx(2 * a * b / (a + b), abs=1e-3)


def test_bad_recommendation_parameters_are_refused(client: Client, world: World) -> None:
    client.login("founder@test.example")
    assert client.get(f"/api/v1/teams/{world.team1.id}/recommendations?k=500").status_code == 422
    assert client.get(f"/api/v1/teams/{world.team1.id}/recommendations?kind=rocket").status_code == 422
    assert client.get(f"/api/v1/teams/{world.team1.id}/recommendations/why-not").status_code == 422
