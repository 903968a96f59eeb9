"""Every field of EmailEngine's published REST contract, for every route Mailgate serves, is in
our /openapi.json: request body, query string, path parameters and response (the fixture is the
field list of EmailEngine's OpenAPI document; the subsystems its ``about`` names as out of scope have
no operations in it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

FIXTURE = Path(__file__).parent.parent / "fixtures" / "emailengine-operations.json"
OPERATIONS: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["operations"]

#: EmailEngine routes of subsystems Mailgate does not have yet. Listed, not skipped: the test fails
#: when one of these appears in our document (then it is checked like the rest and leaves this list)
#: and when a route disappears from it without being listed here.
NOT_SERVED = {
    ("POST", "/v1/account/{account}/export"): "exports",
    ("GET", "/v1/account/{account}/export/{exportId}"): "exports",
    ("DELETE", "/v1/account/{account}/export/{exportId}"): "exports",
    ("GET", "/v1/account/{account}/export/{exportId}/download"): "exports",
    ("GET", "/v1/account/{account}/exports"): "exports",
    ("GET", "/v1/account/{account}/server-signatures"): "signatures",
    ("POST", "/v1/unified/search"): "unified search",
}


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """The document does not depend on the database: one backend is enough."""
    return str(request.param)


@pytest.fixture
async def document(client: httpx2.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


class Schemas:
    """Walks our document's schemas: references, unions and arrays."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 50:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
            seen += 1
        return schema

    def branches(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        schema = self.resolve(schema)
        found: list[dict[str, Any]] = []
        for key in ("anyOf", "oneOf", "allOf"):
            for branch in schema.get(key, []):
                found += self.branches(branch)
        return found or [schema]

    def properties(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The named properties of an object schema. An object that takes any key but names none
        does not list EmailEngine's fields: a document must name them to promise them."""
        props: dict[str, Any] = {}
        for branch in self.branches(schema):
            props.update(branch.get("properties", {}))
        return props

    def items(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        return [b["items"] for b in self.branches(schema) if b.get("type") == "array" and "items" in b]

    def kinds(self, schema: dict[str, Any]) -> set[str] | None:
        """The JSON types ``schema`` allows; None when one of its branches allows any."""
        found: set[str] = set()
        for branch in self.branches(schema):
            kind = branch.get("type")
            if kind is None:
                return None
            found |= {kind} if isinstance(kind, str) else set(kind)
        return found

    def union(self, alternatives: list[Any], schema: dict[str, Any], where: str) -> list[str]:
        """A type union (``{"oneOf": ["boolean", ["string"]]}``): our schema must allow every
        alternative, and describe the fields of each structured one."""
        kinds = self.kinds(schema)
        gaps: list[str] = []
        for alt in alternatives:
            kind = (
                "array"
                if isinstance(alt, list)
                else "object"
                if isinstance(alt, dict)
                else str(alt).split()[0]
            )
            allowed = kinds is None or kind in kinds or (kind == "integer" and "number" in kinds)
            if not allowed:
                gaps.append(f"{where}<{kind}>")
            elif isinstance(alt, (dict, list)):
                gaps += self.missing(alt, schema, where)
        return gaps

    def missing(self, spec: Any, schema: dict[str, Any], where: str) -> list[str]:
        """Fields of ``spec`` (EmailEngine's field tree) that ``schema`` does not list."""
        if isinstance(spec, dict) and set(spec) == {"oneOf"}:
            return self.union(spec["oneOf"], schema, where)
        if isinstance(spec, list) and spec:
            inner = self.items(schema)
            if not inner:
                return [f"{where}[]"] if isinstance(spec[0], (dict, list)) else []
            return self.missing(spec[0], inner[0], f"{where}[]")
        if not isinstance(spec, dict):
            return []
        props = self.properties(schema)
        gaps: list[str] = []
        for name, sub in spec.items():
            if name in props:
                gaps += self.missing(sub, props[name], f"{where}.{name}")
            else:
                gaps.append(f"{where}.{name}")
        return gaps


def _served(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


async def test_unserved_routes_are_the_listed_ones(document: dict[str, Any]) -> None:
    ours = _served(document)
    theirs = {(op["method"], op["path"]) for op in OPERATIONS}
    assert theirs - ours == set(NOT_SERVED), "update NOT_SERVED: these routes changed status"


@pytest.mark.parametrize(
    "operation",
    [op for op in OPERATIONS if (op["method"], op["path"]) not in NOT_SERVED],
    ids=lambda op: f"{op['method']} {op['path']}",
)
async def test_every_field_is_in_our_document(document: dict[str, Any], operation: dict[str, Any]) -> None:
    ours = document["paths"].get(operation["path"], {}).get(operation["method"].lower())
    assert ours is not None, "route not served (add it to NOT_SERVED if that is intended)"
    schemas = Schemas(document)
    params = {(p["in"], p["name"]) for p in ours.get("parameters", [])}
    gaps = [f"path.{name}" for name in operation.get("pathParams", []) if ("path", name) not in params]
    gaps += [f"query.{name}" for name in operation.get("query", {}) if ("query", name) not in params]
    body = operation.get("body")
    if body:
        content: dict[str, Any] = ours.get("requestBody", {}).get("content", {})
        media: dict[str, Any] = next(iter(content.values()), {})
        schema = media.get("schema")
        gaps += ["body"] if schema is None else schemas.missing(body, schema, "body")
    response = operation.get("response")
    if isinstance(response, dict) and response:
        ok: dict[str, Any] = next((v for k, v in ours["responses"].items() if k.startswith("2")), {})
        media = next(iter(ok.get("content", {}).values()), {})
        schema = media.get("schema")
        gaps += ["response"] if schema is None else schemas.missing(response, schema, "response")
    assert not gaps, f"missing from /openapi.json: {', '.join(gaps)}"


def _sample(spec: Any) -> Any:
    """A value of the type EmailEngine documents, for checking that a field is accepted at all."""
    if isinstance(spec, dict) and set(spec) == {"oneOf"}:
        return _sample(spec["oneOf"][0])
    if isinstance(spec, dict):
        return {name: _sample(sub) for name, sub in spec.items()}
    if isinstance(spec, list):
        return [_sample(spec[0])] if spec else []
    text = str(spec)
    if "enum [" in text:
        first = text.split("enum [", 1)[1].split(",")[0].split("]")[0].strip()
        return {"False": False, "True": True}.get(first, first.strip("'\""))
    kind = text.split(" ")[0]
    if "date-time" in text:
        return "2030-01-01T00:00:00Z"
    return {"boolean": True, "integer": 1, "number": 1, "object": {}, "array": []}.get(kind, "x")


@pytest.mark.parametrize(
    "operation",
    [op for op in OPERATIONS if (op["method"], op["path"]) not in NOT_SERVED and op.get("body")],
    ids=lambda op: f"{op['method']} {op['path']}",
)
def test_no_documented_field_is_refused_as_unknown(operation: dict[str, Any]) -> None:
    """A body with every field EmailEngine documents may fail on values, never as 'Unknown field'."""
    from pydantic import ValidationError

    from app.main import endpoints

    [endpoint] = [e for e in endpoints() if (e.method, e.path) == (operation["method"], operation["path"])]
    assert endpoint.body is not None
    try:
        endpoint.body.model_validate(_sample(operation["body"]))
    except ValidationError as exc:
        unknown = [".".join(map(str, e["loc"])) for e in exc.errors() if e["type"] == "extra_forbidden"]
        assert not unknown, f"refused as unknown: {', '.join(unknown)}"


def test_a_type_union_needs_every_alternative() -> None:
    """``{"oneOf": [...]}`` in EmailEngine's tree is a union of types, not a field called oneOf."""
    strings = {"type": "array", "items": {"type": "string"}}
    walker = Schemas({"components": {"schemas": {"Strings": strings}}})
    union = {"flag": {"oneOf": ["boolean", ["string"]]}}
    both = {
        "properties": {"flag": {"anyOf": [{"type": "boolean"}, {"$ref": "#/components/schemas/Strings"}]}}
    }
    assert walker.missing(union, both, "r") == []
    assert walker.missing(union, {"properties": {"flag": {"type": "boolean"}}}, "r") == ["r.flag<array>"]
    assert walker.missing(union, {"properties": {"flag": strings}}, "r") == ["r.flag<boolean>"]
    assert walker.missing(union, {"properties": {"oneOf": {}}}, "r") == ["r.flag"]
    assert walker.missing(union, {"properties": {"flag": {}}}, "r") == []  # untyped allows anything
    shapes = {"x": {"oneOf": ["string", {"a": "string", "b": "integer"}]}}
    partial = {
        "properties": {"x": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {"a": {}}}]}}
    }
    assert walker.missing(shapes, partial, "r") == ["r.x.b"]


async def test_account_tls_settings_are_described_as_they_are_accepted(document: dict[str, Any]) -> None:
    """Our own fields beyond EmailEngine's: what an account's ``tls`` takes, its answer describes."""
    from app.schemas.accounts import TlsInput

    walker = Schemas(document)
    ok = document["paths"]["/v1/account/{account}"]["get"]["responses"]["200"]
    account = ok["content"]["application/json"]["schema"]
    accepted = {(f.alias or name): "string" for name, f in TlsInput.model_fields.items()}
    for server in ("imap", "smtp"):
        assert walker.missing({server: {"tls": accepted}}, account, "response") == []
