"""Subscriptions over a real websocket (graphql-transport-ws): delivery, resume, type filter,
authentication in connection_init, account-token isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed

from app import events
from app.models import Account
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from tests.graphql.conftest import WSClient, serve, ws_connect

EVENTS = "subscription($a: ID, $t: [String!], $s: Int) { events(account: $a, types: $t, since: $s) " \
         "{ id event account path data date } }"  # fmt: skip


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def address(app: Starlette) -> AsyncIterator[str]:
    async with serve(app) as found:
        yield found


async def write(ctx: Context, kind: str, account: str | None, **payload: Any) -> int:
    async with ctx.db.core() as s:
        row = events.record(s, kind, account, payload, path="INBOX")
        await s.commit()
        assert row.id is not None
        return row.id


async def acked(client: WSClient) -> None:
    assert (await client.receive())["type"] == "connection_ack"


async def next_event(client: WSClient) -> dict[str, Any]:
    message = await client.receive()
    assert message["type"] == "next", message
    found: dict[str, Any] = message["payload"]["data"]["events"]
    return found


async def test_live_delivery_type_filter_and_resume(address: str, system_token: str, ctx: Context) -> None:
    async with ws_connect(address, {"Authorization": f"Bearer {system_token}"}) as client:
        await acked(client)
        op = await client.subscribe(EVENTS, {"t": ["messageNew", "messageDeleted"]})
        first = await write(ctx, "messageUpdated", "acc", n=0)  # filtered out
        # "From now" starts when the subscription does (asynchronously): write until one arrives.
        got = None
        for n in range(50):
            await write(ctx, "messageNew", "acc", n=n + 1)
            try:
                message = await client.receive(timeout=0.3)
            except TimeoutError:
                continue
            got = message["payload"]["data"]["events"]
            break
        assert got is not None and got["event"] == "messageNew" and got["account"] == "acc"
        assert got["path"] == "INBOX" and got["date"].endswith("Z") and got["id"] > first
        await write(ctx, "messageUpdated", "acc", n=100)
        deleted = await write(ctx, "messageDeleted", "acc", n=101)
        nxt = await next_event(client)
        while nxt["event"] == "messageNew" and nxt["data"]["n"] <= n + 1:  # the loop's, in order, late
            nxt = await next_event(client)
        assert (nxt["id"], nxt["event"], nxt["data"]) == (deleted, "messageDeleted", {"n": 101})
        await client.complete(op)

        # Resume: everything after an id, in order, from the table.
        op = await client.subscribe(EVENTS, {"s": first - 1})
        seen = [await next_event(client) for _ in range(n + 4)]
        assert [e["id"] for e in seen] == list(range(first, deleted + 1))
        assert seen[0]["event"] == "messageUpdated" and seen[-1]["event"] == "messageDeleted"
        await client.complete(op)

        op = await client.subscribe(EVENTS, {"t": ["noSuchEvent"]})
        assert [e["extensions"]["code"] for e in await client.errors_for(op)] == ["InvalidRequest"]


async def test_events_match_the_sse_stream(address: str, system_token: str, ctx: Context,
                                           auth: dict[str, str]) -> None:  # fmt: skip
    first = await write(ctx, "mailboxNew", "acc", path="Work", name="Work", specialUse=None)
    async with ws_connect(address, {"token": system_token}) as ws:
        await acked(ws)
        await ws.subscribe("subscription($s: Int) { events(since: $s) { id event account path specialUse date "
                           "serviceUrl data } }", {"s": first - 1})  # fmt: skip
        got = await next_event(ws)
    lines = []
    async with (
        httpx2.AsyncClient(base_url=f"http://{address}") as client,
        client.stream("GET", "/v1/changes", params={"since": first - 1}, headers=auth) as r,
    ):
        async for line in r.aiter_lines():
            lines.append(line)
            if line.startswith("data: "):
                break
    import json

    sse = json.loads(lines[-1].removeprefix("data: "))
    assert got["id"] == first and got["event"] == sse["event"] == "mailboxNew"
    assert {k: got[k] for k in ("account", "path", "date", "serviceUrl", "data")} == {
        k: sse.get(k) for k in ("account", "path", "date", "serviceUrl", "data")}  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (None, 4401),
        ({}, 4401),
        ({"Authorization": "Bearer " + "0" * 64}, 4401),
        ({"token": "not-a-token"}, 4401),
        ("metrics", 4403),
    ],
)
async def test_connection_init_must_authenticate(address: str, ctx: Context, payload: Any, code: int) -> None:
    if payload == "metrics":
        value, _ = await tokens.issue(ctx, OPERATOR, description="m", scopes=["metrics"], account=None)
        payload = {"Authorization": f"Bearer {value}"}
    async with ws_connect(address, payload) as client:
        with pytest.raises(ConnectionClosed) as closed:
            await client.receive()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == code


async def test_subscribe_before_init_is_refused(address: str) -> None:
    import json

    import websockets

    async with websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { id } }"}}
            )
        )
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_account_token_streams_only_its_account(address: str, ctx: Context) -> None:
    async with ctx.db.session() as s:
        s.add_all([Account(id="mine", name="M", state="unset"), Account(id="other", name="O", state="unset")])
        await s.commit()
    value, _ = await tokens.issue(ctx, OPERATOR, description="b", scopes=["api"], account="mine")
    start = await write(ctx, "messageNew", "other", n=0)
    async with ws_connect(address, {"Authorization": f"Bearer {value}"}) as client:
        await acked(client)
        await client.subscribe(EVENTS, {"s": start - 1})
        await write(ctx, "messageNew", "other", n=1)
        mine = await write(ctx, "messageNew", "mine", n=2)
        got = await next_event(client)
        assert (got["id"], got["account"]) == (mine, "mine")  # the other account's events never arrive

        op = await client.subscribe(EVENTS, {"a": "other"})
        assert [e["extensions"]["code"] for e in await client.errors_for(op)] == ["Forbidden"]
        op = await client.subscribe('subscription { accountState(account: "other") { state } }')
        assert [e["extensions"]["code"] for e in await client.errors_for(op)] == ["Forbidden"]
        op = await client.subscribe('subscription { accountState(account: "mine") { account state } }')
        message = await client.first_for(op)
        assert message["payload"]["data"] == {"accountState": {"account": "mine", "state": "unset"}}
