"""The OpenAPI document is valid and complete, and no input the schema allows or forbids yields a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from tests.conftest import Client, World, bearer

SPEC_PATHS = {
    "/api/v1/spaces",
    "/api/v1/spaces/{space_id}",
    "/api/v1/resources",
    "/api/v1/resources/{resource_id}",
    "/api/v1/teams",
    "/api/v1/teams/{team_id}",
    "/api/v1/users/me",
    "/api/v1/directory",
    "/api/v1/tags",
}


def test_the_openapi_document_is_valid_and_lists_the_collections(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    assert set(document["paths"]) >= SPEC_PATHS
    create = document["paths"]["/api/v1/resources"]["post"]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert document["components"]["schemas"][schema_name]["additionalProperties"] is False
    assert document["components"]["schemas"]["Error"]["properties"]["error"]["required"] == [
        "code",
        "message",
        "details",
    ]


def test_every_api_route_is_documented(app: Flask) -> None:
    from web.api.openapi import build_document

    documented = {(path, method) for path, ops in build_document()["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("openapi.json"):
            continue
        path = rule.rule.replace("<int:", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)


def test_every_success_has_a_documented_answer_model_and_errors_one_shape(app: Flask) -> None:
    from web.api.openapi import build_document

    document = build_document()
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
            assert len(successes) == 1, (method, path)
            (status, response), *_ = successes.items()
            if status == "204":
                assert "content" not in response, (method, path)
                continue
            if "application/json" not in response["content"]:  # a file answer, documented as binary
                ((media, content),) = response["content"].items()
                assert content["schema"] == {"type": "string", "format": "binary"}, (method, path, media)
                continue
            name = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            assert schemas[name].get("type") == "object" or "anyOf" in schemas[name], (method, path)
            errors = [r for s, r in operation["responses"].items() if s.startswith("4")]
            assert errors and all(
                r["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
                for r in errors
            ), (method, path)


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=12,
)
FIELDS = [
    "space_id",
    "organization_id",
    "kind",
    "category",
    "name_zh",
    "name_en",
    "price_cny",
    "price_unit",
    "capacity",
    "attributes",
    "tags",
    "to",
    "reason",
    "decision",
    "criteria_met",
    "stage",
    "email",
    "role",
    "needs_en",
    "funding_ask_10k_cny",
    "founded_on",
]
BODIES = st.dictionaries(st.sampled_from(FIELDS), JSONISH, max_size=6) | JSONISH


@pytest.fixture
def manager_token(client: Client, world: World) -> dict[str, str]:
    response = client.post(
        "/api/v1/tokens", json={"email": "admin@test.example", "password": "correct horse battery staple"}
    )
    return bearer(response.json["token"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=BODIES,
    target=st.sampled_from(
        [
            "POST /api/v1/resources",
            "PATCH /api/v1/resources/{r}",
            "POST /api/v1/teams",
            "PATCH /api/v1/teams/{t}",
            "POST /api/v1/teams/{t}/stage",
            "POST /api/v1/teams/{p}/review",
            "PATCH /api/v1/spaces/{s}",
            "POST /api/v1/spaces/{s}/memberships",
            "POST /api/v1/resources/{r}/retire",
        ]
    ),
)
def test_arbitrary_json_never_causes_a_server_error(
    client: Client, world: World, manager_token: dict[str, str], body: Any, target: str
) -> None:
    method, url = target.split(" ")
    url = url.format(r=world.equipment1.id, t=world.team1.id, p=world.pending1.id, s=world.space1.id)
    response = client.open(
        url,
        method=method,
        data=json.dumps(body),
        headers={**manager_token, "Content-Type": "application/json"},
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert set(response.json["error"]) == {"code", "message", "details"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "q",
                "kind",
                "category",
                "tag",
                "space_id",
                "price_max",
                "include_retired",
                "limit",
                "offset",
                "x",
            ]
        ),
        st.text(max_size=40),
        max_size=5,
    )
)
def test_arbitrary_search_parameters_never_cause_a_server_error(
    client: Client, world: World, params: dict[str, str]
) -> None:
    response = client.get("/api/v1/resources", query_string=params)
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:500]
