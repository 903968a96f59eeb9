"""Reading one message several ways downloads it once: its content cannot change under its UID."""

from __future__ import annotations

from tests.integration.conftest import Live, make_message, seed
from tests.servers.fixtures import ImapUser


async def test_message_text_and_source_download_once(live: Live, dovecot_user: ImapUser) -> None:
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message("cached", "body text")])
    account = await live.register(dovecot_user, logs=True)
    await live.wait_state(account, "connected")
    listed = await live.get(f"/v1/account/{account}/messages", path="INBOX")
    message = listed["messages"][0]
    first = await live.get(f"/v1/account/{account}/message/{message['id']}", textType="*")
    assert "body text" in first["text"]["plain"]
    again = await live.get(f"/v1/account/{account}/message/{message['id']}", textType="*")
    assert again["text"] == first["text"]
    text = await live.get(f"/v1/account/{account}/text/{message['text']['id']}", textType="plain")
    assert "body text" in text["plain"]
    r = await live.client.get(f"/v1/account/{account}/message/{message['id']}/source", headers=live.headers)
    assert r.status_code == 200 and b"body text" in r.content
    log = (await live.client.get(f"/v1/logs/{account}", headers=live.headers)).text
    assert log.count("BODY.PEEK[]") == 1, log
