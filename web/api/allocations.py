"""Allocation rounds in the JSON API: compute a draft, review it, publish it or discard it."""

from __future__ import annotations

from typing import Any

from flask import url_for

from matchmaker.errors import InvalidInput
from matchmaker.operations import allocations
from web.api import route, schemas
from web.db import get_session
from web.recommendations import model_folder
from web.security import current_principal

TAG = "matching"


@route(
    "/spaces/<int:space_id>/allocation-rounds",
    "POST",
    "Run an allocation round of mentor hours or pilot-line weeks over the teams that asked (managers); "
    "the optimal result is kept as a draft to review",
    tag=TAG,
    body=schemas.RoundIn,
    responses={201: "Draft computed", 422: "Zero capacity, unknown teams or resources"},
)
def create_round(space_id: int, body: schemas.RoundIn) -> Any:
    capacity: dict[int, int] = {}
    for line in body.capacity:
        if line.resource_id in capacity:
            raise InvalidInput(
                f"Resource {line.resource_id} is listed twice.",
                f"资源 {line.resource_id} 重复出现。",
                details={"fields": {"capacity": "duplicate"}},
            )
        capacity[line.resource_id] = line.units
    spec = allocations.RoundSpec(
        space_id=space_id,
        title=body.title,
        resource_kind=body.resource_kind,
        team_ids=body.team_ids,
        capacity=capacity,
        units_per_assignment=body.units_per_assignment,
        team_limit=body.team_limit,
        load_penalty=body.load_penalty,
        min_fit=body.min_fit,
    )
    found = allocations.create_round(get_session(), current_principal(), spec, model_folder=model_folder())
    location = url_for("api.get_round", round_id=found.id)
    return allocations.round_out(found, current_principal()), 201, {"Location": location}


@route("/spaces/<int:space_id>/allocation-rounds", "GET", "A space's allocation rounds (managers)", tag=TAG)
def list_rounds(space_id: int) -> Any:
    principal = current_principal()
    found = allocations.list_rounds(get_session(), principal, space_id)
    return {"items": [allocations.round_out(r, principal) for r in found]}


@route(
    "/allocation-rounds/<int:round_id>",
    "GET",
    "A round: all of it for managers; a published round's own lines for its teams and mentors",
    tag=TAG,
)
def get_round(round_id: int) -> Any:
    principal = current_principal()
    return allocations.round_out(allocations.get_round(get_session(), principal, round_id), principal)


@route(
    "/allocation-rounds/<int:round_id>/publish",
    "POST",
    "Publish a draft round: its teams and mentors are told",
    tag=TAG,
    responses={409: "Already published or discarded"},
)
def publish_round(round_id: int) -> Any:
    principal = current_principal()
    found = allocations.publish_round(get_session(), principal, round_id)
    return allocations.round_out(found, principal)


@route("/allocation-rounds/<int:round_id>/discard", "POST", "Discard a draft round", tag=TAG)
def discard_round(round_id: int) -> Any:
    principal = current_principal()
    found = allocations.discard_round(get_session(), principal, round_id)
    return allocations.round_out(found, principal)
