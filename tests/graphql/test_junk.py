"""A junk corpus against /graphql over HTTP and graphql-transport-ws: nothing is a 500, and a
socket is only ever closed with a proper close code (4400 for a message that is not one)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
import websockets
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed

from tests.graphql.conftest import PROTOCOL, serve

ACCOUNTS = "query($p: Int) { accounts(pageSize: $p) { total } }"
DEEP = "[" * 1100 + "]" * 1100
DEEP_OBJECT = '{"a":' * 1100 + "1" + "}" * 1100


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def address(app: Starlette) -> AsyncIterator[str]:
    async with serve(app) as found:
        yield found


@pytest.fixture
async def web(address: str, auth: dict[str, str]) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=f"http://{address}", headers=auth) as c:
        yield c


def _json(text: str) -> bytes:
    return text.encode()


BODIES: dict[str, bytes] = {
    "deep-body": _json(DEEP),
    "deep-variables": _json('{"query": "' + ACCOUNTS + '", "variables": {"p": ' + DEEP + "}}"),
    "deep-object-variables": _json('{"query": "' + ACCOUNTS + '", "variables": ' + DEEP_OBJECT + "}"),
    "deep-extensions": _json('{"query": "{ stats { version } }", "extensions": ' + DEEP + "}"),
    "bad-utf8": b'{"query": "{ stats { version } }", "variables": {"p": "\xff\xfe"}}',
    "bad-utf8-query": b'{"query": "{ stats \xc3\x28 }"}',
    "lone-surrogate": b'{"query": "{ stats { version } }", "variables": {"p": "\\udc00"}}',
    "not-json": b"{query",
    "empty": b"",
    "array": b"[1, 2]",
    "string": b'"{ stats { version } }"',
    "query-not-string": b'{"query": 12}',
    "variables-not-object": b'{"query": "{ stats { version } }", "variables": [1]}',
    "variables-string": b'{"query": "' + ACCOUNTS.encode() + b'", "variables": "p"}',
    "wrong-type": b'{"query": "' + ACCOUNTS.encode() + b'", "variables": {"p": "many"}}',
    "huge-int": b'{"query": "' + ACCOUNTS.encode() + b'", "variables": {"p": 1' + b"0" * 400 + b"}}",
    "float-for-int": b'{"query": "' + ACCOUNTS.encode() + b'", "variables": {"p": 1.5}}',
    "nan": b'{"query": "' + ACCOUNTS.encode() + b'", "variables": {"p": NaN}}',
    "garbage-variables": _json(
        json.dumps({"query": ACCOUNTS, "variables": {f"v{i}": ["x" * 50] * 20 for i in range(200)}})
    ),
    "operation-name-not-string": b'{"query": "{ stats { version } }", "operationName": ["a"]}',
    "unknown-operation": b'{"query": "query A { stats { version } }", "operationName": "B"}',
    "deep-selection": _json(json.dumps({"query": "{" + " stats {" * 600 + "}" * 601})),
    "nul-in-query": _json(json.dumps({"query": "{ stats\u0000 { version } }"})),
}


@pytest.mark.parametrize("raw", BODIES.values(), ids=BODIES.keys())
async def test_junk_posts_are_answered_not_crashed(web: httpx2.AsyncClient, raw: bytes) -> None:
    r = await web.post("/graphql", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400), r.text
    body = r.json()
    if r.status_code == 400:
        assert body["statusCode"] == 400 and body["code"] == "InvalidRequest", body
    else:
        codes = [e.get("extensions", {}).get("statusCode") for e in body.get("errors") or []]
        assert 500 not in codes and (codes or body["data"]), body


@pytest.mark.parametrize(
    "params",
    [
        {"query": ACCOUNTS, "variables": DEEP},
        {"query": ACCOUNTS, "variables": '{"p": 1'},
        {"query": ACCOUNTS, "variables": '{"p": "\\udc00"}'},
        {"query": "{ stats { version } }", "extensions": DEEP},
    ],
)
async def test_junk_get_parameters(web: httpx2.AsyncClient, params: dict[str, str]) -> None:
    r = await web.get("/graphql", params=params)
    assert r.status_code in (200, 400), r.text
    assert "InternalError" not in r.text


async def test_two_operations_need_an_operation_name(web: httpx2.AsyncClient) -> None:
    """Per the GraphQL spec, a document with several operations and no name runs none of them."""
    query = "query A { stats { version } } query B { accounts { total } }"
    for _ in range(2):  # the second time the document is cached and takes the fast path
        r = await web.post("/graphql", json={"query": query})
        assert r.status_code == 200, r.text  # like every other validation error
        body = r.json()
        assert body.get("data") is None, body
        [error] = body["errors"]
        assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED", "statusCode": 400}, body
        assert "operationName" in error["message"]
    r = await web.post("/graphql", json={"query": query, "operationName": "B"})
    assert r.status_code == 200 and r.json()["data"]["accounts"]["total"] == 0, r.text


async def _init(address: str, token: str) -> Any:
    ws = await websockets.connect(f"ws://{address}/graphql", subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    return ws


async def _closed_with(ws: Any) -> int | None:
    """The close code the server sent (waits for the close, answering pings)."""
    try:
        while True:
            raw = await asyncio.wait_for(ws.recv(), 10)
            if json.loads(raw).get("type") == "ping":
                await ws.send(json.dumps({"type": "pong"}))
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None


FRAMES: dict[str, str | bytes] = {
    "not-json": "hello",
    "binary": b"\x00\x01",
    "deep-json": DEEP,
    "deep-object": DEEP_OBJECT,
    "deep-payload": '{"id": "1", "type": "subscribe", "payload": ' + DEEP + "}",
    "deep-variables": '{"id": "1", "type": "subscribe", "payload": {"query": "{ stats { version } }", '
    '"variables": ' + DEEP_OBJECT + "}}",
    "lone-surrogate": '{"id": "\\ud800", "type": "subscribe", "payload": {"query": "{ stats { version } }"}}',
    "json-array": "[1, 2, 3]",
    "json-string": '"subscribe"',
    "no-type": '{"id": "1"}',
    "unknown-type": '{"type": "launch"}',
    "type-not-string": '{"type": 5}',
    "subscribe-without-id": '{"type": "subscribe", "payload": {"query": "{ stats { version } }"}}',
    "subscribe-id-not-string": '{"id": 7, "type": "subscribe", "payload": {"query": "{ stats { version } }"}}',
    "subscribe-no-payload": '{"id": "1", "type": "subscribe"}',
    "subscribe-payload-string": '{"id": "1", "type": "subscribe", "payload": "x"}',
    "subscribe-query-number": '{"id": "1", "type": "subscribe", "payload": {"query": 5}}',
    "connection-init-again": '{"type": "connection_init"}',
    "oversized": '{"id": "1", "type": "subscribe", "payload": {"query": "' + "a" * (17 << 20) + '"}}',
}


@pytest.mark.parametrize("frame", FRAMES.values(), ids=FRAMES.keys())
async def test_hostile_frames_close_with_a_code(address: str, system_token: str, frame: str | bytes) -> None:
    ws = await _init(address, system_token)
    try:
        await ws.send(frame)
        code = await _closed_with(ws)
    finally:
        await ws.close()
    # graphql-transport-ws: 4400 for a message that is not one, 4429 for a second init;
    # 1009 (too big) from the server for a frame over its limit
    expected = 1009 if len(frame) > 16 << 20 else 4429 if frame == FRAMES["connection-init-again"] else 4400
    assert code == expected, code


TOLERATED: dict[str, str] = {
    "complete-unknown-id": '{"id": "nope", "type": "complete"}',
    "pong-unsolicited": '{"type": "pong"}',
    "wrong-variable-type": json.dumps(
        {"id": "w", "type": "subscribe", "payload": {"query": ACCOUNTS, "variables": {"p": "x"}}}
    ),
    "syntax-error": '{"id": "s", "type": "subscribe", "payload": {"query": "{ stats {"}}',
    "large-query": '{"id": "l", "type": "subscribe", "payload": {"query": "' + "a" * 3_000_000 + '"}}',
    "validation-error": json.dumps({"id": "v", "type": "subscribe", "payload": {"query": "{ nope }"}}),
    "two-operations": json.dumps(
        {"id": "t", "type": "subscribe", "payload": {"query": "query A { stats { version } } query B { x }"}}
    ),
}


@pytest.mark.parametrize("frame", TOLERATED.values(), ids=TOLERATED.keys())
async def test_odd_but_valid_messages_keep_the_socket(address: str, system_token: str, frame: str) -> None:
    """Messages the protocol allows (or that fail as one operation) leave the connection usable."""
    ws = await _init(address, system_token)
    try:
        await ws.send(frame)
        ok = {"id": "ok", "type": "subscribe", "payload": {"query": "{ stats { version } }"}}
        await ws.send(json.dumps(ok))
        seen: list[dict[str, Any]] = []
        while not any(m.get("id") == "ok" and m["type"] == "next" for m in seen):
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message.get("type") != "next" or "InternalError" not in json.dumps(message), message
            seen.append(message)
        for message in seen:
            for error in message.get("payload") or [] if message["type"] == "error" else []:
                assert error.get("extensions", {}).get("statusCode") != 500, message
    finally:
        await ws.close()
