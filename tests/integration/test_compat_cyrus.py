"""The fields that need RFC 8474 object ids (emailIds, mailboxId), against Cyrus IMAP, which has
them (the test Dovecot 2.3 does not); and a folder made by another client under Cyrus's ``.``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration import scenarios
from tests.integration.conftest import Live, make_message, seed
from tests.servers.cyrus import Cyrus
from tests.servers.fixtures import ImapUser


@pytest.fixture(scope="module")
def dovecot(cyrus: Cyrus) -> Iterator[Cyrus]:
    """``dovecot_user`` and the other suite fixtures, on Cyrus."""
    yield cyrus


@pytest.fixture
async def live(tmp_path: Path, sqlite_template: Path, dovecot: Cyrus) -> AsyncIterator[Live]:
    async with scenarios.running(tmp_path, sqlite_template, dovecot, poll_interval=300.0) as live:
        yield live


@pytest.fixture
async def account(live: Live, dovecot_user: ImapUser) -> AsyncIterator[str]:
    crlf = [make_message(f"obj {i}").replace(b"\n", b"\r\n") for i in range(3)]  # Cyrus wants CRLF
    await seed(live.dovecot, dovecot_user, "INBOX", crlf)
    assert await scenarios.register(live, dovecot_user) == "acc"
    await live.wait_state("acc", "connected")
    yield "acc"


async def test_bulk_move_and_delete_answer_email_ids(live: Live, account: str) -> None:
    listed = {m["id"]: m for m in (await live.get("/v1/account/acc/messages"))["messages"]}
    assert all(m["emailId"] for m in listed.values())
    r = await live.client.put(
        "/v1/account/acc/messages/move",
        json={"search": {"subject": "obj"}, "path": "INBOX.Archive"},
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert sorted(moved["emailIds"]) == sorted(m["emailId"] for m in listed.values())
    archive = {
        m["id"]: m for m in (await live.get("/v1/account/acc/messages", path="INBOX.Archive"))["messages"]
    }
    for old, new in moved["idMap"]:
        assert archive[new]["emailId"] == listed[old]["emailId"]  # EMAILID survives a move

    one = next(iter(archive.values()))
    r = await live.client.put(
        "/v1/account/acc/messages/delete?path=INBOX.Archive&force=true",
        json={"search": {"emailIds": [one["emailId"]]}},
        headers=live.headers,
    )
    assert r.json() == {
        "path": "INBOX.Archive",
        "matched": 1,
        "deleted": True,
        "moved": None,
        "deletedMessages": {"emailIds": [one["emailId"]]},
    }
    left = (await live.get("/v1/account/acc/messages", path="INBOX.Archive"))["messages"]
    assert one["id"] not in {m["id"] for m in left} and len(left) == 2


async def test_mailbox_id_survives_rename_of_a_folder_made_elsewhere(
    live: Live, account: str, dovecot_user: ImapUser
) -> None:
    other = await scenarios.client_for(live, dovecot_user)
    try:
        await other.create("INBOX.Outside")
        expected = await other.mailbox_id("INBOX.Outside")
        assert expected
        r = await live.client.put(
            "/v1/account/acc/mailbox",
            json={"path": "INBOX.Outside", "newPath": ["INBOX", "Inside"]},
            headers=live.headers,
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert body["newPath"] == "INBOX.Inside" and body["mailboxId"] == expected
        r = await live.client.delete(
            "/v1/account/acc/mailbox", params={"path": "INBOX.Inside"}, headers=live.headers
        )
        assert r.json()["mailboxId"] == expected and await other.find_folder("INBOX.Inside") is None
    finally:
        await other.logout()
