"""Logged-in SMTP sessions reused between messages, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from typing import Any

from app.mail import compose, smtp
from app.mail.smtp_pool import SmtpPool, key_of
from tests.servers.smtp import SmtpSink

SENDER = "alice@example.com"
USERS = {"alice@example.com": "secret"}


def cfg(sink: SmtpSink, password: str = "secret") -> dict[str, Any]:
    return {"host": sink.host, "port": sink.port, "secure": False,
            "auth": {"user": SENDER, "pass": password}}  # fmt: skip


def message(n: int) -> bytes:
    return compose.build(
        from_={"address": SENDER}, to=[{"address": "bob@example.org"}], subject=f"m{n}", text="hi"
    )


def busy(pool: SmtpPool, *settings: dict[str, Any]) -> None:
    """Another message for the same server and login is on its way: sessions are worth keeping."""
    for each in settings:
        pool.begin(key_of(each))


async def test_a_lone_message_ends_its_session(smtp_sink: SmtpSink) -> None:
    pool = SmtpPool()
    settings = {"host": smtp_sink.host, "port": smtp_sink.port, "secure": False}
    await smtp.send(settings, SENDER, ["bob@example.org"], message(1), pool=pool)
    assert pool.idle(key_of(settings)) == 0
    await pool.close()


async def test_one_session_carries_consecutive_messages(smtp_sink: SmtpSink) -> None:
    smtp_sink.require_auth, smtp_sink.users = True, dict(USERS)
    pool = SmtpPool()
    settings = cfg(smtp_sink)
    busy(pool, settings)
    await smtp.send(settings, SENDER, ["bob@example.org"], message(1), pool=pool)
    kept = pool.take(key_of(settings))
    assert kept is not None and kept.is_connected
    pool.give(key_of(settings), kept)
    await smtp.send(settings, SENDER, ["bob@example.org"], message(2), pool=pool)
    assert pool.take(key_of(settings)) is kept  # the same session, not a second one
    received = await smtp_sink.wait_for(2)
    assert [r.auth_login for r in received] == [SENDER, SENDER]
    assert [b"Subject: m1" in r.data for r in received] == [True, False]
    kept.close()
    await pool.close()


async def test_changed_credentials_never_reuse_a_session(smtp_sink: SmtpSink) -> None:
    smtp_sink.require_auth, smtp_sink.users = True, dict(USERS)
    pool = SmtpPool()
    busy(pool, cfg(smtp_sink), cfg(smtp_sink, "changed"))
    await smtp.send(cfg(smtp_sink), SENDER, ["bob@example.org"], message(1), pool=pool)
    smtp_sink.users = {SENDER: "changed"}
    # A session opened with the old password would still be logged in; a new one must log in anew.
    exc: Exception | None = None
    try:
        await smtp.send(cfg(smtp_sink, "secret-old"), SENDER, ["bob@example.org"], message(2), pool=pool)
    except smtp.SmtpFailure as failure:
        exc = failure
    assert exc is not None and exc.code == "EAUTH"  # type: ignore[attr-defined]
    await smtp.send(cfg(smtp_sink, "changed"), SENDER, ["bob@example.org"], message(3), pool=pool)
    assert pool.idle(key_of(cfg(smtp_sink))) == 1 and pool.idle(key_of(cfg(smtp_sink, "changed"))) == 1
    assert len(await smtp_sink.wait_for(2)) == 2
    await pool.close()


async def test_a_session_the_server_dropped_is_replaced(smtp_sink: SmtpSink) -> None:
    pool = SmtpPool()
    settings = {"host": smtp_sink.host, "port": smtp_sink.port, "secure": False}
    busy(pool, settings)
    await smtp.send(settings, SENDER, ["bob@example.org"], message(1), pool=pool)
    assert pool.idle(key_of(settings)) == 1
    smtp_sink.stop()  # every open session goes with the server
    smtp_sink.start()
    result = await smtp.send(settings, SENDER, ["bob@example.org"], message(2), pool=pool)
    assert result.accepted == ["bob@example.org"]
    received = await smtp_sink.wait_for(2)
    assert [b"Subject: m2" in r.data for r in received] == [False, True]  # each once
    await pool.close()


async def test_a_logged_session_is_not_kept(smtp_sink: SmtpSink) -> None:
    pool = SmtpPool()
    settings = {"host": smtp_sink.host, "port": smtp_sink.port, "secure": False}
    lines: list[tuple[str, str]] = []
    busy(pool, settings)
    await smtp.send(settings, SENDER, ["bob@example.org"], message(1), pool=pool,
                    wire=lambda d, t: lines.append((d, t)))  # fmt: skip
    assert any("MAIL FROM" in text for _, text in lines)
    assert pool.idle(key_of(settings)) == 0  # the protocol log shows every message's whole dialogue
    await pool.close()
