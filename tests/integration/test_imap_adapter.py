"""The IMAP adapter against real Dovecot, including each aioimaplib 2.0.3 defect it works around.

Each defect test first shows the stock aioimaplib behaviour, then the adapter's."""

from __future__ import annotations

import asyncio
import time

import aioimaplib
import pytest
from aioimaplib import aioimaplib as raw

from app.mail import aioimaplib_patch
from app.mail.imap import AuthenticationFailed, ConnectionLost, ImapConnection
from tests.integration.conftest import make_message
from tests.servers.dovecot import Dovecot
from tests.servers.fixtures import ImapUser
from tests.servers.idp import OAUTH_CLIENT_ID, OAuthProvider
from tests.servers.maildir import seed_maildir

MANY = 3000


def settings(dovecot: Dovecot, user: ImapUser, **auth: str) -> dict[str, object]:
    return {"host": dovecot.host, "port": dovecot.port,
            "auth": auth or {"user": user.email, "pass": user.password}}  # fmt: skip


@pytest.fixture
def big_user(dovecot: Dovecot, dovecot_user: ImapUser) -> ImapUser:
    seed_maildir(dovecot, dovecot_user.email, "INBOX", (make_message(f"bulk {i}") for i in range(MANY)))
    return dovecot_user


class unpatched:
    """Put aioimaplib's own code back for the duration of a block."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.saved: dict[str, object] = {}

    def __enter__(self) -> None:
        targets = {
            "handle_responses": (raw.IMAP4ClientProtocol, "_handle_responses"),
            "continuation": (raw.IMAP4ClientProtocol, "_continuation"),
            "fetch_command": (raw, "FetchCommand"),
            "untagged_response": (raw.IMAP4ClientProtocol, "_untagged_response"),
        }
        for name in self.names:
            owner, attr = targets[name]
            self.saved[name] = getattr(owner, attr)
            setattr(owner, attr, aioimaplib_patch.ORIGINAL[name])
        self.targets = targets

    def __exit__(self, *exc: object) -> None:
        for name, value in self.saved.items():
            owner, attr = self.targets[name]
            setattr(owner, attr, value)


async def raw_client(dovecot: Dovecot, user: ImapUser, timeout: float = 5) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(dovecot.host, dovecot.port, timeout=timeout)
    await client.wait_hello_from_server()
    assert (await client.login(user.email, user.password)).result == "OK"
    return client


async def test_many_short_lines_stock_recursion(dovecot: Dovecot, big_user: ImapUser) -> None:
    """Stock: one read with ~1000 short lines blows the stack and the command never completes."""
    with unpatched("handle_responses"):
        client = await raw_client(dovecot, big_user, timeout=3)
        await client.select("INBOX")
        with pytest.raises((TimeoutError, asyncio.TimeoutError, raw.CommandTimeout, RecursionError)):
            await asyncio.wait_for(client.uid("fetch", "1:*", "(UID FLAGS)"), 4)
        client.protocol.transport.close()


async def test_many_short_lines_adapter(dovecot: Dovecot, big_user: ImapUser) -> None:
    conn = ImapConnection(settings(dovecot, big_user), timeout=10)
    await conn.open()
    await conn.select("INBOX", readonly=True)
    fetched = await conn.fetch("1:*", "UID FLAGS")
    assert len(fetched.messages) == MANY and all("\\Seen" not in (m.flags or []) for m in fetched.messages)
    summary = await conn.fetch("1:*", "UID FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE")
    assert len(summary.messages) == MANY
    assert {m.envelope.subject for m in summary.messages if m.envelope} == {f"bulk {i}" for i in range(MANY)}
    await conn.logout()


def test_fetch_completion_check_is_linear() -> None:
    """Stock FetchCommand re-joins every line on every line (quadratic); the patched one counts parens."""
    lines = [
        f"{i} FETCH (UID {i} FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {{10}}".encode()
        for i in range(1, 4001)
    ]

    def feed(cls: type) -> float:
        cmd = cls("A1", "1:*", "(UID)", loop=asyncio.new_event_loop())
        start = time.perf_counter()
        for line in lines:
            cmd.append_to_resp(line)
            cmd.append_to_resp(bytearray(b"Subject: x"))
            cmd.append_to_resp(b")")
            assert not cmd.wait_data()
        return time.perf_counter() - start

    patched = feed(aioimaplib_patch.FastFetchCommand)
    stock = feed(aioimaplib_patch.ORIGINAL["fetch_command"])  # type: ignore[arg-type]
    assert stock > 10 * patched, (stock, patched)
    # Depth is tracked across lines: an open paren keeps the command waiting.
    cmd = aioimaplib_patch.FastFetchCommand("A1", "1", "(UID)", loop=asyncio.new_event_loop())
    cmd.append_to_resp(b"1 FETCH (UID 1 ENVELOPE (NIL {3}")
    assert cmd.wait_data()
    cmd.append_to_resp(bytearray(b"a(b"))
    cmd.append_to_resp(b" NIL))")
    assert not cmd.wait_data()


async def test_connection_loss_stock_hangs(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    """Stock: a kicked connection leaves IDLE (and any pending command) waiting forever."""
    client = await raw_client(dovecot, dovecot_user)
    await client.select("INBOX")
    idle = await client.idle_start(timeout=60)
    await asyncio.sleep(0.2)
    dovecot.kick(dovecot_user.email)
    await asyncio.sleep(1.5)
    assert not idle.done()  # nobody will ever complete it
    idle.cancel()


async def test_connection_loss_adapter_raises(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    conn = ImapConnection(settings(dovecot, dovecot_user), timeout=30)
    await conn.open()
    await conn.select("INBOX", readonly=True)
    started = time.monotonic()
    idle = asyncio.create_task(conn.idle(asyncio.Event()))
    await asyncio.sleep(0.3)  # most likely in IDLE by now; a kick before it must raise just the same
    dovecot.kick(dovecot_user.email)
    with pytest.raises(ConnectionLost):
        await asyncio.wait_for(idle, 20)
    assert time.monotonic() - started < 20 and not conn.usable  # well before the 30 s timeout
    with pytest.raises(ConnectionLost):
        await conn.noop()


async def test_silent_server_times_out(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    """A server that accepts the connection and then says nothing: bounded, not a hang."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = ImapConnection({"host": "127.0.0.1", "port": port, "auth": {"user": "u", "pass": "p"}}, timeout=1)
    from app.mail.imap import ConnectFailed

    with pytest.raises(ConnectFailed) as err:
        await asyncio.wait_for(conn.open(), 5)
    assert err.value.code == "ETIMEDOUT"
    server.close()


# -- XOAUTH2 against Dovecot's oauth2 passdb and the local OAuth2 provider ------------------------
@pytest.fixture
def oauth_dovecot(dovecot_oauth: Dovecot, oauth_provider: OAuthProvider) -> tuple[Dovecot, str, str]:
    """(server, user, a live access token of that user)."""
    user, _ = dovecot_oauth.fresh_user()
    oauth_provider.add_user(user)
    return dovecot_oauth, user, oauth_provider.mint(user, OAUTH_CLIENT_ID)["access_token"]


async def test_xoauth2_failure_stock_hangs(oauth_dovecot: tuple[Dovecot, str, str]) -> None:
    dovecot, user, _ = oauth_dovecot
    with unpatched("continuation"):
        client = aioimaplib.IMAP4(dovecot.host, dovecot.port, timeout=3)
        await client.wait_hello_from_server()
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            await client.xoauth2(user, "bad-token")  # waits for a reply to "+ <challenge>" forever
        client.protocol.transport.close()


async def test_xoauth2_adapter(oauth_dovecot: tuple[Dovecot, str, str]) -> None:
    dovecot, user, token = oauth_dovecot
    bad = ImapConnection({"host": dovecot.host, "port": dovecot.port, "auth": {"user": user, "accessToken": "bad"}},
                         timeout=10)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(AuthenticationFailed) as err:
        await bad.open()
    assert "AUTHENTICATIONFAILED" in (err.value.response or "") and time.monotonic() - started < 8
    good = ImapConnection({"host": dovecot.host, "port": dovecot.port,
                           "auth": {"user": user, "accessToken": token}})  # fmt: skip
    await good.open()
    info = await good.select("INBOX", readonly=True)
    assert info.uid_validity
    await good.logout()


async def test_star_space_inside_a_line_survives(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    """Stock aioimaplib removed every "* " in an untagged line, mangling "5 * 3" into "5 3"."""
    from tests.integration.conftest import seed

    await seed(dovecot, dovecot_user, "INBOX", [make_message("5 * 3 = 15")])
    conn = ImapConnection(settings(dovecot, dovecot_user))
    await conn.open()
    await conn.select("INBOX", readonly=True)
    fetched = await conn.fetch("1:*", "UID ENVELOPE")
    assert fetched.messages[0].envelope is not None and fetched.messages[0].envelope.subject == "5 * 3 = 15"
    await conn.logout()
    with unpatched("untagged_response"):
        client = await raw_client(dovecot, dovecot_user)
        await client.select("INBOX")
        response = await client.uid("fetch", "1:*", "(ENVELOPE)")
        assert b"5 3 = 15" in b"".join(bytes(x) for x in response.lines)
        client.protocol.transport.close()
