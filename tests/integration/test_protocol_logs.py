"""Per-account protocol logs against real Dovecot and the aiosmtpd sink: what is recorded, what
is scrubbed, that the ring stays bounded, and who may read it."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.mail import smtp
from app.mail.imap import AuthenticationFailed, ImapConnection
from app.models import ProtocolLog
from app.services import protocol_logs, tokens
from app.services.principal import OPERATOR
from tests.integration.conftest import Live, make_message, wait_until
from tests.integration.test_sending import Outbox, outbox  # noqa: F401  (the fixture)
from tests.servers.dovecot import Dovecot
from tests.servers.fixtures import ImapUser
from tests.servers.smtp import SmtpSink


async def log_text(live: Live, account: str, headers: dict[str, str] | None = None) -> str:
    r = await live.client.get(f"/v1/logs/{account}", headers=headers or live.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


async def wait_log(live: Live, account: str, *needles: str, timeout: float = 15.0) -> str:
    text = ""

    async def found() -> bool:
        nonlocal text
        text = await log_text(live, account)
        return all(n in text for n in needles)

    await wait_until(found, timeout, lambda: f"{needles} not all in the log:\n{text[-3000:]}")
    return text


async def test_traffic_is_logged_with_credentials_scrubbed(outbox: Outbox) -> None:  # noqa: F811
    live, user, sink = outbox.live, outbox.user, outbox.sink
    sink.users = {user.email: user.password}
    sink.require_auth = True
    auth = {"user": user.email, "pass": user.password}
    await live.register(user, "acc", logs=True, smtp=outbox.smtp(auth=auth))
    await live.wait_state("acc", "connected")
    answer = await outbox.submit(
        {"from": {"address": user.email}, "to": [{"address": "r@example.net"}], "subject": "logged"}
    )
    assert (await sink.wait_for(1))[0].rcpt_tos == ["r@example.net"]
    await outbox.wait_status(answer["queueId"], "sent")
    text = await wait_log(
        live, "acc", "FETCH", "IDLE", "APPEND", f"MAIL FROM:<{user.email}>", "RCPT TO:<r@example.net>"
    )
    lines = text.splitlines()
    assert all(len(line.split(" ", 3)) == 4 for line in lines)  # time, connection, direction, text
    # The sync connection opens folders read-only (EXAMINE), the same exchange as SELECT.
    assert any(" acc/idle C: " in line and ' EXAMINE "INBOX"' in line for line in lines), text
    assert any(" acc/idle C: " in line and line.endswith(" IDLE") for line in lines)
    assert any(" acc/command S: " in line and " FETCH (UID " in line for line in lines)
    assert any(" acc/smtp S: 250" in line for line in lines)
    assert "LOGIN [hidden]" in text and "AUTH PLAIN [hidden]" in text
    plain = base64.b64encode(f"\0{user.email}\0{user.password}".encode()).decode()
    assert user.password not in text and plain not in text
    # The message went out whole (and was stored in Sent with APPEND), but the log keeps only
    # its size.
    assert "Subject: logged" not in text and "<message, " in text
    appended = next(line for line in lines if " APPEND " in line)
    assert appended.endswith(" bytes>"), appended


async def test_no_log_without_logs_true(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user, "loud", logs=True)
    await live.register(dovecot_user, "quiet")
    await live.wait_state("quiet", "connected")
    await wait_log(live, "loud", "IDLE")  # the store works, and the quiet account synced meanwhile
    assert await log_text(live, "quiet") == ""
    async with live.ctx.db.core() as s:
        count = (await s.execute(select(func.count()).where(col(ProtocolLog.account) == "quiet"))).scalar()
    assert count == 0


async def test_turning_logs_on_later_starts_the_log(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user, "acc")
    await live.wait_state("acc", "connected")
    assert await log_text(live, "acc") == ""
    r = await live.client.put("/v1/account/acc", json={"logs": True}, headers=live.headers)
    assert r.status_code == 200, r.text
    await wait_log(live, "acc", "SELECT", "IDLE")


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_the_ring_keeps_only_the_newest_lines(live: Live, dovecot_user: ImapUser) -> None:
    protocol_logs.store(live.ctx).cap = 10
    await live.register(dovecot_user, "acc", logs=True)
    await live.wait_state("acc", "connected")
    text = await wait_log(live, "acc", "IDLE")
    lines = text.splitlines()
    # A session is far longer than ten lines (greeting, CAPABILITY, LOGIN, LIST, EXAMINE...):
    # only the newest ten are kept, the first connection's greeting is gone.
    assert len(lines) == 10, text
    assert not any(" acc/idle S: * OK [CAPABILITY " in line for line in lines), text
    # The connections keep talking (IDLE, STATUS sweeps); their lines arrive in later batches
    # (reading flushes this process's buffer). Once every line seen before has been pushed out,
    # there are still ten.
    first = set(lines)

    async def replaced() -> bool:
        nonlocal text
        text = await log_text(live, "acc")
        return not first & set(text.splitlines())

    await wait_until(replaced, 15, lambda: f"the old lines stayed:\n{text}")
    assert len(text.splitlines()) == 10, text
    async with live.ctx.db.core() as s:
        count = (await s.execute(select(func.count()).where(col(ProtocolLog.account) == "acc"))).scalar()
    assert count == 10


async def test_access(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user, "acc", logs=True)
    await live.register(dovecot_user, "other", logs=True)
    token, _ = await tokens.issue(live.ctx, OPERATOR, description="t", scopes=["api"], account="acc")
    own = {"Authorization": f"Bearer {token}"}
    await wait_log(live, "other", "IDLE")
    assert (await live.client.get("/v1/logs/acc", headers=own)).status_code == 200
    r = await live.client.get("/v1/logs/other", headers=own)
    assert r.status_code == 403 and r.json()["statusCode"] == 403
    assert "IDLE" not in r.text
    r = await live.client.get("/v1/logs/nobody", headers=live.headers)
    assert r.status_code == 404 and r.json()["code"] == "AccountNotFound"
    assert (await live.client.get("/v1/logs/acc")).status_code == 401


async def test_imap_xoauth2_token_is_not_logged(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    """This Dovecot offers no XOAUTH2, so it refuses: the AUTHENTICATE line still crossed the wire."""
    lines: list[tuple[str, str]] = []
    token = "ya29.secret-access-token"
    settings = {
        "host": dovecot.host,
        "port": dovecot.port,
        "auth": {"user": dovecot_user.email, "accessToken": token},
    }
    conn = ImapConnection(settings, timeout=10, wire=lambda d, t: lines.append((d, t)))
    with pytest.raises(AuthenticationFailed):
        await conn.open()
    conn.close()
    text = "\n".join(t for _, t in lines)
    sasl = base64.b64encode(f"user={dovecot_user.email}\1auth=Bearer {token}\1\1".encode()).decode()
    sent = [(d, t) for d, t in lines if "AUTHENTICATE" in t]
    assert sent and all(d == "C" and t.endswith(" AUTHENTICATE XOAUTH2 [hidden]") for d, t in sent), sent
    assert "AUTHENTICATE XOAUTH2 [hidden]" in text
    assert token not in text and sasl not in text


async def test_smtp_xoauth2_token_is_not_logged(smtp_sink: SmtpSink) -> None:
    smtp_sink.require_auth = True
    smtp_sink.xoauth2_tokens = {"token-123": "alice@example.com"}
    lines: list[tuple[str, str]] = []
    cfg: dict[str, Any] = {
        "host": smtp_sink.host,
        "port": smtp_sink.port,
        "secure": False,
        "auth": {"user": "alice@example.com", "accessToken": "token-123"},
    }
    await smtp.send(
        cfg, "alice@example.com", ["bob@example.org"], make_message(), wire=lambda d, t: lines.append((d, t))
    )
    assert (await smtp_sink.wait_for(1))[0].auth_login == "alice@example.com"
    text = "\n".join(t for _, t in lines)
    sasl = base64.b64encode(b"user=alice@example.com\1auth=Bearer token-123\1\1").decode()
    assert ("C", "AUTH XOAUTH2 [hidden]") in lines and ("S", "235 2.7.0 Authentication successful") in lines
    assert "token-123" not in text and sasl not in text
    assert any(d == "C" and t.startswith("MAIL FROM:<alice@example.com>") for d, t in lines), lines
    assert ("C", "RCPT TO:<bob@example.org>") in lines and ("C", "QUIT") in lines


async def test_tapped_connection_through_starttls(dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    """The tap survives the STARTTLS upgrade and logs the decrypted lines, not TLS records."""
    lines: list[tuple[str, str]] = []
    settings = {
        "host": dovecot.host,
        "port": dovecot.port,
        "secure": False,
        "auth": {"user": dovecot_user.email, "pass": dovecot_user.password},
    }
    conn = ImapConnection(settings, timeout=10, wire=lambda d, t: lines.append((d, t)))
    await conn.open()
    try:
        assert conn.tls_version in ("TLSv1.2", "TLSv1.3")
        assert "INBOX" in {f.path for f in await conn.list_folders()}
    finally:
        await conn.logout()
    texts = [t for _, t in lines]
    starttls = next(i for i, t in enumerate(texts) if t.endswith(" STARTTLS"))
    login = next(i for i, t in enumerate(texts) if " LOGIN " in t)
    assert starttls < login and texts[login].endswith(" LOGIN [hidden]")
    assert any(d == "S" and t.startswith("* LIST ") and t.endswith(" INBOX") for d, t in lines), texts
    assert dovecot_user.password not in "\n".join(texts)
