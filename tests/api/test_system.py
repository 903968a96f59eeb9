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
    for path in ("/health", "/health/live", "/health/ready"):
        assert "security" not in doc["paths"][path]["get"], path
    assert "503" in doc["paths"]["/health/ready"]["get"]["responses"]


async def test_docs_page(client: httpx2.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/v1/account/{account}/reconnect" in r.text and "AccountCreate" in r.text


async def test_health(client: httpx2.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "broker": "ok", "version": r.json()["version"]}


async def test_health_live_and_ready(client: httpx2.AsyncClient) -> None:
    r = await client.get("/health/live")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = await client.get("/health/ready")
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
        ready = await client.get("/health/ready")
        assert ready.status_code == 503 and ready.json() == r.json()
        r = await client.get("/health/live")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        r = await client.get("/v1/accounts", headers={"Authorization": "Bearer " + "a" * 64})
        assert r.status_code == 503 and r.json()["code"] == "DatabaseUnavailable"
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


async def test_ready_follows_the_broker(tmp_path, redis_server) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app
    from app.services.context import Context
    from tests.conftest import make_settings
    from tests.servers.ports import free_port

    database = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    for redis_url, status, broker in (
        (redis_server.url, 200, "ok"),
        (f"redis://127.0.0.1:{free_port()}/0", 503, "unavailable"),
    ):
        ctx = Context.from_settings(make_settings(tmp_path, database, redis_url=redis_url))
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=create_app(ctx=ctx)), base_url="http://t"
        ) as client:
            r = await client.get("/health/ready")
            assert r.status_code == status and r.json()["broker"] == broker, r.text
            assert (await client.get("/health/live")).status_code == 200
        await ctx.close()
