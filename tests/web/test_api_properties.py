"""A property-based run of the whole OpenAPI document against the app itself: for every operation,
generated requests (valid and invalid) as a founder, a manager and an anonymous visitor never meet a
server error, and every answer has a documented status and matches its documented schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from matchmaker.operations import accounts
from tests.conftest import World, bearer
from tests.contract import document

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Few examples per operation, so the three callers on both databases stay well under a minute on two
# cores; they differ from run to run, so repeated runs widen the search. Invalid requests (costlier to
# generate) are sent as the manager, whose requests reach furthest past the permission checks.
EXAMPLES = {GenerationMode.POSITIVE: 2, GenerationMode.NEGATIVE: 1}
MODES = {
    "founder": [GenerationMode.POSITIVE],
    "manager": [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    None: [GenerationMode.POSITIVE],
}


def _real_ids(world: World) -> dict[str, int]:
    """Ids that exist, so generated requests reach past "not found" into the views' real work."""
    return {
        "space_id": world.space1.id,
        "resource_id": world.equipment1.id,
        "team_id": world.team1.id,
        "user_id": world.id("member"),
    }


@pytest.mark.parametrize("caller", ["founder", "manager", None])
def test_no_generated_request_breaks_the_api_or_its_document(
    app: Flask, world: World, db: Session, caller: str | None
) -> None:
    headers: dict[str, str] = {}
    if caller is not None:
        _, secret = accounts.create_token(db, world.users[caller], "property run")
        db.commit()
        headers = bearer(secret)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    real = _real_ids(world)
    ran = 0
    for found in schema.get_all_operations():
        operation = found.ok()
        for mode in MODES[caller]:

            @settings(
                max_examples=EXAMPLES[mode],
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode), use_real_ids=st.booleans())
            def call(case: Any, use_real_ids: bool) -> None:
                if use_real_ids and case.path_parameters:
                    case.path_parameters = {
                        name: real.get(name, value) for name, value in case.path_parameters.items()
                    }
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS)

            try:
                call()
            except Unsatisfiable:
                # An operation without parameters or body has no invalid request to make.
                declared = document()["paths"][operation.path][operation.method.lower()]
                if mode is GenerationMode.POSITIVE or {"parameters", "requestBody"} & set(declared):
                    raise
        ran += 1
    assert ran == sum(len(operations) for operations in document()["paths"].values())
