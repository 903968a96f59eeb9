"""Line breaks in mail input (search criteria, uploaded headers) against a real Dovecot: a 400 in
the error shape, and nothing reaches the server."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.conftest import Live, make_message, seed, wait_until
from tests.integration.conftest import live as live  # the synced-account fixture
from tests.servers.fixtures import ImapUser

BREAKS = ["a\r\nb", "a\nX1 LOGOUT", "a\rb"]


@pytest.fixture
async def account(live: Live, dovecot_user: ImapUser) -> AsyncIterator[str]:
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message("kept")])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")

    async def indexed() -> bool:
        return (await live.get("/v1/account/acc/messages"))["total"] == 1

    await wait_until(indexed, 15, "the seeded message was never indexed")
    yield "acc"


def refused(r: Any) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    body: dict[str, Any] = r.json()
    assert body["statusCode"] == 400 and body["code"] == "InvalidRequest", body
    return body


# Criteria only the server can answer (IMAP SEARCH), plus index ones, which take the same rule.
CRITERIA = ["body", "text", "cc", "bcc", "subject", "from", "messageId"]


@pytest.mark.parametrize("field", CRITERIA)
async def test_line_breaks_in_search_criteria(live: Live, account: str, field: str) -> None:
    for value in BREAKS:
        search = {field: value}
        r = await live.client.post(
            f"/v1/account/{account}/search", json={"search": search}, headers=live.headers
        )
        assert "line breaks" in str(refused(r)["details"])
        r = await live.client.put(
            f"/v1/account/{account}/messages",
            json={"search": search, "update": {"flags": {"add": ["\\Seen"]}}},
            headers=live.headers,
        )
        refused(r)
        r = await live.client.put(
            f"/v1/account/{account}/messages/delete", json={"search": search}, headers=live.headers
        )
        refused(r)
    r = await live.client.post(
        f"/v1/account/{account}/search", json={"search": {"header": {"X-A": "a\r\nb"}}}, headers=live.headers
    )
    refused(r)
    # The account and its mail are untouched, and an ordinary server-side search still works.
    r = await live.client.post(
        f"/v1/account/{account}/search", json={"search": {"body": "Hi"}}, headers=live.headers
    )
    assert r.status_code == 200 and r.json()["total"] == 1, r.text


async def test_line_breaks_in_graphql_search(live: Live, account: str) -> None:
    query = 'query($s: MessageSearchInput) { messages(account: "acc", search: $s) { totalCount } }'
    for value in BREAKS:
        r = await live.client.post(
            "/graphql", json={"query": query, "variables": {"s": {"body": value}}}, headers=live.headers
        )
        assert r.status_code == 200, r.text
        [error] = r.json()["errors"]
        assert error["extensions"]["statusCode"] == 400 and error["extensions"]["code"] == "InvalidRequest", (
            error
        )


UPLOADS = [
    {"subject": "Hi\r\nBcc: victim@example.com"},
    {"subject": "Hi\nX-Injected: 1"},
    {"subject": "ok", "headers": {"X-Custom": "a\r\nBcc: victim@example.com"}},
    {"subject": "ok", "headers": {"X-Custom": "a\nb"}},
    {"subject": "ok", "headers": {"Bad Name": "v"}},
    {"subject": "ok", "messageId": "<a\r\nb@x>"},
    {"subject": "ok", "to": [{"name": "A\r\nBcc: x@example.com", "address": "a@example.com"}]},
]


@pytest.mark.parametrize("fields", UPLOADS)
async def test_line_breaks_in_uploaded_headers(live: Live, account: str, fields: dict[str, Any]) -> None:
    r = await live.client.post(
        f"/v1/account/{account}/message",
        json={"path": "INBOX", "text": "body"} | fields,
        headers=live.headers,
    )
    refused(r)
    raw = base64.b64encode(make_message("raw upload")).decode()
    r = await live.client.post(
        f"/v1/account/{account}/message", json={"path": "INBOX", "raw": raw}, headers=live.headers
    )
    assert r.status_code == 200, r.text
