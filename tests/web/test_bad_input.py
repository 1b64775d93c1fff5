"""Every class of bad input gets a 4xx with the one error shape, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEntry, Resource, Team
from tests.conftest import Client, World, bearer, fresh


@pytest.fixture
def host_token(client: Client, world: World) -> dict[str, str]:
    response = client.post(
        "/api/v1/tokens",
        json={"email": "host@test.example", "password": "correct horse battery staple", "name": "tests"},
    )
    assert response.status_code == 201
    return bearer(response.json["token"])


def new_resource(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "space_id": world.space1.id,
        "organization_id": world.host1.id,
        "kind": "equipment",
        "category": "testing",
        "name_zh": "探针台",
        "name_en": "Probe station",
    }
    body.update(overrides)
    return body


def counts(db: Session) -> tuple[int, int, int]:
    fresh(db)
    return (
        db.scalar(select(func.count(Resource.id))) or 0,
        db.scalar(select(func.count(Team.id))) or 0,
        db.scalar(select(func.count(AuditEntry.id))) or 0,
    )


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    body = response.json
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


BAD_RESOURCES = {
    "unknown field": ({"colour": "red"}, 422, "invalid_input", "colour"),
    "wrong type: capacity as text": ({"capacity": "5"}, 422, "invalid_input", "capacity"),
    "wrong type: name as number": ({"name_en": 12}, 422, "invalid_input", "name_en"),
    "over-long name": ({"name_en": "x" * 201}, 422, "invalid_input", "name_en"),
    "over-long description": ({"description_zh": "长" * 4001}, 422, "invalid_input", "description_zh"),
    "empty name": ({"name_zh": "   "}, 422, "invalid_input", "name_zh"),
    "NUL character in text": ({"name_en": "probe\u0000station"}, 422, "invalid_input", "name_en"),
    "negative price": ({"price_cny": -1}, 422, "invalid_input", "price_cny"),
    "zero capacity": ({"capacity": 0}, 422, "invalid_input", "capacity"),
    "unknown kind": ({"kind": "spaceship"}, 422, "invalid_input", "kind"),
    "category of another kind": ({"category": "desk"}, 422, "invalid_input", "category"),
    "attribute of another kind": (
        {"attributes": {"monthly_hours": 3}},
        422,
        "invalid_input",
        "attributes.monthly_hours",
    ),
    "unknown tag": ({"tags": ["no-such-tag"]}, 422, "invalid_input", "tags"),
    "badly formed tag": ({"tags": ["Not A Slug"]}, 422, "invalid_input", "tags.0"),
    "price on a free resource": ({"price_unit": "free", "price_cny": 10}, 422, "invalid_input", "price_cny"),
    "organisation of another space": ({"organization_id": -1}, 422, "invalid_input", "organization_id"),
}


@pytest.mark.parametrize("case", list(BAD_RESOURCES), ids=list(BAD_RESOURCES))
def test_bad_resource_input_is_refused_and_nothing_is_written(
    client: Client, world: World, db: Session, host_token: dict[str, str], case: str
) -> None:
    overrides, status, code, field = BAD_RESOURCES[case]
    before = counts(db)
    response = client.post("/api/v1/resources", json=new_resource(world, **overrides), headers=host_token)
    error = assert_error(response, status, code)
    assert field in error["details"]["fields"], error
    assert counts(db) == before


def test_an_organisation_of_another_space_is_refused(
    client: Client, world: World, db: Session, host_token: dict[str, str]
) -> None:
    before = counts(db)
    response = client.post(
        "/api/v1/resources", json=new_resource(world, organization_id=world.host2.id), headers=host_token
    )
    assert_error(response, 422, "invalid_input")
    assert counts(db) == before


def test_a_resource_for_another_space_is_forbidden(
    client: Client, world: World, db: Session, host_token: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/resources",
        json=new_resource(world, space_id=world.space2.id, organization_id=world.host2.id),
        headers=host_token,
    )
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/api/v1/resources/999999", "resource"),
        ("/api/v1/spaces/999999", "space"),
        ("/api/v1/teams/999999", "team"),
    ],
)
def test_unknown_ids_are_404(
    client: Client, world: World, host_token: dict[str, str], url: str, kind: str
) -> None:
    error = assert_error(client.get(url, headers={**host_token, "Accept-Language": "en"}), 404, "not_found")
    assert kind in error["message"]


def test_a_space_id_that_is_not_a_number_is_404(client: Client, world: World) -> None:
    assert_error(client.get("/api/v1/resources/abc"), 404, "not_found")


def test_editing_a_retired_resource_is_a_conflict(
    client: Client, world: World, db: Session, host_token: dict[str, str]
) -> None:
    rid = world.equipment1.id
    assert (
        client.post(
            f"/api/v1/resources/{rid}/retire", json={"reason": "sold"}, headers=host_token
        ).status_code
        == 200
    )
    assert_error(
        client.patch(f"/api/v1/resources/{rid}", json={"name_en": "x"}, headers=host_token),
        409,
        "resource_retired",
    )
    assert_error(
        client.post(f"/api/v1/resources/{rid}/retire", json={"reason": "again"}, headers=host_token),
        409,
        "resource_retired",
    )
    fresh(db)
    assert db.get(Resource, rid).retired_reason == "sold"


def test_a_retired_resource_is_kept_and_hidden_from_the_public(
    client: Client, world: World, db: Session, host_token: dict[str, str]
) -> None:
    rid = world.equipment1.id
    client.post(f"/api/v1/resources/{rid}/retire", json={"reason": "sold"}, headers=host_token)
    assert client.get(f"/api/v1/resources/{rid}").status_code == 404
    assert client.get(f"/api/v1/resources/{rid}", headers=host_token).json["retired"] is True
    assert rid not in [r["id"] for r in client.get("/api/v1/resources").json["items"]]
    fresh(db)
    assert db.get(Resource, rid) is not None  # never hard-deleted


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        (b"{not json", {"Content-Type": "application/json"}, "body"),
        (b"", {"Content-Type": "application/json"}, "body"),
        (b"name_en=x", {"Content-Type": "application/x-www-form-urlencoded"}, "body"),
        (b"[1, 2]", {"Content-Type": "application/json"}, "body"),
    ],
)
def test_malformed_bodies_get_the_error_shape(
    client: Client, world: World, host_token: dict[str, str], body: bytes, headers: dict[str, str], field: str
) -> None:
    response = client.patch(
        f"/api/v1/resources/{world.equipment1.id}", data=body, headers={**host_token, **headers}
    )
    error = assert_error(response, 422, "invalid_input")
    assert error["details"]["fields"]


def test_nulling_a_required_field_is_refused(
    client: Client, world: World, host_token: dict[str, str]
) -> None:
    error = assert_error(
        client.patch(f"/api/v1/resources/{world.equipment1.id}", json={"name_zh": None}, headers=host_token),
        422,
        "invalid_input",
    )
    assert error["details"]["fields"] == {"name_zh": "required"}


def test_an_empty_patch_is_refused(client: Client, world: World, host_token: dict[str, str]) -> None:
    assert_error(
        client.patch(f"/api/v1/resources/{world.equipment1.id}", json={}, headers=host_token),
        422,
        "invalid_input",
    )


def test_bad_search_parameters_are_refused(client: Client, world: World) -> None:
    error = assert_error(client.get("/api/v1/resources?limit=1000&kind=rocket&bogus=1"), 422, "invalid_input")
    assert {"limit", "kind.0", "bogus"} <= set(error["details"]["fields"])


def test_a_team_application_with_bad_fields_writes_nothing(client: Client, world: World, db: Session) -> None:
    client.login("outsider@test.example")
    before = counts(db)
    response = client.post(
        "/api/v1/teams",
        json={
            "space_id": world.space1.id,
            "name_zh": "队",
            "name_en": "T",
            "stage": "graduated",
            "tags": ["no-such-tag"],
        },
        headers={"X-CSRFToken": client.csrf_token("/")},
    )
    assert_error(response, 422, "invalid_input")
    response = client.post(
        "/api/v1/teams",
        json={"space_id": world.space1.id, "name_zh": "队", "name_en": "T", "tags": ["no-such-tag"]},
        headers={"X-CSRFToken": client.csrf_token("/")},
    )
    assert_error(response, 422, "invalid_input")
    assert counts(db) == before


def test_a_duplicate_team_name_in_a_space_is_a_conflict(client: Client, world: World) -> None:
    client.login("outsider@test.example")
    response = client.post(
        "/api/v1/teams",
        json={"space_id": world.space1.id, "name_zh": "视觉芯片", "name_en": "Something else"},
        headers={"X-CSRFToken": client.csrf_token("/")},
    )
    assert_error(response, 409, "already_exists")


def test_errors_speak_the_users_language(client: Client, world: World) -> None:
    zh = client.get("/api/v1/resources/999999", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    en = client.get("/api/v1/resources/999999", headers={"Accept-Language": "en-US"})
    assert "资源" in zh.json["error"]["message"]
    assert "resource" in en.json["error"]["message"]


def test_unknown_api_routes_and_methods_use_the_error_shape(client: Client, world: World) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.put("/api/v1/spaces"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/spaces/99999999999999999999",
        "/api/v1/resources/99999999999999999999",
        "/api/v1/teams/99999999999999999999",
        "/resources/99999999999999999999",
    ],
)
def test_ids_beyond_the_id_range_are_not_found(client: Client, world: World, url: str) -> None:
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/resources?space_id=99999999999999999999",
        "/api/v1/directory?space_id=99999999999999999999",
        "/api/v1/directory?space_id=²",
    ],
)
def test_query_ids_beyond_the_range_are_refused(client: Client, world: World, url: str) -> None:
    assert_error(client.get(url), 422, "invalid_input")


def test_body_ids_beyond_the_range_are_refused(
    client: Client, world: World, host_token: dict[str, str]
) -> None:
    response = client.post("/api/v1/resources", json=new_resource(world, space_id=10**20), headers=host_token)
    assert assert_error(response, 422, "invalid_input")["details"]["fields"] == {"space_id": "out_of_range"}


def test_infinite_numbers_are_refused(client: Client, world: World, host_token: dict[str, str]) -> None:
    response = client.patch(
        f"/api/v1/resources/{world.fund1.id}",
        data='{"attributes": {"fund_size_10k_cny": 1e999}}',
        headers={**host_token, "Content-Type": "application/json"},
    )
    assert response.status_code in (403, 422)  # host staff of another organisation, or refused as infinite
    admin = client.post(
        "/api/v1/tokens", json={"email": "admin@test.example", "password": "correct horse battery staple"}
    ).json["token"]
    response = client.patch(
        f"/api/v1/resources/{world.fund1.id}",
        data='{"attributes": {"fund_size_10k_cny": 1e999}}',
        headers={**bearer(admin), "Content-Type": "application/json"},
    )
    assert assert_error(response, 422, "invalid_input")["details"]["fields"] == {
        "attributes.fund_size_10k_cny": "not_a_number"
    }


def test_a_residence_start_far_in_the_future_is_refused(client: Client, world: World) -> None:
    client.login("manager@test.example")
    criteria = {c["key"]: True for c in world.space1.entry_criteria}
    response = client.post(
        f"/api/v1/teams/{world.pending1.id}/review",
        json={"decision": "admitted", "criteria_met": criteria, "residence_start": "9999-12-01"},
        headers={"X-CSRFToken": client.csrf_token("/")},
    )
    assert assert_error(response, 422, "invalid_input")["details"]["fields"] == {
        "residence_start": "out_of_range"
    }


def test_profile_fields_longer_than_their_columns_are_refused(client: Client, world: World) -> None:
    client.login("manager@test.example")
    response = client.patch(
        f"/api/v1/spaces/{world.space1.id}",
        json={"contact_name": "x" * 150},
        headers={"X-CSRFToken": client.csrf_token("/")},
    )
    assert assert_error(response, 422, "invalid_input")["details"]["fields"] == {"contact_name": "too_long"}


def test_control_characters_in_page_forms_are_refused(client: Client, world: World, db: Session) -> None:
    client.login("host@test.example")
    page = f"/resources/{world.equipment1.id}"
    client.form(f"{page}/retire", {"reason": "broken\x00down"}, token_from=page)
    fresh(db)
    assert not world.equipment1.is_retired
    assert_error(client.get("/api/v1/resources?category=%00"), 422, "invalid_input")
