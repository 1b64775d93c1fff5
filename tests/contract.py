"""Every answer of ``/api/v1`` that a test receives is checked against the OpenAPI document: its status
must be documented for the operation, and its body must match the documented schema."""

from __future__ import annotations

import functools
import re
from typing import Any

from flask import Flask
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.test import TestResponse

DOCUMENT_URI = "urn:matchmaker:openapi"
UNDOCUMENTED_PATHS = {"/api/v1/openapi.json"}
ANY_ERROR = {"4XX": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}


@functools.cache
def document() -> dict[str, Any]:
    from web.api.openapi import build_document

    return build_document()


@functools.cache
def _registry() -> Registry[Any]:
    return Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document(), default_specification=DRAFT202012)
    )


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{DOCUMENT_URI}{ref}"}, registry=_registry())


def _documented_responses(app: Flask, method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The operation the app routed the request to, and its documented responses."""
    try:
        rule, _ = app.url_map.bind("localhost").match(path, method, return_rule=True)
    except (HTTPException, RequestRedirect):
        return f"{method} {path} (no route)", ANY_ERROR
    template = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
    operation = document()["paths"].get(template, {}).get(method.lower())
    assert operation is not None, f"{method} {template} is routed but not in the OpenAPI document"
    return f"{method} {template}", operation["responses"]


def check_answer(app: Flask, response: TestResponse) -> None:
    """Fail the test that received an undocumented or non-conforming answer of the API."""
    request = response.request
    path, method = request.path, request.method
    if not path.startswith("/api/v1") or path in UNDOCUMENTED_PATHS or method in ("HEAD", "OPTIONS"):
        return
    name, responses = _documented_responses(app, method, path)
    status = response.status_code
    documented = responses.get(str(status)) or responses.get(f"{status // 100}XX")
    content = documented.get("content") if documented is not None else None
    if content is not None and "application/json" not in content:  # a file: its documented type, not empty
        assert response.mimetype in content, f"{name} answered {response.mimetype}, not {list(content)}"
        assert response.get_data(), f"{name} answered an empty file"
        return
    body = response.get_data(as_text=True)
    assert documented is not None, f"{name} answered {status}, which is not documented: {body[:500]}"
    if content is None:
        assert body == "", f"{name} answered {status} with a body it does not document: {body[:500]}"
        return
    assert response.mimetype == "application/json", f"{name} answered {response.mimetype}, not JSON"
    schema = content["application/json"]["schema"]
    errors = sorted(_validator(schema["$ref"]).iter_errors(response.get_json()), key=str)
    assert not errors, f"{name} answered {status} off its schema: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:5]
    )
