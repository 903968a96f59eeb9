"""Bad input gets a 4xx in the documented shape, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from app.main import create_app
from app.services.context import Context

GOOD = {"account": "v1", "name": "V", "imap": {"host": "h.example", "port": 993}}


def assert_error(r: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["statusCode"] == status and body["code"] == code and isinstance(body["error"], str)
    assert set(body) <= {"error", "code", "statusCode", "details"}
    assert "Traceback" not in r.text
    return body


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "x", "imap": {"host": "h"}}, {"account"}),
        ({"account": "a", "imap": {"host": "h"}}, {"name"}),
        ({"account": "a", "name": "x"}, {"body"}),
        ({**GOOD, "imap": {"host": "h", "port": 0}}, {"imap.port"}),
        ({**GOOD, "imap": {"host": "h", "port": "many"}}, {"imap.port"}),
        ({**GOOD, "imap": {"host": "h", "secure": "maybe"}}, {"imap.secure"}),
        ({**GOOD, "imap": {"host": "h", "auth": {"user": "u", "password": "p"}}}, {"imap.auth.password"}),
        ({**GOOD, "imap": "yes"}, {"imap"}),
        ({**GOOD, "imap": True}, {"imap"}),
        ({**GOOD, "smtp": {"port": 25}}, {"smtp"}),
        ({**GOOD, "unknownField": 1}, {"unknownField"}),
        ({**GOOD, "account": "a/b"}, {"account"}),
        ({**GOOD, "account": ""}, {"account"}),
        ({**GOOD, "account": 12}, {"account"}),
        ({**GOOD, "name": ""}, {"name"}),
        ({**GOOD, "email": "not-an-address"}, {"email"}),
        ({**GOOD, "webhooks": "ftp://x"}, {"webhooks"}),
        ({**GOOD, "notifyFrom": "yesterday"}, {"notifyFrom"}),
        ({**GOOD, "path": "INBOX"}, {"path"}),
        ({**GOOD, "imap": {"host": "h", "tls": {"minVersion": "SSLv3"}}}, {"imap.tls.minVersion"}),
        ({**GOOD, "oauth2": {"auth": {}}}, {"oauth2.auth.user"}),
    ],
)
async def test_register_validation(
    client: httpx2.AsyncClient, auth: dict[str, str], body: dict[str, Any], fields: set[str]
) -> None:
    r = await client.post("/v1/account", json=body, headers=auth)
    details = assert_error(r, 400, "InvalidRequest")["details"]
    assert fields <= set(details), details


@pytest.mark.parametrize("raw", [b"{", b"[1,2]", b'"text"', b"null", b"\xff\xfe", b"1e999999"])
async def test_malformed_json(client: httpx2.AsyncClient, auth: dict[str, str], raw: bytes) -> None:
    r = await client.post("/v1/account", content=raw, headers={**auth, "Content-Type": "application/json"})
    assert_error(r, 400, "InvalidRequest")


async def test_wrong_content_type(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post(
        "/v1/account", content=json.dumps(GOOD), headers={**auth, "Content-Type": "text/plain"}
    )
    assert_error(r, 415, "UnsupportedMediaType")
    r = await client.post("/v1/account", data={"account": "x"}, headers=auth)
    assert_error(r, 415, "UnsupportedMediaType")


async def test_json_with_charset_is_fine(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/json; charset=utf-8"}
    assert (await client.post("/v1/account", content=json.dumps(GOOD), headers=headers)).status_code == 200


async def test_body_too_large(ctx: Context, auth: dict[str, str]) -> None:
    from dataclasses import replace

    ctx.settings = replace(ctx.settings, max_body_size=2048)
    app = create_app(ctx=ctx)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t") as client:
        big = {**GOOD, "name": "x" * 4000}
        assert_error(await client.post("/v1/account", json=big, headers=auth), 413, "PayloadTooLarge")

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):
                yield b" " * 1024

        r = await client.post(
            "/v1/account", content=chunks(), headers={**auth, "Content-Type": "application/json"}
        )
        assert_error(r, 413, "PayloadTooLarge")


async def test_unknown_route_and_method(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    assert_error(await client.get("/v1/nothing-here", headers=auth), 404, "NotFound")
    assert_error(await client.patch("/v1/accounts", headers=auth), 405, "MethodNotAllowed")
    assert_error(await client.delete("/v1/accounts", headers=auth), 405, "MethodNotAllowed")


async def test_empty_body_where_fields_are_optional(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/v1/account", json=GOOD, headers=auth)
    r = await client.put("/v1/account/v1/reconnect", headers=auth)
    assert r.status_code == 200 and r.json() == {"reconnect": True}
    r = await client.put("/v1/account/v1/reconnect", json={"reconnect": "soon"}, headers=auth)
    assert_error(r, 400, "InvalidRequest")


JUNK: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x" * 300,
    [],
    {},
    [{}],
    {"a": {"b": {"c": []}}},
    "\u0000",
    "🙂",
]


@pytest.mark.parametrize(
    "field", ["account", "name", "email", "imap", "smtp", "oauth2", "notifyFrom", "path", "copy"]
)
async def test_junk_values_never_crash(client: httpx2.AsyncClient, auth: dict[str, str], field: str) -> None:
    for value in JUNK:
        r = await client.post("/v1/account", json={**GOOD, field: value}, headers=auth)
        assert r.status_code in (200, 400), (field, value, r.text)
        r = await client.put("/v1/account/v1", json={field: value}, headers=auth)
        assert r.status_code in (200, 400, 404), (field, value, r.text)


async def test_nul_characters_are_refused(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post("/v1/account", json={**GOOD, "name": "a\u0000b"}, headers=auth)
    assert_error(r, 400, "InvalidRequest")
    assert_error(await client.get("/v1/account/a%00b", headers=auth), 400, "InvalidRequest")
    assert_error(await client.get("/v1/accounts?query=a%00", headers=auth), 400, "InvalidRequest")
