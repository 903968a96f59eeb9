"""The IMAP server goes away for a long time (compressed by short reconnect delays) while mail keeps
arriving: the account comes back to ``connected`` on its own, every message delivered meanwhile is
announced exactly once, a flag changed meanwhile is noticed, and mail from before the outage is not
announced again."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from app.models import Event
from tests.integration.conftest import Live, make_message, running, seed, wait_until
from tests.servers.dovecot import Dovecot
from tests.servers.fixtures import ImapUser
from tests.servers.maildir import deliver_maildir, folder_dir

USER = ImapUser("drill@example.com", "drill-pw")
DOWN = ("disconnected", "connectError")


@pytest.fixture
def private_dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    """A Dovecot of this test alone: it is stopped and started again on the same port."""
    server = Dovecot(tmp_path / "dovecot", {USER.email: USER.password})
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def message_id(data: bytes) -> str:
    return str(message_from_bytes(data)["Message-ID"])


def announced(events: list[Event]) -> Counter[str]:
    return Counter(str(e.payload["messageId"]) for e in events)


def flag_on_disk(dovecot: Dovecot, wanted: str, flag: str) -> None:
    """What another client of the mail store does while IMAP is down: a Maildir flag is part of
    the file name (``:2,<flags>`` in ``cur/``); the base name, which the UID is tied to, stays."""
    inbox = folder_dir(dovecot.maildir(USER.email), "INBOX")
    for path in [*(inbox / "cur").iterdir(), *(inbox / "new").iterdir()]:
        if message_id(path.read_bytes()) == wanted:
            base, _, info = path.name.partition(":2,")
            path.rename(inbox / "cur" / f"{base}:2,{''.join(sorted(info + flag))}")
            return
    raise AssertionError(f"{wanted} not found in {inbox}")


async def test_mail_delivered_while_imap_is_down_is_announced_once(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, private_dovecot: Dovecot
) -> None:
    dovecot = private_dovecot
    old = [make_message(f"old {i}") for i in range(2)]
    await seed(dovecot, USER, "INBOX", old)  # in the folder before the account exists: never announced
    async with running(request, tmp_path, sqlite_template, dovecot, "sqlite") as live:
        account = await live.register(
            USER, "drill", imap={"host": dovecot.host, "port": dovecot.port, "secure": False,
                                 "auth": {"user": USER.email, "pass": USER.password}},
        )  # fmt: skip
        await live.wait_state(account, "connected")
        before = make_message("before the outage")
        await seed(dovecot, USER, "INBOX", [before])
        (first,) = await live.wait_event(account, "messageNew", 1)

        since = max(e.id or 0 for e in await live.events(account))
        await asyncio.to_thread(dovecot.stop)
        await live.wait_state(account, *DOWN, timeout=20.0)
        meanwhile = [make_message(f"meanwhile {i}") for i in range(4)]
        deliver_maildir(dovecot, USER.email, "INBOX", meanwhile)
        flag_on_disk(dovecot, message_id(before), "F")
        # The hour, compressed: reconnecting fails until the backoff is at its cap, and goes on.
        await _wait_failed_attempts(live, account, since)
        await asyncio.to_thread(dovecot.start)

        await live.wait_state(account, "connected", timeout=20.0)
        await live.wait_event(account, "messageNew", 1 + len(meanwhile), timeout=20.0)
        updates = await live.wait_event(account, "messageUpdated", 1, timeout=20.0)
        changes = [(u.payload["uid"], u.payload["changes"]["flags"]["added"]) for u in updates]
        assert changes == [(first.payload["uid"], ["\\Flagged"])], [u.payload for u in updates]

        # No duplicate is on its way: a marker appended now is announced, and nothing else is.
        marker = make_message("marker")
        await seed(dovecot, USER, "INBOX", [marker])

        async def marker_seen() -> bool:
            return message_id(marker) in announced(await live.events(account, "messageNew"))

        await wait_until(marker_seen, 15.0, "the marker was never announced")
        counts = announced(await live.events(account, "messageNew"))
        expected = {message_id(m): 1 for m in [before, *meanwhile, marker]}
        assert counts == expected, counts
        listed = await live.get(f"/v1/account/{account}/messages", path="INBOX", pageSize=50)
        assert listed["total"] == len(old) + 1 + len(meanwhile) + 1, listed


async def _wait_failed_attempts(live: Live, account: str, since: int, attempts: int = 6) -> None:
    """Wait until reconnecting failed a few times (each failure records a ``connectError``): the
    outage is felt, not just begun."""

    async def failed_enough() -> bool:
        return len([e for e in await live.events(account, "connectError") if (e.id or 0) > since]) >= attempts

    await wait_until(failed_enough, 20.0, "the account did not keep trying to reconnect")
