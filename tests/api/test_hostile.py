"""Hostile REST input: every refusal is a 4xx in the error shape, never a 500 or a leaked secret."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
import uvicorn

from app.main import create_app, endpoints
from app.models import Setting
from app.services.context import Context
from tests.servers.ports import free_port

ACCOUNT = {"account": "acc1", "name": "Account One", "imap": {"host": "imap.example.com", "port": 993}}
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def assert_error(r: httpx2.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["statusCode"] == status and body["code"] and body["error"], body
    return body


DEEP = b"[" * 1100 + b"]" * 1100
BAD_BODIES = {
    "deep-array": DEEP,
    "deep-object": b'{"a":' * 1100 + b"1" + b"}" * 1100,
    "deep-inside-a-field": b'{"account": "x", "name": "n", "imap": ' + DEEP + b"}",
    "bad-utf8": b'{"account": "\xff\xfe", "name": "n", "imap": false}',
    "lone-surrogate": b'{"account": "\\ud800", "name": "n", "imap": false}',
    "nan": b'{"account": "x", "name": "n", "imap": {"host": "h", "port": NaN}}',
}


@sqlite_only
@pytest.mark.parametrize("raw", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_unparseable_json_is_a_400(
    client: httpx2.AsyncClient, auth: dict[str, str], raw: bytes
) -> None:
    headers = auth | {"Content-Type": "application/json"}
    body = assert_error(await client.post("/v1/account", content=raw, headers=headers), 400)
    assert body["code"] == "InvalidRequest"


async def test_null_name_is_refused_and_other_nulls_clear(
    client: httpx2.AsyncClient, auth: dict[str, str]
) -> None:
    """``name`` is required, so null is a 400 and the name stays; optional fields clear with null."""
    extra = {"email": "a@example.com", "locale": "en", "tz": "Europe/Tallinn", "copy": True}
    assert (await client.post("/v1/account", json=ACCOUNT | extra, headers=auth)).status_code == 200
    body = assert_error(await client.put("/v1/account/acc1", json={"name": None}, headers=auth), 400)
    assert "name" in body["details"]
    assert (await client.get("/v1/account/acc1", headers=auth)).json()["name"] == "Account One"
    nulls = {"email": None, "locale": None, "tz": None, "copy": None, "webhooks": None, "path": None}
    r = await client.put("/v1/account/acc1", json=nulls | {"notifyFrom": None, "smtp": None}, headers=auth)
    assert r.status_code == 200, r.text
    info = (await client.get("/v1/account/acc1", headers=auth)).json()
    assert info["name"] == "Account One"
    assert [info[k] for k in ("email", "locale", "tz", "copy", "webhooks")] == [None] * 5
    assert info["path"] == "*" and info["smtp"] is False


FORBIDDEN_HOOKS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://[fe80::1%25eth0]:8080/hook",
    "https://[::ffff:169.254.169.254]/",
    "http://2852039166/hook",  # 169.254.169.254 written as one number: the resolver decodes it
]


@sqlite_only
@pytest.mark.parametrize("url", FORBIDDEN_HOOKS)
async def test_link_local_webhooks_are_refused_when_set(
    client: httpx2.AsyncClient, ctx: Context, auth: dict[str, str], url: str
) -> None:
    body = assert_error(await client.post("/v1/settings", json={"webhooks": url}, headers=auth), 400)
    assert "webhooks" in body["details"]
    async with ctx.db.session() as session:
        assert await session.get(Setting, "webhooks") is None  # nothing was stored
    assert_error(await client.post("/v1/account", json=ACCOUNT | {"webhooks": url}, headers=auth), 400)
    assert (await client.post("/v1/account", json=ACCOUNT, headers=auth)).status_code == 200
    assert_error(await client.put("/v1/account/acc1", json={"webhooks": url}, headers=auth), 400)
    assert (await client.get("/v1/account/acc1", headers=auth)).json()["webhooks"] is None


@sqlite_only
async def test_ordinary_webhooks_are_still_accepted(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    for url in ("http://127.0.0.1:9/hook", "https://10.1.2.3/x", "https://name.invalid/hook"):
        r = await client.post("/v1/settings", json={"webhooks": url}, headers=auth)
        assert r.status_code == 200, (url, r.text)
        r = await client.post("/v1/account", json=ACCOUNT | {"webhooks": url}, headers=auth)
        assert r.status_code == 200, (url, r.text)


def _paths() -> dict[str, set[str]]:
    served: dict[str, set[str]] = defaultdict(set)
    for ep in endpoints():
        served[ep.path].add(ep.method)
    return served


@sqlite_only
@pytest.mark.parametrize(("path", "methods"), sorted(_paths().items()))
async def test_options_lists_every_method_of_a_path(
    client: httpx2.AsyncClient, path: str, methods: set[str]
) -> None:
    url = path.replace("{", "").replace("}", "")  # any value fills a path parameter
    r = await client.options(url)
    assert r.status_code == 204, r.text
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert methods | {"OPTIONS"} <= allowed, (path, allowed)
    if "GET" in methods:
        assert "HEAD" in allowed
    other = next(m for m in ("PATCH", "PUT", "POST", "DELETE") if m not in methods)
    r = await client.request(other, url)
    assert_error(r, 405)
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed


@sqlite_only
async def test_options_on_other_paths(client: httpx2.AsyncClient) -> None:
    r = await client.options("/v1/account/anything")
    assert {"GET", "PUT", "DELETE"} <= {m.strip() for m in r.headers["allow"].split(",")}
    r = await client.options("/graphql")
    assert r.status_code == 204 and {"GET", "POST"} <= {m.strip() for m in r.headers["allow"].split(",")}
    assert_error(await client.options("/v1/no/such/route"), 404)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.asynccontextmanager
async def served(ctx: Context) -> AsyncIterator[tuple[str, _Lines]]:
    """The app on a real uvicorn with its own logging set up, and what its access log writes."""
    port = free_port()
    config = uvicorn.Config(create_app(ctx=ctx), host="127.0.0.1", port=port, lifespan="off", access_log=True)
    handler = _Lines()  # after Config: configuring uvicorn's logging replaces the handlers
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}", handler
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        logger.removeHandler(handler)


@sqlite_only
async def test_tokens_never_reach_the_access_log(ctx: Context, system_token: str) -> None:
    from app.services import tokens
    from app.services.principal import OPERATOR

    victim, _ = await tokens.issue(ctx, OPERATOR, description="v", scopes=["api"], account=None)
    async with served(ctx) as (base, log):
        async with httpx2.AsyncClient(base_url=base) as c:
            # The encoded name is decoded before lookup, so it authenticates; it must be hidden too.
            for name in ("access_token", "access%5Ftoken", "%61ccess_token", "access%5ftoken"):
                r = await c.get(f"/v1/stats?{name}={system_token}&x=1")
                assert r.status_code == 200, (name, r.text)
            admin = {"Authorization": f"Bearer {system_token}"}
            for path in (f"/v1/tokens/{victim}", f"/v1/tokens/{victim}/log", f"/v1/%74oken/{victim}x"):
                assert (await c.get(path, headers=admin)).status_code in (200, 404, 405)
            r = await c.delete(f"/v1/token/{victim}", headers=admin)
            assert r.status_code == 200, r.text
            r = await c.delete(f"/v1/token/{victim}", headers={"Authorization": f"Bearer {system_token}"})
            assert r.status_code == 404
        text = "\n".join(log.lines)
    assert "/v1/stats?" in text and "DELETE /v1/token/" in text, text  # the lines are there
    assert system_token not in text and victim not in text, text
    assert text.count("[redacted]") >= 9, text
