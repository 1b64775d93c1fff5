"""Hostile input: dates at the ends of the calendar, NUL bytes, numbers past their columns and ids past
32 bits are the caller's mistake (a 4xx in the one error shape, in the caller's language), refused
before any database work, whoever asks."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from matchmaker.operations import accounts
from tests.conftest import Client, World, bearer

FAR = ["9999-12-31T00:00:00Z", "0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59+08:00"]


@pytest.fixture
def tokens(world: World, db: Session) -> dict[str, dict[str, str]]:
    made = {name: bearer(accounts.create_token(db, world.users[name], "t")[1]) for name in world.users}
    db.commit()
    return made


def refused(response: Any, field: str, *, code: str = "out_of_range") -> None:
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    error = response.json["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["fields"][field] == code


@pytest.mark.parametrize("moment", FAR)
def test_far_dates_in_anonymous_calendar_queries_are_refused(
    client: Client, world: World, moment: str
) -> None:
    url = f"/api/v1/resources/{world.equipment1.id}/calendar"
    refused(client.get(url, query_string={"start": moment}), "start")
    refused(client.get(url, query_string={"end": moment}), "end")


@pytest.mark.parametrize("week", ["9999-12-31", "0001-01-01"])
def test_far_weeks_of_a_space_calendar_are_refused(client: Client, world: World, week: str) -> None:
    refused(client.get(f"/api/v1/spaces/{world.space1.id}/calendar?week={week}"), "week")


@pytest.mark.parametrize("moment", FAR)
def test_far_dates_in_booking_bodies_are_refused_for_every_caller(
    client: Client, world: World, tokens: dict[str, dict[str, str]], moment: str
) -> None:
    near = "2030-01-01T10:00:00+08:00"
    base = {"team_id": world.team1.id, "resource_id": world.equipment1.id}
    founder, host = tokens["founder"], tokens["host"]
    for path, body, who in [
        ("/api/v1/bookings", {**base, "starts_at": moment, "ends_at": near}, founder),
        ("/api/v1/bookings/quote", {**base, "starts_at": near, "ends_at": moment}, founder),
        ("/api/v1/waitlist", {**base, "starts_at": moment, "ends_at": near}, tokens["outsider"]),
        (
            f"/api/v1/resources/{world.equipment1.id}/blackouts",
            {"starts_at": moment, "ends_at": near, "reason": "calibration"},
            tokens["other_founder"],
        ),
        (
            f"/api/v1/resources/{world.equipment1.id}/certifications",
            {"user_id": world.id("founder"), "expires_at": moment},
            host,
        ),
    ]:
        field = (
            "expires_at"
            if "expires_at" in body
            else "ends_at"
            if body.get("ends_at") == moment
            else "starts_at"
        )
        refused(client.post(path, json=body, headers=who), field)
    refused(
        client.patch("/api/v1/bookings/1", json={"starts_at": near, "ends_at": moment}, headers=founder),
        "ends_at",
    )
    refused(
        client.get(
            "/api/v1/slots",
            query_string={"team_id": world.team1.id, "minutes": 60, "start": moment},
            headers=founder,
        ),
        "start",
    )


def test_far_dates_in_profiles_and_reviews_are_refused(
    client: Client, world: World, tokens: dict[str, dict[str, str]]
) -> None:
    manager = tokens["manager"]
    refused(
        client.patch(f"/api/v1/spaces/{world.space1.id}", json={"founded_on": "0001-01-01"}, headers=manager),
        "founded_on",
    )
    refused(
        client.post(
            f"/api/v1/teams/{world.pending1.id}/review",
            json={"decision": "admitted", "residence_start": "0001-01-01"},
            headers=manager,
        ),
        "residence_start",
    )


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_far_dates_on_the_calendar_page_are_refused(client: Client, world: World, day: str) -> None:
    response = client.get(f"/resources/{world.equipment1.id}/calendar?date={day}")
    assert response.status_code == 422
    assert "1900" in response.get_data(as_text=True)


def test_a_far_blackout_from_the_page_form_is_refused_and_writes_nothing(
    client: Client, world: World
) -> None:
    client.login("host@test.example")
    page = f"/resources/{world.equipment1.id}/calendar"
    response = client.form(
        f"/resources/{world.equipment1.id}/blackouts",
        {"starts_at": "0001-01-01T00:00", "ends_at": "0001-01-02T00:00", "reason": "x"},
        token_from=page,
    )
    assert response.status_code == 302
    calendar = client.get(f"/api/v1/resources/{world.equipment1.id}/calendar").json
    assert calendar["blackouts"] == []


@pytest.mark.parametrize("token", ["%00", "abc%00def", "x" * 300, "..%2F..%2Fetc"])
def test_calendar_feed_addresses_that_cannot_be_tokens_are_not_found(client: Client, token: str) -> None:
    assert client.get(f"/calendars/{token}.ics").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/resources?q=%00",
        "/api/v1/directory?q=a%00b",
        "/api/v1/resources?category=%00",
        "/api/v1/resources?price_max=1e308",
        "/api/v1/resources?price_max=nan",
        "/api/v1/directory?space_id=2147483648",
        "/api/v1/spaces/1/teams?status=%00",
    ],
)
def test_query_strings_with_nul_or_out_of_range_numbers_are_refused(
    client: Client, world: World, tokens: dict[str, dict[str, str]], url: str
) -> None:
    response = client.get(url, headers=tokens["manager"])
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_input"


def test_a_bearer_token_with_a_nul_byte_is_not_authenticated(client: Client, world: World) -> None:
    response = client.get("/api/v1/users/me", headers={"Authorization": "Bearer mmk_\x00abc"})
    assert response.status_code == 401


def test_refusals_speak_the_callers_language(client: Client, world: World) -> None:
    url = f"/api/v1/resources/{world.equipment1.id}/calendar?start=9999-12-31T00:00:00Z"
    chinese = client.get(url, headers={"Accept-Language": "zh-CN"}).json["error"]["message"]
    english = client.get(url, headers={"Accept-Language": "en"}).json["error"]["message"]
    assert "字段无效" in chinese
    assert english.startswith("Some fields are not valid")


def test_nul_bytes_in_body_strings_and_keys_are_refused_before_the_database(
    client: Client, world: World, tokens: dict[str, dict[str, str]]
) -> None:
    host, manager = tokens["host"], tokens["manager"]
    created = client.post(
        "/api/v1/resources",
        json={
            "space_id": world.space1.id,
            "organization_id": world.host1.id,
            "kind": "equipment",
            "category": "x\x00",
            "name_zh": "示波器",
            "name_en": "Oscilloscope",
        },
        headers=host,
    )
    refused(created, "category", code="control_characters")
    edited = client.patch(f"/api/v1/resources/{world.equipment1.id}", json={"category": "\x00"}, headers=host)
    refused(edited, "category", code="control_characters")
    reviewed = client.post(
        f"/api/v1/teams/{world.pending1.id}/review",
        json={"decision": "admitted", "criteria_met": {"a\x00": True}},
        headers=manager,
    )
    assert reviewed.status_code == 422
    assert list(reviewed.json["error"]["details"]["fields"].values()) == ["control_characters"]
