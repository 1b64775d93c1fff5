"""Each role against each kind of object, through the JSON API with real session logins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ROLE_NAMES, Client, World
from tests.web.booking_support import iso, next_week

Request = Callable[[Client, World], Any]


def _patch_resource(attr: str) -> Request:
    return lambda c, w: c.patch(
        f"/api/v1/resources/{getattr(w, attr).id}", json={"name_en": "Renamed"}, headers=_csrf(c)
    )


def _csrf(c: Client) -> dict[str, str]:
    return {"X-CSRFToken": c.csrf_token("/")}


def _as(client: Client, world: World, who: str | None) -> Client:
    if who is not None:
        client.login(world.users[who].email)
    return client


ACTIONS: dict[str, tuple[Request, dict[str, int]]] = {
    # action: (request, expected status by role; roles not listed expect the "*" entry)
    "edit equipment": (
        _patch_resource("equipment1"),
        {"admin": 200, "manager": 200, "host": 200, "anonymous": 401, "*": 403},
    ),
    "edit a mentor profile": (
        _patch_resource("mentor1"),
        {"admin": 200, "manager": 200, "host": 200, "mentor": 200, "anonymous": 401, "*": 403},
    ),
    "retire a mentor profile": (
        lambda c, w: c.post(
            f"/api/v1/resources/{w.mentor1.id}/retire", json={"reason": "left"}, headers=_csrf(c)
        ),
        {"admin": 200, "manager": 200, "host": 200, "anonymous": 401, "*": 403},
    ),
    "add equipment for the host": (
        lambda c, w: c.post(
            "/api/v1/resources",
            json={
                "space_id": w.space1.id,
                "organization_id": w.host1.id,
                "kind": "equipment",
                "category": "testing",
                "name_zh": "示波器",
                "name_en": "Oscilloscope",
            },
            headers=_csrf(c),
        ),
        {"admin": 201, "manager": 201, "host": 201, "anonymous": 401, "*": 403},
    ),
    "read equipment": (
        lambda c, w: c.get(f"/api/v1/resources/{w.equipment1.id}"),
        {"*": 200},
    ),
    "read a team": (
        lambda c, w: c.get(f"/api/v1/teams/{w.team1.id}"),
        {
            "admin": 200,
            "manager": 200,
            "host": 200,
            "mentor": 200,
            "investor": 200,
            "founder": 200,
            "member": 200,
            "anonymous": 401,
            "*": 404,
        },
    ),
    "read a pending application": (
        lambda c, w: c.get(f"/api/v1/teams/{w.pending1.id}"),
        {"admin": 200, "manager": 200, "outsider": 200, "anonymous": 401, "*": 404},
    ),
    "edit a team": (
        lambda c, w: c.patch(
            f"/api/v1/teams/{w.team1.id}", json={"needs_en": "A probe station"}, headers=_csrf(c)
        ),
        {
            "admin": 200,
            "manager": 200,
            "founder": 200,
            "anonymous": 401,
            "host": 403,
            "mentor": 403,
            "investor": 403,
            "member": 403,
            "*": 404,
        },
    ),
    "promote a team": (
        lambda c, w: c.post(
            f"/api/v1/teams/{w.team1.id}/stage", json={"to": "accelerator"}, headers=_csrf(c)
        ),
        {
            "admin": 200,
            "manager": 200,
            "anonymous": 401,
            "host": 403,
            "mentor": 403,
            "investor": 403,
            "founder": 403,
            "member": 403,
            "*": 404,
        },
    ),
    "list a space's teams": (
        lambda c, w: c.get(f"/api/v1/spaces/{w.space1.id}/teams"),
        {
            "admin": 200,
            "manager": 200,
            "host": 200,
            "mentor": 200,
            "investor": 200,
            "anonymous": 401,
            "*": 403,
        },
    ),
    "edit a space's profile": (
        lambda c, w: c.patch(f"/api/v1/spaces/{w.space1.id}", json={"events_held": 12}, headers=_csrf(c)),
        {"admin": 200, "manager": 200, "anonymous": 401, "*": 403},
    ),
    "grant a role": (
        lambda c, w: c.post(
            f"/api/v1/spaces/{w.space1.id}/memberships",
            json={"email": "outsider@test.example", "role": "mentor"},
            headers=_csrf(c),
        ),
        {"admin": 201, "manager": 201, "anonymous": 401, "*": 403},
    ),
    "book equipment for a team": (
        lambda c, w: c.post(
            "/api/v1/bookings",
            json={
                "team_id": w.team1.id,
                "resource_id": w.equipment1.id,
                "starts_at": iso(next_week(1, 10)),
                "ends_at": iso(next_week(1, 11)),
            },
            headers=_csrf(c),
        ),
        {"admin": 201, "manager": 201, "founder": 201, "member": 201, "anonymous": 401, "*": 404},
    ),
    "set equipment's booking rules": (
        lambda c, w: c.patch(
            f"/api/v1/resources/{w.equipment1.id}/availability", json={"units": 2}, headers=_csrf(c)
        ),
        {"admin": 200, "manager": 200, "host": 200, "anonymous": 401, "*": 403},
    ),
    "close equipment for maintenance": (
        lambda c, w: c.post(
            f"/api/v1/resources/{w.equipment1.id}/blackouts",
            json={
                "starts_at": iso(next_week(1, 9)),
                "ends_at": iso(next_week(1, 12)),
                "reason": "calibration",
            },
            headers=_csrf(c),
        ),
        {"admin": 201, "manager": 201, "host": 201, "anonymous": 401, "*": 403},
    ),
    "certify a user on equipment": (
        lambda c, w: c.post(
            f"/api/v1/resources/{w.equipment1.id}/certifications",
            json={"user_id": w.id("founder")},
            headers=_csrf(c),
        ),
        {"admin": 201, "manager": 201, "host": 201, "anonymous": 401, "*": 403},
    ),
    "set a space's allowances": (
        lambda c, w: c.put(
            f"/api/v1/spaces/{w.space1.id}/allowances",
            json={"resource_kind": "equipment", "stage": "nursery", "free_hours_per_month": 4},
            headers=_csrf(c),
        ),
        {"admin": 200, "manager": 200, "anonymous": 401, "*": 403},
    ),
    "read a team's ledger": (
        lambda c, w: c.get(f"/api/v1/teams/{w.team1.id}/ledger"),
        {"admin": 200, "manager": 200, "founder": 200, "member": 200, "anonymous": 401, "*": 404},
    ),
    "run an allocation round": (
        lambda c, w: c.post(
            f"/api/v1/spaces/{w.space1.id}/allocation-rounds",
            json={
                "title": "Round",
                "resource_kind": "mentor",
                "team_ids": [w.team1.id],
                "capacity": [{"resource_id": w.mentor1.id, "units": 2}],
            },
            headers=_csrf(c),
        ),
        {"admin": 201, "manager": 201, "anonymous": 401, "*": 403},
    ),
    "read a space's utilization": (
        lambda c, w: c.get(f"/api/v1/spaces/{w.space1.id}/utilization"),
        {"admin": 200, "manager": 200, "anonymous": 401, "*": 403},
    ),
    "read a space's audit log": (
        lambda c, w: c.get(f"/api/v1/spaces/{w.space1.id}/audit"),
        {"admin": 200, "manager": 200, "anonymous": 401, "*": 403},
    ),
    "record an event of the space": (
        lambda c, w: c.post(
            f"/api/v1/spaces/{w.space1.id}/events",
            json={
                "kind": "event",
                "title_zh": "路演",
                "title_en": "Demo day",
                "starts_at": "2026-06-01T09:00:00+08:00",
                "ends_at": "2026-06-01T12:00:00+08:00",
            },
            headers=_csrf(c),
        ),
        {"admin": 201, "manager": 201, "anonymous": 401, "*": 403},
    ),
}
ROLES = ("anonymous", *ROLE_NAMES)
CASES = [(action, role) for action in ACTIONS for role in ROLES]


@pytest.mark.parametrize(("action", "role"), CASES, ids=[f"{a} as {r}" for a, r in CASES])
def test_permission_matrix(client: Client, world: World, action: str, role: str) -> None:
    request, expected = ACTIONS[action]
    _as(client, world, None if role == "anonymous" else role)
    response = request(client, world)
    want = expected.get(role, expected["*"])
    assert response.status_code == want, response.get_data(as_text=True)[:300]
    if want >= 400:
        assert set(response.json["error"]) == {"code", "message", "details"}
