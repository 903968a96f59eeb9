"""PostgreSQL goes away under a running app: routes that need the database answer 503
``DatabaseUnavailable`` (never a 500), liveness stays up, and everything recovers on its own once
the server is back, with no restart of the app."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2

from app.main import create_app
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from tests.conftest import make_settings
from tests.integration.conftest import wait_until
from tests.servers.postgres import Postgres

NEEDS_DATABASE = ("/v1/accounts", "/v1/stats", "/v1/outbox")


def _unavailable(r: httpx2.Response) -> None:
    assert r.status_code == 503, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"error", "code", "statusCode"}, body
    assert body["code"] == "DatabaseUnavailable" and body["statusCode"] == 503
    assert "database is unavailable" in body["error"].lower()


async def test_postgres_outage_answers_503_and_recovers(
    postgres_server: Postgres, postgres_url: str, tmp_path: Path
) -> None:
    ctx = Context.from_settings(make_settings(tmp_path, postgres_url))
    token, _ = await tokens.issue(ctx, OPERATOR, description="outage", scopes=["*"], account=None)
    auth = {"Authorization": f"Bearer {token}"}
    transport = httpx2.ASGITransport(app=create_app(ctx=ctx))
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://mailgate.test") as client:
            for path in NEEDS_DATABASE:  # the pool holds connections that the outage will cut
                assert (await client.get(path, headers=auth)).status_code == 200, path
            await asyncio.to_thread(postgres_server.halt)
            try:
                for path in NEEDS_DATABASE:
                    _unavailable(await client.get(path, headers=auth))
                # A write and a token that has never been seen fail the same way, not as a 401.
                account = {"account": "a", "name": "A", "imap": False}
                _unavailable(await client.post("/v1/account", json=account, headers=auth))
                _unavailable(
                    await client.get("/v1/accounts", headers={"Authorization": "Bearer " + "b" * 64})
                )
                r = await client.get("/health/ready")
                assert r.status_code == 503, r.text
                assert r.json()["database"] == "unavailable" and r.json()["status"] == "degraded"
                r = await client.get("/health/live")
                assert r.status_code == 200 and r.json() == {"status": "ok"}
            finally:
                await asyncio.to_thread(postgres_server.start)

            async def recovered() -> bool:
                ready = await client.get("/health/ready")
                listing = await client.get("/v1/accounts", headers=auth)
                return ready.status_code == 200 and listing.status_code == 200

            await wait_until(recovered, 30.0, "the app did not recover after PostgreSQL came back")
            for path in NEEDS_DATABASE:
                assert (await client.get(path, headers=auth)).status_code == 200, path
    finally:
        await ctx.close()
