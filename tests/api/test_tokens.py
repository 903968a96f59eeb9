"""Access tokens over HTTP: creation rules, hashing, listing, revocation."""

from __future__ import annotations

import hashlib

import httpx2
from sqlalchemy import text

from app.services.context import Context

ACCOUNT = {"account": "t1", "name": "T", "imap": {"host": "h.example", "port": 993}}


async def make_account(client: httpx2.AsyncClient, auth: dict[str, str], account: str = "t1") -> None:
    r = await client.post("/v1/account", json={**ACCOUNT, "account": account}, headers=auth)
    assert r.status_code == 200


async def test_create_account_token(client: httpx2.AsyncClient, auth: dict[str, str], ctx: Context) -> None:
    await make_account(client, auth)
    r = await client.post(
        "/v1/token", json={"account": "t1", "description": "User token", "scopes": ["api"]}, headers=auth
    )
    assert r.status_code == 200
    token = r.json()["token"]
    assert len(token) == 64 and int(token, 16) >= 0
    # Stored only as its SHA-256.
    async with ctx.db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM token"))).all()
    dump = " ".join(str(v) for row in rows for v in row)
    assert token not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump
    # It works for its own account.
    r = await client.get("/v1/account/t1", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


async def test_alias_path_and_default_scope(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await make_account(client, auth)
    r = await client.post("/v1/tokens", json={"account": "t1"}, headers=auth)
    assert r.status_code == 200
    listed = (await client.get("/v1/tokens", headers=auth)).json()["tokens"]
    bound = [t for t in listed if t["account"] == "t1"]
    assert len(bound) == 1 and bound[0]["scopes"] == ["api"]


async def test_api_tokens_must_name_an_existing_account(
    client: httpx2.AsyncClient, auth: dict[str, str]
) -> None:
    r = await client.post("/v1/token", json={"description": "system?", "scopes": ["*"]}, headers=auth)
    assert r.status_code == 400 and "account" in r.json()["details"]
    r = await client.post("/v1/token", json={"account": None, "scopes": ["*"]}, headers=auth)
    assert r.status_code == 400
    r = await client.post("/v1/token", json={"account": "ghost", "scopes": ["api"]}, headers=auth)
    assert r.status_code == 404 and r.json()["code"] == "AccountNotFound"


async def test_bad_scopes(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await make_account(client, auth)
    for scopes in (["root"], [], "api", [1]):
        r = await client.post("/v1/token", json={"account": "t1", "scopes": scopes}, headers=auth)
        assert r.status_code == 400 and "scopes" in str(r.json()["details"]), scopes


async def test_account_tokens_cannot_create_tokens(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await make_account(client, auth)
    token = (await client.post("/v1/token", json={"account": "t1", "scopes": ["*"]}, headers=auth)).json()[
        "token"
    ]
    r = await client.post("/v1/token", json={"account": "t1"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["code"] == "Forbidden"


async def test_list_never_shows_values(
    client: httpx2.AsyncClient, auth: dict[str, str], system_token: str
) -> None:
    await make_account(client, auth)
    await make_account(client, auth, "t2")
    t1 = (await client.post("/v1/token", json={"account": "t1"}, headers=auth)).json()["token"]
    t2 = (await client.post("/v1/token", json={"account": "t2"}, headers=auth)).json()["token"]
    r = await client.get("/v1/tokens", headers=auth)
    assert r.status_code == 200
    for value in (t1, t2, system_token):
        assert value not in r.text
    listed = r.json()["tokens"]
    assert {t["account"] for t in listed} == {None, "t1", "t2"}
    assert set(listed[0]) == {
        "id", "account", "description", "scopes", "created", "lastUsed", "ip", "metadata",
        "remoteAddress", "restrictions", "permissions", "expires", "access",
    }  # fmt: skip
    # An account token sees only its own account's tokens.
    own = (await client.get("/v1/tokens", headers={"Authorization": f"Bearer {t1}"})).json()["tokens"]
    assert [t["account"] for t in own] == ["t1"]


async def test_revoke_by_value_and_by_id(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await make_account(client, auth)
    a = (await client.post("/v1/token", json={"account": "t1"}, headers=auth)).json()["token"]
    b = (await client.post("/v1/token", json={"account": "t1"}, headers=auth)).json()["token"]
    assert (await client.delete(f"/v1/token/{a}", headers=auth)).json() == {"deleted": True}
    b_id = hashlib.sha256(b.encode()).hexdigest()
    assert (await client.delete(f"/v1/token/{b_id}", headers=auth)).status_code == 200
    for value in (a, b):
        r = await client.get("/v1/account/t1", headers={"Authorization": f"Bearer {value}"})
        assert r.status_code == 401
    r = await client.delete(f"/v1/token/{a}", headers=auth)
    assert r.status_code == 404 and r.json()["code"] == "TokenNotFound"


async def test_account_token_cannot_revoke_others(
    client: httpx2.AsyncClient, auth: dict[str, str], system_token: str
) -> None:
    await make_account(client, auth)
    await make_account(client, auth, "t2")
    t1 = (await client.post("/v1/token", json={"account": "t1"}, headers=auth)).json()["token"]
    t2 = (await client.post("/v1/token", json={"account": "t2"}, headers=auth)).json()["token"]
    as_t1 = {"Authorization": f"Bearer {t1}"}
    assert (await client.delete(f"/v1/token/{t2}", headers=as_t1)).status_code == 404
    assert (await client.delete(f"/v1/token/{system_token}", headers=as_t1)).status_code == 404
    assert (await client.get("/v1/account/t2", headers={"Authorization": f"Bearer {t2}"})).status_code == 200
    assert (await client.delete(f"/v1/token/{t1}", headers=as_t1)).status_code == 200


async def test_last_used_is_recorded(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await make_account(client, auth)
    token = (await client.post("/v1/token", json={"account": "t1"}, headers=auth)).json()["token"]
    before = next(
        t for t in (await client.get("/v1/tokens", headers=auth)).json()["tokens"] if t["account"] == "t1"
    )
    assert before["lastUsed"] is None
    await client.get("/v1/account/t1", headers={"Authorization": f"Bearer {token}"})
    after = next(
        t for t in (await client.get("/v1/tokens", headers=auth)).json()["tokens"] if t["account"] == "t1"
    )
    assert after["lastUsed"] is not None and after["ip"] == "127.0.0.1"
