"""Authentication, scopes and account binding on every route."""

from __future__ import annotations

import logging

import httpx2
import pytest

from app.main import create_app
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR

ACCOUNT = {"name": "A", "imap": {"host": "h.example", "port": 993}}

# (method, path, json) for every /v1 route that takes an account.
ACCOUNT_ROUTES = [
    ("GET", "/v1/account/{a}", None),
    ("PUT", "/v1/account/{a}", {"name": "x"}),
    ("DELETE", "/v1/account/{a}", None),
    ("PUT", "/v1/account/{a}/reconnect", {"reconnect": True}),
    ("PUT", "/v1/account/{a}/sync", {"sync": True}),
]
INSTANCE_ROUTES = [
    ("GET", "/v1/accounts", None),
    ("POST", "/v1/account", {"account": "new1", **ACCOUNT}),
    ("GET", "/v1/stats", None),
    ("POST", "/v1/verifyAccount", {"imap": {"host": "127.0.0.1", "port": 1}}),
    ("POST", "/v1/token", {"account": "mine"}),
]


async def token_for(ctx: Context, scopes: list[str], account: str | None = None) -> dict[str, str]:
    value, _ = await tokens.issue(ctx, OPERATOR, description="t", scopes=scopes, account=account)
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
async def two_accounts(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    for name in ("mine", "theirs"):
        assert (
            await client.post("/v1/account", json={"account": name, **ACCOUNT}, headers=auth)
        ).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"), ACCOUNT_ROUTES + INSTANCE_ROUTES + [("GET", "/v1/tokens", None)]
)
async def test_every_route_needs_a_token(
    client: httpx2.AsyncClient, method: str, path: str, body: object
) -> None:
    r = await client.request(method, path.format(a="mine"), json=body)
    assert r.status_code == 401
    assert r.json()["code"] == "AuthenticationRequired" and r.json()["statusCode"] == 401
    assert r.headers["www-authenticate"] == "Bearer"
    bad = await client.request(
        method, path.format(a="mine"), json=body, headers={"Authorization": "Bearer " + "0" * 64}
    )
    assert bad.status_code == 401


async def test_token_in_query_string(client: httpx2.AsyncClient, system_token: str) -> None:
    assert (await client.get(f"/v1/accounts?access_token={system_token}")).status_code == 200
    assert (await client.get("/v1/accounts?access_token=nope")).status_code == 401


async def test_malformed_authorization_headers(client: httpx2.AsyncClient, system_token: str) -> None:
    for header in (system_token, f"Basic {system_token}", "Bearer", "Bearer  ", f"Bearer {system_token}x"):
        assert (await client.get("/v1/accounts", headers={"Authorization": header})).status_code == 401
    assert (
        await client.get("/v1/accounts", headers={"Authorization": f"bearer {system_token}"})
    ).status_code == 200


@pytest.mark.usefixtures("two_accounts")
@pytest.mark.parametrize(("method", "path", "body"), ACCOUNT_ROUTES)
async def test_account_token_is_confined(
    client: httpx2.AsyncClient, ctx: Context, method: str, path: str, body: object
) -> None:
    mine = await token_for(ctx, ["api"], "mine")
    r = await client.request(method, path.format(a="theirs"), json=body, headers=mine)
    assert r.status_code == 403 and r.json()["code"] == "Forbidden"
    r = await client.request(method, path.format(a="ghost"), json=body, headers=mine)
    assert r.status_code == 403  # no probing for which ids exist
    r = await client.request(method, path.format(a="mine"), json=body, headers=mine)
    assert r.status_code == 200


@pytest.mark.usefixtures("two_accounts")
@pytest.mark.parametrize(("method", "path", "body"), INSTANCE_ROUTES)
async def test_account_token_cannot_use_instance_routes(
    client: httpx2.AsyncClient, ctx: Context, method: str, path: str, body: object
) -> None:
    mine = await token_for(ctx, ["*"], "mine")
    r = await client.request(method, path, json=body, headers=mine)
    assert r.status_code == 403 and r.json()["code"] == "Forbidden"


async def test_scopes(client: httpx2.AsyncClient, ctx: Context) -> None:
    metrics_only = await token_for(ctx, ["metrics"])
    api_only = await token_for(ctx, ["api"])
    smtp_only = await token_for(ctx, ["smtp", "imap-proxy"])
    everything = await token_for(ctx, ["*"])
    assert (await client.get("/v1/accounts", headers=metrics_only)).status_code == 403
    assert (await client.get("/v1/accounts", headers=smtp_only)).status_code == 403
    assert (await client.get("/v1/accounts", headers=api_only)).status_code == 200
    assert (await client.get("/metrics", headers=api_only)).status_code == 403
    r = await client.get("/metrics", headers=metrics_only)
    assert r.status_code == 200 and "mailgate_accounts" in r.text
    assert (await client.get("/metrics", headers=everything)).status_code == 200
    assert (await client.get("/v1/accounts", headers=everything)).status_code == 200


async def test_failed_logins_are_rate_limited(ctx: Context, system_token: str) -> None:
    from dataclasses import replace

    ctx.settings = replace(ctx.settings, auth_failures_per_minute=5)
    app = create_app(settings=ctx.settings, ctx=ctx)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t") as client:
        for _ in range(5):
            r = await client.get("/v1/accounts", headers={"Authorization": "Bearer " + "f" * 64})
            assert r.status_code == 401
        r = await client.get("/v1/accounts", headers={"Authorization": "Bearer " + "f" * 64})
        assert r.status_code == 429 and r.json()["code"] == "RateLimitExceeded"
        assert 1 <= int(r.headers["retry-after"]) <= 61
        r = await client.get("/v1/accounts")  # no token at all: also refused while limited
        assert r.status_code == 429
        # Only failures are limited: a valid token from the same address still works.
        r = await client.get("/v1/accounts", headers={"Authorization": f"Bearer {system_token}"})
        assert r.status_code == 200
    other = httpx2.ASGITransport(app=app, client=("127.0.0.2", 1))
    async with httpx2.AsyncClient(transport=other, base_url="http://t") as client:
        r = await client.get("/v1/accounts", headers={"Authorization": f"Bearer {system_token}"})
        assert r.status_code == 200


def test_query_tokens_are_redacted_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    from app import logs

    logs.install()
    logger = logging.getLogger("uvicorn.access")
    secret = "ab" * 32
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:1",
            "GET",
            f"/v1/accounts?access_token={secret}&x=1",
            "1.1",
            200,
        )
    assert secret not in caplog.text
    assert "access_token=[redacted]&x=1" in caplog.text
