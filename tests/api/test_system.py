"""OpenAPI document, docs page, health and stats."""

from __future__ import annotations

import httpx2

from app.main import endpoints
from app.schemas.accounts import AccountCreate


async def test_openapi_document(client: httpx2.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    for ep in endpoints():
        assert ep.method.lower() in doc["paths"][ep.path], (ep.method, ep.path)
    register = doc["paths"]["/v1/account"]["post"]
    ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    # The published schema is the one that validates: same required fields, same strictness.
    assert set(schema["required"]) == {
        name for name, f in AccountCreate.model_fields.items() if f.is_required()
    }
    assert schema["additionalProperties"] is False
    assert {"400", "401", "403", "413", "415"} <= set(register["responses"])
    listing = doc["paths"]["/v1/accounts"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"page", "pageSize", "state", "query"}
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert "security" not in doc["paths"]["/health"]["get"]


async def test_docs_page(client: httpx2.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/v1/account/{account}/reconnect" in r.text and "AccountCreate" in r.text


async def test_health(client: httpx2.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "broker": "ok", "version": r.json()["version"]}


async def test_health_reports_a_dead_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app
    from app.services.context import Context
    from tests.conftest import make_settings

    # Nothing listens on port 1.
    ctx = Context.from_settings(make_settings(tmp_path, "postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    app = create_app(ctx=ctx)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t") as client:
        r = await client.get("/health")
        assert r.status_code == 503 and r.json()["database"] == "unavailable"
        r = await client.get("/v1/accounts", headers={"Authorization": "Bearer " + "a" * 64})
        assert r.status_code == 503 and r.json()["code"] == "ServiceUnavailable"
    await ctx.close()


async def test_stats(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    imap = {"host": "h.example", "port": 993}
    await client.post("/v1/account", json={"account": "a", "name": "A", "imap": imap}, headers=auth)
    await client.post("/v1/account", json={"account": "b", "name": "B", "imap": imap}, headers=auth)
    await client.post("/v1/account", json={"account": "c", "name": "C", "imap": False}, headers=auth)
    r = await client.get("/v1/stats", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["accounts"] == 3
    assert body["connections"]["init"] == 2 and body["connections"]["unset"] == 1
    assert body["connections"]["connected"] == 0
