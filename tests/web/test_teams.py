"""Admission against the entry criteria, and the stage history from nursery to graduation or exit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import StageChange, Team
from tests.conftest import Client, World, fresh


def api(client: Client, method: str, url: str, body: Any = None) -> Any:
    return client.open(url, method=method, json=body, headers={"X-CSRFToken": client.csrf_token("/")})


def criteria(world: World, *, met: bool = True) -> dict[str, bool]:
    return {c["key"]: met for c in world.space1.entry_criteria}


def test_apply_review_promote_graduate_keeps_the_full_history(
    client: Client, world: World, db: Session
) -> None:
    client.login("outsider@test.example")
    applied = api(
        client,
        "POST",
        "/api/v1/teams",
        {
            "space_id": world.space1.id,
            "name_zh": "量子传感",
            "name_en": "Quantum sensing",
            "tags": ["machine-vision"],
        },
    )
    assert applied.status_code == 201
    team_id = applied.json["id"]
    assert applied.json["admission_status"] == "pending"
    assert applied.json["stage_history"] == []
    assert applied.json["members"][0]["role"] == "lead"

    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("manager@test.example")
    admitted = api(
        client,
        "POST",
        f"/api/v1/teams/{team_id}/review",
        {
            "decision": "admitted",
            "criteria_met": criteria(world),
            "stage": "nursery",
            "residence_start": "2026-03-31",
            "free_months": 6,
        },
    )
    assert admitted.status_code == 200, admitted.json
    assert admitted.json["free_residence_end"] == "2026-09-30"  # month-end clamps
    for stage in ("incubator", "accelerator", "graduated"):
        assert api(client, "POST", f"/api/v1/teams/{team_id}/stage", {"to": stage}).status_code == 200
    history = api(client, "GET", f"/api/v1/teams/{team_id}").json["stage_history"]
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "nursery"),
        ("nursery", "incubator"),
        ("incubator", "accelerator"),
        ("accelerator", "graduated"),
    ]
    assert all(h["changed_by"] == "Manager" for h in history)
    graduated_again = api(client, "POST", f"/api/v1/teams/{team_id}/stage", {"to": "exited", "reason": "x"})
    assert graduated_again.status_code == 409
    assert graduated_again.json["error"]["code"] == "invalid_transition"


def test_admission_needs_every_entry_criterion(client: Client, world: World, db: Session) -> None:
    client.login("manager@test.example")
    partly = criteria(world)
    partly["core_team"] = False
    response = api(
        client,
        "POST",
        f"/api/v1/teams/{world.pending1.id}/review",
        {"decision": "admitted", "criteria_met": partly},
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "criteria_not_met"
    assert response.json["error"]["details"]["unmet"] == ["core_team"]
    fresh(db)
    assert db.get(Team, world.pending1.id).admission_status.value == "pending"


def test_declining_needs_a_note_and_is_final(client: Client, world: World) -> None:
    client.login("manager@test.example")
    url = f"/api/v1/teams/{world.pending1.id}/review"
    assert api(client, "POST", url, {"decision": "rejected"}).json["error"]["details"]["fields"] == {
        "note": "required"
    }
    assert api(client, "POST", url, {"decision": "rejected", "note": "Outside our niche"}).status_code == 200
    again = api(client, "POST", url, {"decision": "admitted", "criteria_met": criteria(world)})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "invalid_transition"


def test_exit_needs_a_reason_and_records_it(client: Client, world: World, db: Session) -> None:
    client.login("manager@test.example")
    url = f"/api/v1/teams/{world.team1.id}/stage"
    assert api(client, "POST", url, {"to": "exited"}).status_code == 409
    response = api(client, "POST", url, {"to": "exited", "reason": "Moved to another city"})
    assert response.status_code == 200
    assert response.json["exit_reason"] == "Moved to another city"
    fresh(db)
    changes = db.query(StageChange).filter_by(team_id=world.team1.id).order_by(StageChange.id).all()
    assert [(c.to_stage.value, c.reason) for c in changes][-1] == ("exited", "Moved to another city")
    # An exited team's profile is frozen.
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("founder@test.example")
    assert api(client, "PATCH", f"/api/v1/teams/{world.team1.id}", {"needs_en": "x"}).status_code == 409


def test_the_lead_manages_members_but_the_last_lead_stays(client: Client, world: World) -> None:
    client.login("founder@test.example")
    added = api(client, "POST", f"/api/v1/teams/{world.team1.id}/members", {"email": "outsider@test.example"})
    assert added.status_code == 201
    assert {m["display_name"] for m in added.json["members"]} == {"Founder", "Member", "Outsider"}
    duplicate = api(
        client, "POST", f"/api/v1/teams/{world.team1.id}/members", {"email": "outsider@test.example"}
    )
    assert duplicate.json["error"]["code"] == "already_exists"
    unknown = api(client, "POST", f"/api/v1/teams/{world.team1.id}/members", {"email": "nobody@test.example"})
    assert unknown.status_code == 422
    last_lead = api(client, "DELETE", f"/api/v1/teams/{world.team1.id}/members/{world.id('founder')}")
    assert last_lead.status_code == 409


def test_the_stage_history_page_shows_each_step(client: Client, world: World) -> None:
    client.login("manager@test.example")
    token = client.csrf_token(f"/teams/{world.team1.id}")
    client.post(f"/teams/{world.team1.id}/stage", data={"to": "accelerator", "csrf_token": token})
    page = client.get(f"/teams/{world.team1.id}?lang=en").get_data(as_text=True)
    assert "Stage history" in page
    assert page.count("<tr><td>") == 2  # admission into the incubator, then the promotion
    assert "Accelerator" in page


def test_the_review_form_admits_a_team(client: Client, world: World, db: Session) -> None:
    client.login("manager@test.example")
    url = f"/teams/{world.pending1.id}/review"
    form = {f"criterion.{c['key']}": "on" for c in world.space1.entry_criteria}
    form.update(decision="admitted", stage="nursery", free_months="12", note="Welcome")
    response = client.form(url, form)
    assert response.status_code == 302
    fresh(db)
    team = db.get(Team, world.pending1.id)
    assert team.admission_status.value == "admitted"
    assert (team.free_residence_end - team.residence_start).days > 360


def test_the_review_form_shows_unmet_criteria_in_words(client: Client, world: World) -> None:
    client.login("manager@test.example")
    response = client.form(f"/teams/{world.pending1.id}/review?lang=en", {"decision": "admitted"})
    assert response.status_code == 409
    assert "every entry criterion" in response.get_data(as_text=True)
