"""The sync engine and the API against a server with IDLE but without CONDSTORE, QRESYNC, NOTIFY,
SPECIAL-USE or ESEARCH (what Exchange and many hosted servers offer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.sync import worker
from tests.integration import scenarios
from tests.integration.conftest import Live
from tests.integration.scenarios import Folders
from tests.servers.dovecot import Dovecot
from tests.servers.fixtures import ImapUser
from tests.servers.smtp import SmtpSink

FOLDERS = Folders(sent="Sent", drafts="Drafts", trash="Trash", junk="Junk E-mail", archive="Archive")


@pytest.fixture(scope="module")
def dovecot(dovecot_reduced: Dovecot) -> Iterator[Dovecot]:
    """``dovecot_user`` and the other suite fixtures, on the reduced server."""
    yield dovecot_reduced


@pytest.fixture
async def live(tmp_path: Path, sqlite_template: Path, dovecot: Dovecot) -> AsyncIterator[Live]:
    # A LIST poll far beyond every deadline below: only IDLE and the STATUS sweep can be on time.
    async with scenarios.running(tmp_path, sqlite_template, dovecot, poll_interval=300.0) as live:
        yield live


async def test_old_mail_is_not_announced_and_new_mail_is_found_fast(
    live: Live, dovecot_user: ImapUser
) -> None:
    conn = await scenarios.client_for(live, dovecot_user)
    try:
        assert not {"CONDSTORE", "QRESYNC", "NOTIFY", "SPECIAL-USE", "ESEARCH"} & conn.capabilities
        assert "IDLE" in conn.capabilities
    finally:
        await conn.logout()
    delays = await scenarios.old_mail_is_not_announced(live, dovecot_user, FOLDERS)
    print(f"messageNew delays: INBOX {delays['inbox']:.2f}s, Archive {delays['other']:.2f}s")


async def test_subconnections_watch_folders_with_idle(
    live: Live, dovecot_user: ImapUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "STATUS_SWEEP", 300.0, raising=False)  # no sweep either: IDLE or nothing
    delay = await scenarios.subconnection_gets_idle(live, dovecot_user, FOLDERS)
    print(f"messageNew delay in a subconnection folder: {delay:.2f}s")


async def test_changes_by_another_client(live: Live, dovecot_user: ImapUser) -> None:
    await scenarios.external_changes(live, dovecot_user, FOLDERS)


async def test_special_folders_by_name(live: Live, dovecot_user: ImapUser) -> None:
    conn = await scenarios.client_for(live, dovecot_user)
    try:
        await conn.create(FOLDERS.junk)  # the server flags none of this one
    finally:
        await conn.logout()
    await scenarios.roles_by_name(live, dovecot_user, FOLDERS)


async def test_sent_copy_goes_where_the_account_says(
    live: Live, smtp_sink: SmtpSink, dovecot_user: ImapUser
) -> None:
    conn = await scenarios.client_for(live, dovecot_user)
    try:
        await conn.create("Outgoing")
    finally:
        await conn.logout()
    outbox = scenarios.fast_outbox(live, smtp_sink, dovecot_user)
    await outbox.start()
    try:
        folders = replace(FOLDERS, sent="Outgoing")
        await scenarios.sent_copy_lands_in_sent(outbox, folders, sentMailPath="Outgoing")
    finally:
        await outbox.stop()


async def test_account_folder_settings_win(live: Live, dovecot_user: ImapUser) -> None:
    conn = await scenarios.client_for(live, dovecot_user)
    try:
        await conn.create("Binned")
    finally:
        await conn.logout()
    await scenarios.put(live, dovecot_user, "INBOX", "unwanted")
    settings = scenarios.imap_settings(live, dovecot_user, trashMailPath="Binned")
    await scenarios.register(live, dovecot_user, imap=settings)
    boxes = {m["path"]: m for m in (await live.get("/v1/account/acc/mailboxes"))["mailboxes"]}
    assert (boxes["Binned"]["specialUse"], boxes["Binned"]["specialUseSource"]) == ("\\Trash", "user")
    assert boxes["Trash"].get("specialUse") is None and boxes["Sent"]["specialUse"] == "\\Sent"
    message = (await live.get("/v1/account/acc/messages"))["messages"][0]
    r = await live.client.delete(f"/v1/account/acc/message/{message['id']}", headers=live.headers)
    assert r.status_code == 200 and r.json()["moved"]["destination"] == "Binned", r.text
