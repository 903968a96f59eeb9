"""POST /v1/verifyAccount against a real Dovecot and a real SMTP server."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.servers.ports import free_port

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _outcome(result: dict[str, Any]) -> dict[str, Any]:
    return {key: result[key] for key in ("success", "error", "code")}


async def test_imap_success_lists_mailboxes(
    client: httpx2.AsyncClient, auth: dict[str, str], dovecot
) -> None:  # type: ignore[no-untyped-def]
    imap = {"host": dovecot.host, "port": dovecot.port, "secure": False,
            "auth": {"user": "alice@example.com", "pass": "alicepw"}}  # fmt: skip
    r = await client.post("/v1/verifyAccount", json={"imap": imap, "mailboxes": True}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert _outcome(body["imap"]) == {"success": True, "error": None, "code": None}
    boxes = {m["path"]: m for m in body["mailboxes"]}
    assert boxes["INBOX"]["specialUse"] == "\\Inbox"
    assert boxes["Sent"]["specialUse"] == "\\Sent" and boxes["Trash"]["specialUse"] == "\\Trash"
    assert boxes["Sent"]["delimiter"] == "/"
    assert body.get("smtp") is None


async def test_imap_wrong_password(client: httpx2.AsyncClient, auth: dict[str, str], dovecot) -> None:  # type: ignore[no-untyped-def]
    imap = {
        "host": dovecot.host,
        "port": dovecot.port,
        "auth": {"user": "alice@example.com", "pass": "wrong"},
    }
    r = await client.post("/v1/verifyAccount", json={"imap": imap}, headers=auth)
    result = r.json()["imap"]
    assert result["success"] is False and result["code"] == "EAUTH"
    assert "AUTHENTICATIONFAILED" in result["error"]


async def test_unreachable_servers(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    port = free_port()  # nothing listens here
    body = {"imap": {"host": "127.0.0.1", "port": port}, "smtp": {"host": "127.0.0.1", "port": port}}
    r = await client.post("/v1/verifyAccount", json=body, headers=auth)
    assert r.status_code == 200
    assert r.json()["imap"]["code"] == "ECONNREFUSED"
    assert r.json()["smtp"]["code"] == "ECONNREFUSED"


async def test_smtp_auth(client: httpx2.AsyncClient, auth: dict[str, str], smtp_sink) -> None:  # type: ignore[no-untyped-def]
    smtp_sink.require_auth = True
    good = {
        "host": "127.0.0.1",
        "port": smtp_sink.port,
        "auth": {"user": "alice@example.com", "pass": "alicepw"},
    }
    r = await client.post("/v1/verifyAccount", json={"smtp": good}, headers=auth)
    assert _outcome(r.json()["smtp"]) == {"success": True, "error": None, "code": None}
    bad = {**good, "auth": {"user": "alice@example.com", "pass": "nope"}}
    r = await client.post("/v1/verifyAccount", json={"smtp": bad}, headers=auth)
    assert r.json()["smtp"]["success"] is False and r.json()["smtp"]["code"] == "EAUTH"
    assert "535" in r.json()["smtp"]["error"]


async def test_nothing_to_verify(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post("/v1/verifyAccount", json={"mailboxes": True}, headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "InvalidRequest"
