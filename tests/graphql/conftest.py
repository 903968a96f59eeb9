"""GraphQL test helpers: one call over HTTP, and a real server for websocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import uvicorn
import websockets
from starlette.applications import Starlette

from tests.integration.conftest import live  # noqa: F401  (the synced-account fixture)
from tests.servers.ports import free_port

PROTOCOL = "graphql-transport-ws"


async def gql(
    client: httpx2.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST one operation; the HTTP status is always 200 for an executed operation."""
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def data(body: dict[str, Any]) -> dict[str, Any]:
    assert not body.get("errors"), body
    found: dict[str, Any] = body["data"]
    return found


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """The app on a real uvicorn socket (same event loop); yields ``127.0.0.1:port``."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@dataclass
class WSClient:
    """A graphql-transport-ws client on a real websocket."""

    ws: Any
    ids: int = 0
    pending: dict[str, asyncio.Queue[dict[str, Any]]] = field(default_factory=dict)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self.ids += 1
        op = str(self.ids)
        message = {"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}
        await self.ws.send(json.dumps(message))
        return op

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
            assert isinstance(raw, str), "graphql-transport-ws messages are text frames"
            message: dict[str, Any] = json.loads(raw)
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            return message

    async def first_for(self, op: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next ``next`` or ``error`` message of operation ``op`` (others are skipped)."""
        while True:
            message = await self.receive(timeout)
            if message.get("id") == op and message["type"] in ("next", "error"):
                return message

    async def errors_for(self, op: str) -> list[dict[str, Any]]:
        message = await self.first_for(op)
        found: list[dict[str, Any]] = (
            message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        )
        return found

    async def complete(self, op: str) -> None:
        await self.ws.send(json.dumps({"id": op, "type": "complete"}))


@contextlib.asynccontextmanager
async def ws_connect(address: str, payload: dict[str, Any] | None) -> AsyncIterator[WSClient]:
    """Connect and send ``connection_init`` (the ack is for the caller to read)."""
    async with websockets.connect(f"ws://{address}/graphql", subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await ws.send(json.dumps(init))
        yield WSClient(ws)


def selection(type_name: str, depth: int = 4) -> str:
    """Every field of a type, recursively: a query that asks for the whole REST shape."""
    from graphql import GraphQLObjectType, get_named_type

    from app.graphql.schema import schema

    gtype = schema._schema.get_type(type_name)
    assert isinstance(gtype, GraphQLObjectType)
    parts = []
    for name, f in gtype.fields.items():
        inner = get_named_type(f.type)
        if isinstance(inner, GraphQLObjectType):
            if depth > 1:
                parts.append(f"{name} {selection(inner.name, depth - 1)}")
        else:
            parts.append(name)
    return "{ " + " ".join(parts) + " }"


def without_nulls(value: Any) -> Any:
    """REST leaves some empty keys out where GraphQL answers null: compare without them."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@contextlib.asynccontextmanager
async def http_client(
    app: Starlette, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx2.AsyncClient]:
    """A real HTTP client against the app served by uvicorn."""
    async with serve(app) as address, httpx2.AsyncClient(base_url=f"http://{address}", headers=headers) as c:
        c.address = address  # type: ignore[attr-defined]
        yield c
