"""The OpenAPI 3.1 document, built from the routes' declared input models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from web.api import OPERATIONS, bp
from web.api.schemas import MAX_ID

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code, e.g. invalid_input"},
                "message": {
                    "type": "string",
                    "description": "A sentence a person understands, in their language",
                },
                "details": {
                    "type": "object",
                    "description": "Specifics, e.g. fields -> what is wrong",
                    "properties": {
                        "fields": {
                            "type": "object",
                            "description": "Each refused field (dotted for nested ones) -> a stable code, "
                            "e.g. out_of_range, too_long, control_characters, required",
                            "additionalProperties": {"type": "string"},
                        }
                    },
                },
            },
        }
    },
}


SUCCESS = {200: "OK", 201: "Created", 204: "Done; no content"}
# Ids in addresses are 32-bit (the ``int`` converter refuses the rest as "not found").
PATH_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    params = []
    schema = model.model_json_schema()
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if prop.get("type") == "array":
            param.update(style="form", explode=True)
        params.append(param)
    return params


def build_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    error_response = {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for op in OPERATIONS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", bp.url_prefix + op.rule)  # type: ignore[operator]
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', op.rule.lower()).strip('_')}",
            "responses": {
                "4XX": error_response,
                "503": {**error_response, "description": "The database is unreachable for a moment; retry"},
            },
        }
        for status, text in op.responses.items():
            if status >= 400:
                entry["responses"][str(status)] = {**error_response, "description": text}
        success: dict[str, Any] = {"description": op.responses.get(op.status, SUCCESS[op.status])}
        if op.answer is not None:
            success["content"] = {"application/json": {"schema": _schema_ref(op.answer, components)}}
        elif op.media is not None:
            success["content"] = {op.media: {"schema": {"type": "string", "format": "binary"}}}
        entry["responses"][str(op.status)] = success
        params = [
            {"name": name, "in": "path", "required": True, "schema": PATH_ID}
            for name in re.findall(r"{(\w+)}", path)
        ]
        if op.query is not None:
            params += _query_parameters(op.query)
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": _schema_ref(op.body, components)}},
            }
        entry["security"] = [{"bearer": []}, {"session": []}] if op.auth else [{}, {"bearer": []}]
        paths.setdefault(path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Specialized maker space platform API",
            "version": "1",
            "description": "Shared equipment, pilot lines, mentors, funds and teams of specialized maker "
            "spaces (专业化众创空间). Errors always have the shape of components.schemas.Error.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Personal access token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_document() -> Any:
    return build_document()
