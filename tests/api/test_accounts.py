"""Accounts API over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from sqlalchemy import text
from sqlmodel import select

from app.models import Event
from app.services import control
from app.services.context import Context

IMAP = {
    "host": "imap.example.com",
    "port": 993,
    "secure": True,
    "auth": {"user": "u@example.com", "pass": "s3cr3t-imap"},
}
SMTP = {
    "host": "smtp.example.com",
    "port": 465,
    "secure": True,
    "auth": {"user": "u@example.com", "pass": "s3cr3t-smtp"},
}


async def register(client: httpx2.AsyncClient, auth: dict[str, str], **fields: Any) -> httpx2.Response:
    body = {"account": "acc1", "name": "Account One", "imap": IMAP, "smtp": SMTP} | fields
    return await client.post("/v1/account", json=body, headers=auth)


async def events_of(ctx: Context, kind: str) -> list[Event]:
    async with ctx.db.session() as s:
        return list((await s.exec(select(Event).where(Event.type == kind))).all())


async def test_register_then_get(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    r = await register(
        client, auth, notifyFrom="2025-01-01T00:00:00.000Z", webhooks="https://hooks.example/x"
    )
    assert r.status_code == 200
    assert r.json() == {"account": "acc1", "state": "new"}

    info = (await client.get("/v1/account/acc1", headers=auth)).json()
    assert info["account"] == "acc1"
    assert info["name"] == "Account One"
    assert info["email"] == "acc1" or info["email"] == "u@example.com"
    assert info["state"] == "init"
    assert info["type"] == "imap"
    assert info["syncTime"] is None and info["lastError"] is None
    assert info["notifyFrom"].startswith("2025-01-01T00:00:00")
    assert info["webhooks"] == "https://hooks.example/x"
    assert info["imap"]["host"] == "imap.example.com"
    assert info["imap"]["auth"] == {"user": "u@example.com", "pass": "******"}
    assert info["smtp"]["auth"]["pass"] == "******"
    assert info["counters"] == {}


async def test_email_defaults_to_an_address(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await register(client, auth, account="user@example.com")
    assert (await client.get("/v1/account/user@example.com", headers=auth)).json()[
        "email"
    ] == "user@example.com"
    await register(client, auth, account="plain-id")
    assert (await client.get("/v1/account/plain-id", headers=auth)).json()["email"] == "u@example.com"


async def test_reregistering_overwrites(
    client: httpx2.AsyncClient, auth: dict[str, str], ctx: Context
) -> None:
    await register(client, auth)
    r = await register(client, auth, name="Renamed", smtp=False)
    assert r.json() == {"account": "acc1", "state": "existing"}
    info = (await client.get("/v1/account/acc1", headers=auth)).json()
    assert info["name"] == "Renamed" and info["smtp"] is False
    assert len(await events_of(ctx, "accountAdded")) == 1


async def test_null_account_generates_an_id(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    a = (await register(client, auth, account=None)).json()
    b = (await register(client, auth, account=None)).json()
    assert a["state"] == b["state"] == "new"
    assert a["account"] != b["account"] and len(a["account"]) >= 16
    assert (await client.get(f"/v1/account/{a['account']}", headers=auth)).status_code == 200


async def test_concurrent_registrations_of_one_id(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    results = await asyncio.gather(*(register(client, auth, name=f"n{i}") for i in range(5)))
    assert all(r.status_code == 200 for r in results)
    assert sorted(r.json()["state"] for r in results).count("new") == 1


async def test_send_only_account_is_unset(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await register(client, auth, imap=False)
    info = (await client.get("/v1/account/acc1", headers=auth)).json()
    assert info["state"] == "unset" and info["imap"] is False and info["type"] == "sending"
    await register(client, auth, account="acc2", imap={**IMAP, "disabled": True})
    assert (await client.get("/v1/account/acc2", headers=auth)).json()["state"] == "unset"


async def test_oauth2_account(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    body = {
        "account": "g1",
        "name": "Gmail user",
        "oauth2": {
            "provider": "gmail",
            "auth": {"user": "g@example.com"},
            "accessToken": "ya29.secret-access",
            "refreshToken": "1//secret-refresh",
            "expires": "2030-01-01T00:00:00Z",
        },
    }
    assert (await client.post("/v1/account", json=body, headers=auth)).status_code == 200
    info = (await client.get("/v1/account/g1", headers=auth)).json()
    assert info["type"] == "oauth2" and info["state"] == "init" and info["email"] == "g@example.com"
    assert info["oauth2"]["accessToken"] == "******" and info["oauth2"]["refreshToken"] == "******"
    assert info["oauth2"]["auth"] == {"user": "g@example.com"}


async def test_credentials_are_encrypted_at_rest(
    client: httpx2.AsyncClient, auth: dict[str, str], ctx: Context
) -> None:
    await register(
        client, auth, oauth2={"provider": "p", "auth": {"user": "x@y.z"}, "refreshToken": "rt-plain"}
    )
    async with ctx.db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM account WHERE id = 'acc1'"))).one()
    raw = " ".join(str(v) for v in row)
    for secret in ("s3cr3t-imap", "s3cr3t-smtp", "rt-plain"):
        assert secret not in raw
    assert "$mg1$" in raw
    # ...and the stored values decrypt to what was sent.
    from app.models import Account
    from app.services.credentials import reveal

    async with ctx.db.session() as s:
        acc = await s.get(Account, "acc1")
    assert acc is not None
    assert reveal(acc.imap, ctx.cipher)["auth"]["pass"] == "s3cr3t-imap"  # type: ignore[index]
    assert reveal(acc.oauth2, ctx.cipher)["refreshToken"] == "rt-plain"  # type: ignore[index]


async def test_partial_update_merges(client: httpx2.AsyncClient, auth: dict[str, str], ctx: Context) -> None:
    await register(client, auth)
    r = await client.put(
        "/v1/account/acc1", json={"name": "New", "imap": {"partial": True, "port": 143}}, headers=auth
    )
    assert r.status_code == 200 and r.json() == {"account": "acc1"}
    info = (await client.get("/v1/account/acc1", headers=auth)).json()
    assert info["name"] == "New"
    assert info["imap"]["port"] == 143 and info["imap"]["host"] == "imap.example.com"
    assert info["imap"]["auth"]["pass"] == "******"
    assert "partial" not in info["imap"]


async def test_full_update_replaces(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await register(client, auth)
    r = await client.put(
        "/v1/account/acc1", json={"imap": {"host": "other.example.com", "port": 143}}, headers=auth
    )
    assert r.status_code == 200
    imap = (await client.get("/v1/account/acc1", headers=auth)).json()["imap"]
    assert imap == {"host": "other.example.com", "port": 143}


async def test_replacement_without_host_is_refused(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await register(client, auth)
    r = await client.put(
        "/v1/account/acc1", json={"imap": {"auth": {"user": "u", "pass": "p"}}}, headers=auth
    )
    assert r.status_code == 400
    assert "partial" in r.json()["details"]["imap"]


async def test_partial_does_not_merge_nested_auth(
    client: httpx2.AsyncClient, auth: dict[str, str], ctx: Context
) -> None:
    await register(client, auth)
    await client.put(
        "/v1/account/acc1", json={"imap": {"partial": True, "auth": {"pass": "rotated"}}}, headers=auth
    )
    from app.models import Account
    from app.services.credentials import reveal

    async with ctx.db.session() as s:
        acc = await s.get(Account, "acc1")
    assert acc is not None
    imap = reveal(acc.imap, ctx.cipher)
    assert imap is not None and imap["auth"] == {"pass": "rotated"} and imap["host"] == "imap.example.com"


async def test_masked_secret_round_trips(
    client: httpx2.AsyncClient, auth: dict[str, str], ctx: Context
) -> None:
    await register(client, auth)
    imap = (await client.get("/v1/account/acc1", headers=auth)).json()["imap"]
    imap["port"] = 1993
    assert (await client.put("/v1/account/acc1", json={"imap": imap}, headers=auth)).status_code == 200
    from app.models import Account
    from app.services.credentials import reveal

    async with ctx.db.session() as s:
        acc = await s.get(Account, "acc1")
    assert acc is not None
    stored = reveal(acc.imap, ctx.cipher)
    assert stored is not None and stored["auth"]["pass"] == "s3cr3t-imap" and stored["port"] == 1993


async def test_update_switches_imap_off_and_on(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await register(client, auth)
    await client.put("/v1/account/acc1", json={"imap": False}, headers=auth)
    assert (await client.get("/v1/account/acc1", headers=auth)).json()["state"] == "unset"
    await client.put("/v1/account/acc1", json={"imap": IMAP}, headers=auth)
    assert (await client.get("/v1/account/acc1", headers=auth)).json()["state"] == "init"


async def test_update_and_delete_unknown_account(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    for method in ("GET", "DELETE"):
        r = await client.request(method, "/v1/account/missing", headers=auth)
        assert r.status_code == 404
        assert r.json() == {
            "error": "Account record was not found for requested ID",
            "code": "AccountNotFound",
            "statusCode": 404,
        }
    r = await client.put("/v1/account/missing", json={"name": "x"}, headers=auth)
    assert r.status_code == 404
    for action in ("reconnect", "sync"):
        assert (await client.put(f"/v1/account/missing/{action}", headers=auth)).status_code == 404


async def test_delete_account(client: httpx2.AsyncClient, auth: dict[str, str], ctx: Context) -> None:
    await register(client, auth)
    token = (
        await client.post("/v1/token", json={"account": "acc1", "scopes": ["api"]}, headers=auth)
    ).json()["token"]
    r = await client.delete("/v1/account/acc1", headers=auth)
    assert r.status_code == 200 and r.json() == {"account": "acc1", "deleted": True}
    assert (await client.get("/v1/account/acc1", headers=auth)).status_code == 404
    # Its tokens died with it, even if the id is registered again.
    await register(client, auth)
    r = await client.get("/v1/account/acc1", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert len(await events_of(ctx, "accountDeleted")) == 1


async def test_reconnect_and_sync_reach_the_owner(
    client: httpx2.AsyncClient, auth: dict[str, str], ctx: Context
) -> None:
    await register(client, auth)
    inbox = control.Inbox(ctx)
    assert [(c.account, c.command) for c in await inbox.fetch()] == [("acc1", "reconnect")]  # registered
    r = await client.put("/v1/account/acc1/reconnect", json={"reconnect": True}, headers=auth)
    assert r.status_code == 200 and r.json() == {"reconnect": True}
    r = await client.put("/v1/account/acc1/sync", json={"sync": True}, headers=auth)
    assert r.status_code == 200 and r.json() == {"sync": True}
    await client.put("/v1/account/acc1", json={"smtp": {"partial": True, "port": 587}}, headers=auth)
    await client.put("/v1/account/acc1", json={"name": "only a name"}, headers=auth)
    got = await inbox.fetch()
    assert await inbox.fetch() == []  # each command is handed out once
    assert [(c.account, c.command) for c in got] == [
        ("acc1", "reconnect"),
        ("acc1", "sync"),
        ("acc1", "changed"),
    ]


async def test_list_pagination(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    for i in range(7):
        await register(client, auth, account=f"a{i}", name=f"User {i}")
    r = (await client.get("/v1/accounts?pageSize=3", headers=auth)).json()
    assert (r["total"], r["page"], r["pages"]) == (7, 0, 3)
    assert [a["account"] for a in r["accounts"]] == ["a0", "a1", "a2"]
    assert set(r["accounts"][0]) >= {"account", "name", "email", "state", "syncTime", "lastError"}
    last = (await client.get("/v1/accounts?pageSize=3&page=2", headers=auth)).json()
    assert [a["account"] for a in last["accounts"]] == ["a6"]
    beyond = (await client.get("/v1/accounts?pageSize=3&page=9", headers=auth)).json()
    assert beyond["accounts"] == [] and beyond["total"] == 7 and beyond["page"] == 9
    default = (await client.get("/v1/accounts", headers=auth)).json()
    assert len(default["accounts"]) == 7 and default["pages"] == 1


async def test_list_of_nothing(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    r = (await client.get("/v1/accounts", headers=auth)).json()
    assert r == {"total": 0, "page": 0, "pages": 0, "accounts": [], "query": None, "state": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("pageSize=0", "pageSize"),
        ("pageSize=1001", "pageSize"),
        ("page=-1", "page"),
        ("page=x", "page"),
        ("state=bogus", "state"),
        ("pageSize=2.5", "pageSize"),
    ],
)
async def test_list_bad_parameters(
    client: httpx2.AsyncClient, auth: dict[str, str], query: str, field: str
) -> None:
    r = await client.get(f"/v1/accounts?{query}", headers=auth)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "InvalidRequest" and body["statusCode"] == 400 and field in body["details"]


async def test_list_filters(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await register(client, auth, account="alpha", name="Alice Smith", email="alice@corp.example")
    await register(client, auth, account="beta", name="Bob 100%_done", imap=False)
    await register(client, auth, account="gamma", name="Carol", email="carol@home.example")
    names = lambda r: [a["account"] for a in r.json()["accounts"]]  # noqa: E731
    assert names(await client.get("/v1/accounts?state=unset", headers=auth)) == ["beta"]
    assert names(await client.get("/v1/accounts?state=init", headers=auth)) == ["alpha", "gamma"]
    assert names(await client.get("/v1/accounts?query=CORP", headers=auth)) == ["alpha"]
    assert names(await client.get("/v1/accounts?query=smith", headers=auth)) == ["alpha"]
    assert names(await client.get("/v1/accounts", params={"query": "100%_"}, headers=auth)) == ["beta"]
    assert names(await client.get("/v1/accounts", params={"query": "%"}, headers=auth)) == ["beta"]
    assert names(
        await client.get("/v1/accounts?query=example&state=init&pageSize=1&page=1", headers=auth)
    ) == ["gamma"]
