"""The OpenAPI document, built from the same endpoint table and models that validate requests."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from app import __version__
from app.api.routing import Endpoint
from app.schemas.common import ErrorResponse

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Invalid input",
    401: "Missing or invalid token",
    403: "Token lacks the scope or is bound to another account",
    404: "Not found",
    413: "Body too large",
    415: "Body is not JSON",
    429: "Too many failed authentications",
    503: "Dependency unavailable",
}


def build(endpoints: list[Endpoint]) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorResponse, "serialization")]
    for ep in endpoints:
        pairs: tuple[tuple[type[BaseModel] | None, JsonSchemaMode], ...] = (
            (ep.body, "validation"),
            (ep.query, "validation"),
            (ep.response, "serialization"),
        )
        for model, mode in pairs:
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    refs, top = models_json_schema(wanted, ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(refs[(model, mode)])

    def resolve(model: type[BaseModel]) -> dict[str, Any]:
        name = refs[(model, "validation")]["$ref"].rsplit("/", 1)[-1]
        return dict(schemas[name])

    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for ep in endpoints:
        op_id = ep.handler.__name__.lstrip("_")
        if op_id in seen:  # one handler behind two paths (an alias)
            op_id += "_" + re.sub(r"\W+", "_", ep.path).strip("_")
        seen.add(op_id)
        op: dict[str, Any] = {
            "operationId": op_id,
            "summary": ep.summary,
            "tags": [ep.tag],
        }
        if ep.description:
            op["description"] = ep.description
        params: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", ep.path)
        ]
        if ep.query is not None:
            query_schema = resolve(ep.query)
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                param = {"name": name, "in": "query", "required": name in required, "schema": prop}
                if "description" in prop:
                    param["description"] = prop["description"]
                params.append(param)
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(ep.body, "validation")}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if ep.response is not None:
            ok["content"] = {ep.media_type: {"schema": ref(ep.response, "serialization")}}
        elif ep.media_type != "application/json":
            ok["content"] = {ep.media_type: {"schema": {"type": "string"}}}
        responses: dict[str, Any] = {str(ep.status): ok}
        codes = set(ep.errors)
        if ep.scope is not None:
            codes |= {401, 403, 429}
            op["security"] = [{"bearerAuth": []}, {"accessToken": []}]
        if ep.body is not None:
            codes |= {400, 413, 415}
        if params:  # path and query values are validated too (NUL characters, formats, ranges)
            codes.add(400)
        error_schema: dict[str, Any] = {"application/json": {"schema": ref(ErrorResponse, "serialization")}}
        if ep.media_type == "text/html":  # pages for people explain a refusal as a page
            error_schema["text/html"] = {"schema": {"type": "string"}}
        for code in sorted(codes):
            responses[str(code)] = {"description": ERROR_TEXT.get(code, "Error"), "content": error_schema}
        op["responses"] = responses
        paths.setdefault(ep.path, {})[ep.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Mailgate API",
            "version": __version__,
            "description": "Email accounts, mailboxes, messages and sending over one REST API.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "accessToken": {"type": "apiKey", "in": "query", "name": "access_token"},
            },
        },
    }
