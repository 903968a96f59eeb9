"""Smoke tests for the real-server fixtures in tests.servers."""

from __future__ import annotations

import asyncio

import aioimaplib
import aiosmtplib
import asyncpg  # type: ignore[import-untyped, unused-ignore]
import pytest
import redis.asyncio as aioredis

from tests.servers.dovecot import Dovecot, append_messages
from tests.servers.fixtures import DOVECOT_USERS, ImapUser
from tests.servers.postgres import Postgres
from tests.servers.redis import Redis
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.asyncio

ALICE = "alice@example.com"
MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Subject: smoke test\r\n"
    b"Message-ID: <smoke-1@example.com>\r\n"
    b"\r\n"
    b"Hello Bob.\r\n"
    b".leading dot survives dot-stuffing\r\n"
)


def _text(lines: list[bytes | bytearray | str]) -> list[str]:
    return [ln if isinstance(ln, str) else bytes(ln).decode(errors="replace") for ln in lines]


async def _imap_login(server: Dovecot, user: str, password: str) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=10)
    await asyncio.wait_for(client.wait_hello_from_server(), 10)
    resp = await asyncio.wait_for(client.login(user, password), 10)
    assert resp.result == "OK", resp
    return client


# ------------------------------------------------------------------ Dovecot
async def test_dovecot_append_select_and_special_use(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    uids = await append_messages(
        dovecot.host,
        dovecot.port,
        dovecot_user.email,
        dovecot_user.password,
        "INBOX",
        [MESSAGE, MESSAGE.replace(b"smoke-1", b"smoke-2")],
        flags=["\\Seen"],
    )
    assert uids == [1, 2]
    sent_uids = await append_messages(
        dovecot.host,
        dovecot.port,
        dovecot_user.email,
        dovecot_user.password,
        "Sent",
        [MESSAGE],
    )
    assert sent_uids == [1]

    client = await _imap_login(dovecot, dovecot_user.email, dovecot_user.password)
    try:
        resp = await client.select("INBOX")
        assert resp.result == "OK"
        assert "2 EXISTS" in _text(resp.lines)

        resp = await client.uid("fetch", "1:*", "(UID FLAGS)")
        assert resp.result == "OK"
        fetched = " ".join(_text(resp.lines))
        assert "UID 1" in fetched and "UID 2" in fetched and "\\Seen" in fetched

        resp = await client.list('""', '"*"')
        assert resp.result == "OK"
        listing = _text(resp.lines)
        for name, attr in [
            ("Drafts", "\\Drafts"),
            ("Sent", "\\Sent"),
            ("Trash", "\\Trash"),
            ("Archive", "\\Archive"),
        ]:
            assert any(attr in ln and ln.endswith(f'"/" {name}') for ln in listing), listing
        assert any(ln.endswith('"/" INBOX') for ln in listing)
    finally:
        await asyncio.wait_for(client.logout(), 5)

    assert (dovecot.maildir(dovecot_user.email) / "cur").is_dir()


async def test_dovecot_fixture_users_can_log_in(dovecot: Dovecot) -> None:
    assert DOVECOT_USERS.items() <= dovecot.users.items()
    for user, password in DOVECOT_USERS.items():
        client = await _imap_login(dovecot, user, password)
        await asyncio.wait_for(client.logout(), 5)


async def test_dovecot_wrong_password(dovecot: Dovecot) -> None:
    client = aioimaplib.IMAP4(host=dovecot.host, port=dovecot.port, timeout=10)
    await asyncio.wait_for(client.wait_hello_from_server(), 10)
    try:
        resp = await asyncio.wait_for(client.login(ALICE, "wrong"), 10)
        assert resp.result == "NO"
        assert "AUTHENTICATIONFAILED" in " ".join(_text(resp.lines))
        # no anvil penalty: the right password works right away on the same connection
        resp = await asyncio.wait_for(client.login(ALICE, DOVECOT_USERS[ALICE]), 3)
        assert resp.result == "OK"
    finally:
        await asyncio.wait_for(client.logout(), 5)


async def test_dovecot_kick_drops_connection(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    lost = asyncio.Event()
    client = aioimaplib.IMAP4(
        host=dovecot.host, port=dovecot.port, timeout=10, conn_lost_cb=lambda _exc: lost.set()
    )
    await asyncio.wait_for(client.wait_hello_from_server(), 10)
    assert (await client.login(dovecot_user.email, dovecot_user.password)).result == "OK"
    assert (await client.select("INBOX")).result == "OK"

    output = await asyncio.to_thread(dovecot.kick, dovecot_user.email)
    assert dovecot_user.email in output
    await asyncio.wait_for(lost.wait(), 5)


async def test_dovecot_restart_keeps_port_and_mail(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    await append_messages(
        dovecot.host, dovecot.port, dovecot_user.email, dovecot_user.password, "INBOX", [MESSAGE]
    )
    lost = asyncio.Event()
    client = aioimaplib.IMAP4(
        host=dovecot.host, port=dovecot.port, timeout=10, conn_lost_cb=lambda _exc: lost.set()
    )
    await asyncio.wait_for(client.wait_hello_from_server(), 10)
    assert (await client.login(dovecot_user.email, dovecot_user.password)).result == "OK"

    port = dovecot.port
    await asyncio.to_thread(dovecot.restart)
    await asyncio.wait_for(lost.wait(), 5)
    assert dovecot.port == port

    client = await _imap_login(dovecot, dovecot_user.email, dovecot_user.password)
    try:
        resp = await client.select("INBOX")
        assert "1 EXISTS" in _text(resp.lines)
    finally:
        await asyncio.wait_for(client.logout(), 5)


# --------------------------------------------------------------------- SMTP
async def _send(
    sink: SmtpSink, recipients: list[str], username: str | None = None, password: str | None = None
) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    return await aiosmtplib.send(
        MESSAGE,
        sender=ALICE,
        recipients=recipients,
        hostname=sink.host,
        port=sink.port,
        start_tls=False,
        use_tls=False,
        timeout=10,
        username=username,
        password=password,
    )


def _client(sink: SmtpSink) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(hostname=sink.host, port=sink.port, start_tls=False, use_tls=False, timeout=10)


async def test_smtp_sink_records_authenticated_message(smtp_sink: SmtpSink) -> None:
    smtp_sink.require_auth = True
    errors, reply = await _send(
        smtp_sink, ["bob@example.com", "carol@example.org"], username=ALICE, password=DOVECOT_USERS[ALICE]
    )
    assert errors == {}
    assert reply.startswith("2.0.0 Queued as SINK")

    [received] = await smtp_sink.wait_for(1)
    assert received.mail_from == ALICE
    assert received.rcpt_tos == ["bob@example.com", "carol@example.org"]
    assert received.auth_login == ALICE
    assert received.data == MESSAGE


async def test_smtp_sink_auth_required_and_bad_password(smtp_sink: SmtpSink) -> None:
    smtp_sink.require_auth = True
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await _send(smtp_sink, ["bob@example.com"])
    assert refused.value.code == 530
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as bad:
        await _send(smtp_sink, ["bob@example.com"], username=ALICE, password="nope")
    assert bad.value.code == 535
    assert smtp_sink.messages == []


async def test_smtp_sink_xoauth2(smtp_sink: SmtpSink) -> None:
    smtp_sink.xoauth2_tokens = {"tok-alice": ALICE}
    async with _client(smtp_sink) as smtp:
        await smtp.ehlo()
        assert "xoauth2" in smtp.server_auth_methods
        await smtp.auth_xoauth2(ALICE, "tok-alice")
        await smtp.sendmail(ALICE, ["bob@example.com"], MESSAGE)
    [received] = await smtp_sink.wait_for(1)
    assert received.auth_login == ALICE

    async with _client(smtp_sink) as smtp:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as bad:
            await smtp.auth_xoauth2(ALICE, "tok-wrong")
        assert bad.value.code == 535


@pytest.mark.parametrize(("mode", "code"), [("tempfail", 451), ("reject", 554)])
async def test_smtp_sink_data_failures(smtp_sink: SmtpSink, mode: str, code: int) -> None:
    smtp_sink.mode = mode  # type: ignore[assignment]
    with pytest.raises(aiosmtplib.SMTPDataError) as exc_info:
        await _send(smtp_sink, ["bob@example.com"])
    assert exc_info.value.code == code
    assert smtp_sink.messages == []


async def test_smtp_sink_drop_and_recipient_rules(smtp_sink: SmtpSink) -> None:
    smtp_sink.mode = "drop"
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await _send(smtp_sink, ["bob@example.com"])
    smtp_sink.mode = "accept"

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await _send(smtp_sink, ["nouser@example.com", "greylist@example.com"])
    assert sorted(r.code for r in refused.value.recipients) == [450, 550]

    errors, _ = await _send(smtp_sink, ["nouser@example.com", "bob@example.com"])
    assert errors["nouser@example.com"].code == 550
    [received] = await smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["bob@example.com"]
    assert received.auth_login is None


async def test_smtp_sink_wait_for_times_out(smtp_sink: SmtpSink) -> None:
    with pytest.raises(TimeoutError):
        await smtp_sink.wait_for(1, timeout=0.2)


# ----------------------------------------------------------- Postgres, Redis
async def test_postgres_create_database_and_select(postgres_server: Postgres) -> None:
    url = postgres_server.create_database("smoke_select")
    assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{postgres_server.port}/smoke_select"
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select current_database()") == "smoke_select"
    finally:
        await conn.close()


async def test_redis_ping_and_flushall(redis_server: Redis) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await client.ping() is True
        await client.set("smoke", "1")
        await asyncio.to_thread(redis_server.flushall)
        assert await client.get("smoke") is None
    finally:
        await client.aclose()
