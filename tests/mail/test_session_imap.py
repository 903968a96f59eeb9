"""What only the IMAP implementation of the session has to get right, against a real Dovecot."""

from __future__ import annotations

import asyncio

from app.mail.imap import ImapConnection
from tests.servers.dovecot import Dovecot
from tests.servers.fixtures import ImapUser


async def test_watch_without_idle_polls_and_returns(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    """A server without IDLE is asked with NOOP once the wait is over: an empty answer, not an error
    that would make the sync engine reconnect every half minute."""
    auth = {"user": dovecot_user.email, "pass": dovecot_user.password}
    conn = ImapConnection({"host": dovecot.host, "port": dovecot.port, "auth": auth}, timeout=10)
    await conn.open()
    try:
        conn.capabilities = conn.capabilities - {"IDLE"}
        await conn.select("INBOX", readonly=True)
        assert await asyncio.wait_for(conn.watch(asyncio.Event(), 0.2), 10) == []
        assert conn.usable
    finally:
        await conn.logout()
