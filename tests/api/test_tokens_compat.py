"""EmailEngine's token routes: paging and filters, one token, expiry, restrictions, access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

ACCOUNT = {"name": "T", "imap": {"host": "h.example", "port": 993}}


async def _accounts(client: httpx2.AsyncClient, auth: dict[str, str], *ids: str) -> None:
    for account in ids:
        r = await client.post("/v1/account", json={**ACCOUNT, "account": account}, headers=auth)
        assert r.status_code == 200


async def _token(client: httpx2.AsyncClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await client.post("/v1/tokens", json={"account": "t1", **body}, headers=auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_paging_and_account_filter(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await _accounts(client, auth, "t1", "t2")
    for n in range(3):
        await _token(client, auth, description=f"one-{n}")
    await _token(client, auth, account="t2", description="two")
    r = (await client.get("/v1/tokens?account=t1&pageSize=2", headers=auth)).json()
    assert (r["total"], r["pages"], r["account"]) == (3, 2, "t1")
    assert [t["description"] for t in r["tokens"]] == ["one-0", "one-1"]
    r = (await client.get("/v1/tokens?account=t1&pageSize=2&page=1", headers=auth)).json()
    assert [t["description"] for t in r["tokens"]] == ["one-2"]
    r = (await client.get("/v1/tokens?query=TWO", headers=auth)).json()
    assert [t["account"] for t in r["tokens"]] == ["t2"]


async def test_get_and_delete_by_id(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await _accounts(client, auth, "t1")
    made = await _token(client, auth, metadata='{"user": 7}', ip="192.0.2.9", description="d")
    r = await client.get(f"/v1/tokens/{made['id']}", headers=auth)
    assert r.status_code == 200
    got = r.json()
    assert (got["metadata"], got["ip"], got["account"]) == ('{"user": 7}', "192.0.2.9", "t1")
    assert made["token"] not in r.text
    r = await client.delete(f"/v1/tokens/{made['id']}", headers=auth)
    assert r.json() == {"deleted": True}
    assert (await client.get(f"/v1/tokens/{made['id']}", headers=auth)).status_code == 404
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert (await client.get("/v1/account/t1", headers=bearer)).status_code == 401


async def test_expired_tokens_are_refused(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await _accounts(client, auth, "t1")
    soon = datetime.now(UTC) + timedelta(hours=1)
    live = await _token(client, auth, expires=soon.isoformat())
    gone = await _token(client, auth, expires=(datetime.now(UTC) - timedelta(seconds=1)).isoformat())
    ok = await client.get("/v1/account/t1", headers={"Authorization": f"Bearer {live['token']}"})
    assert ok.status_code == 200
    r = await client.get("/v1/account/t1", headers={"Authorization": f"Bearer {gone['token']}"})
    assert r.status_code == 401 and r.json()["code"] == "AuthenticationRequired"
    listed = (await client.get(f"/v1/tokens/{live['id']}", headers=auth)).json()
    assert listed["expires"].startswith(soon.strftime("%Y-%m-%dT%H:%M"))


async def test_address_and_referrer_restrictions(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await _accounts(client, auth, "t1")
    # The in-process transport presents the client as 127.0.0.1.
    inside = await _token(client, auth, restrictions={"addresses": ["127.0.0.0/8"]})
    outside = await _token(client, auth, restrictions={"addresses": ["10.0.0.0/8", "2001:db8::/32"]})
    web = await _token(client, auth, restrictions={"referrers": ["https://app.example.com/*"]})
    assert (
        await client.get("/v1/account/t1", headers={"Authorization": f"Bearer {inside['token']}"})
    ).status_code == 200
    r = await client.get("/v1/account/t1", headers={"Authorization": f"Bearer {outside['token']}"})
    assert r.status_code == 403 and "address" in r.json()["error"]
    bearer = {"Authorization": f"Bearer {web['token']}"}
    assert (await client.get("/v1/account/t1", headers=bearer)).status_code == 403
    r = await client.get("/v1/account/t1", headers={**bearer, "Referer": "https://evil.example/x"})
    assert r.status_code == 403
    r = await client.get("/v1/account/t1", headers={**bearer, "Referer": "https://app.example.com/page"})
    assert r.status_code == 200
    r = await client.post(
        "/v1/tokens", json={"account": "t1", "restrictions": {"addresses": ["nope"]}}, headers=auth
    )
    assert r.status_code == 400 and "restrictions.addresses.0" in r.json()["details"]


async def test_access_log_records_uses_and_refusals(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await _accounts(client, auth, "t1")
    made = await _token(client, auth, restrictions={"referrers": ["https://app.example.com/*"]})
    bearer = {"Authorization": f"Bearer {made['token']}"}
    await client.get("/v1/account/t1", headers=bearer)
    await client.get("/v1/account/t1", headers={**bearer, "Referer": "https://app.example.com/"})
    log = (await client.get(f"/v1/tokens/{made['id']}/log", headers=auth)).json()
    assert [e["status"] for e in log["entries"]] == ["allowed", "denied"]  # newest first
    assert log["entries"][1]["reason"] == "referrer not allowed"
    assert log["entries"][0]["ip"] == "127.0.0.1" and log["entries"][0]["path"] == "/v1/account/t1"
    info = (await client.get(f"/v1/tokens/{made['id']}", headers=auth)).json()
    assert info["access"]["ip"] == "127.0.0.1" and info["access"]["time"] is not None
