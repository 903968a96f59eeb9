"""app.mail.smtp.send against a real SMTP server (aiosmtpd sink): delivery, AUTH, and how every
kind of failure is classified."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiosmtplib
import pytest

from app.mail import compose, smtp
from app.mail.smtp import SmtpFailure
from tests.integration.conftest import wait_until
from tests.servers.ports import free_port
from tests.servers.smtp import SmtpSink

SENDER = "alice@example.com"


def cfg(sink: SmtpSink, **overrides: Any) -> dict[str, Any]:
    return {"host": sink.host, "port": sink.port, "secure": False} | overrides


def message(body: str = "Hello\r\n.leading dot survives\r\n", **kw: Any) -> bytes:
    return compose.build(
        from_={"name": "Alice", "address": SENDER},
        to=[{"address": "bob@example.org"}],
        subject=kw.pop("subject", "Adapter test"),
        text=body,
        **kw,
    )


async def failure(sink: SmtpSink, recipients: list[str], **overrides: Any) -> SmtpFailure:
    with pytest.raises(SmtpFailure) as info:
        await smtp.send(cfg(sink, **overrides), SENDER, recipients, message(), timeout=5)
    return info.value


async def test_accepted_envelope_and_data_byte_for_byte(smtp_sink: SmtpSink) -> None:
    raw = message()
    result = await smtp.send(cfg(smtp_sink), SENDER, ["bob@example.org", "carol@example.net"], raw)
    assert result.response.startswith("250 ") and "Queued as SINK1" in result.response
    assert result.accepted == ["bob@example.org", "carol@example.net"] and result.rejected == {}
    (got,) = await smtp_sink.wait_for(1)
    assert got.mail_from == SENDER and got.rcpt_tos == ["bob@example.org", "carol@example.net"]
    assert got.data == raw  # dot-stuffing undone by the server, nothing else touched
    assert got.auth_login is None


async def test_eight_bit_message_declares_8bitmime(smtp_sink: SmtpSink) -> None:
    raw = compose.build(
        from_={"address": SENDER},
        to=[{"address": "bob@example.org"}],
        subject="Grüße",
        attachments=[compose.Attachment("From: x@y.z\r\n\r\nnaïve\r\n".encode(), "fwd.eml")],
    )
    assert not raw.isascii()  # the attached message travels unencoded
    await smtp.send(cfg(smtp_sink), SENDER, ["bob@example.org"], raw)
    (got,) = await smtp_sink.wait_for(1)
    assert got.data == raw and "BODY=8BITMIME" in [o.upper() for o in got.mail_options]


async def test_duplicate_recipients_are_sent_once(smtp_sink: SmtpSink) -> None:
    result = await smtp.send(cfg(smtp_sink), SENDER, ["bob@example.org", "BOB@example.org"], message())
    assert result.accepted == ["bob@example.org"]
    assert (await smtp_sink.wait_for(1))[0].rcpt_tos == ["bob@example.org"]


@pytest.mark.parametrize("mechanism", ["plain", "login"])
async def test_password_auth(smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch, mechanism: str) -> None:
    monkeypatch.setattr(aiosmtplib.SMTP, "AUTH_METHODS", (mechanism,))  # only this one is tried
    smtp_sink.require_auth = True
    auth = {"user": "alice@example.com", "pass": "alicepw"}
    await smtp.send(cfg(smtp_sink, auth=auth), SENDER, ["bob@example.org"], message())
    assert (await smtp_sink.wait_for(1))[0].auth_login == "alice@example.com"


async def test_wrong_password_is_permanent_eauth(smtp_sink: SmtpSink) -> None:
    smtp_sink.require_auth = True
    exc = await failure(smtp_sink, ["bob@example.org"], auth={"user": "alice@example.com", "pass": "nope"})
    assert (exc.code, exc.response_code, exc.permanent) == ("EAUTH", 535, True)
    assert "535" in exc.message and smtp_sink.messages == []


async def test_no_auth_required_means_no_auth(smtp_sink: SmtpSink) -> None:
    smtp_sink.require_auth = True  # without credentials the server refuses MAIL FROM
    exc = await failure(smtp_sink, ["bob@example.org"])
    assert exc.code == "EENVELOPE" and exc.response_code == 530 and exc.permanent


async def test_xoauth2(smtp_sink: SmtpSink) -> None:
    smtp_sink.require_auth = True
    smtp_sink.xoauth2_tokens = {"token-123": "alice@example.com"}
    auth = {"user": "alice@example.com", "accessToken": "token-123", "pass": "ignored"}
    await smtp.send(cfg(smtp_sink, auth=auth), SENDER, ["bob@example.org"], message())
    assert (await smtp_sink.wait_for(1))[0].auth_login == "alice@example.com"
    bad = {"user": "alice@example.com", "accessToken": "expired"}
    exc = await failure(smtp_sink, ["bob@example.org"], auth=bad)
    assert exc.code == "EAUTH" and exc.response_code == 535 and exc.permanent


async def test_tempfail_after_data_is_retryable(smtp_sink: SmtpSink) -> None:
    smtp_sink.mode = "tempfail"
    exc = await failure(smtp_sink, ["bob@example.org"])
    assert exc.code in ("EMESSAGE", "EPROTOCOL") and exc.response_code == 451 and not exc.permanent
    assert "451 4.3.0" in exc.message


async def test_reject_after_data_is_permanent(smtp_sink: SmtpSink) -> None:
    smtp_sink.mode = "reject"
    exc = await failure(smtp_sink, ["bob@example.org"])
    assert (exc.code, exc.response_code, exc.permanent) == ("EMESSAGE", 554, True)


async def test_dropped_connection(smtp_sink: SmtpSink) -> None:
    smtp_sink.mode = "drop"
    exc = await failure(smtp_sink, ["bob@example.org"])
    assert (exc.code, exc.response_code, exc.permanent) == ("ECONNECTION", None, False)


async def test_connection_refused() -> None:
    closed = {"host": "127.0.0.1", "port": free_port(), "secure": False}
    with pytest.raises(SmtpFailure) as info:
        await smtp.send(closed, SENDER, ["bob@example.org"], message(), timeout=5)
    assert (info.value.code, info.value.permanent, info.value.response_code) == ("ECONNREFUSED", False, None)


async def test_silent_server_times_out() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # accepts, never greets
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(SmtpFailure) as info:
            await smtp.send(
                {"host": "127.0.0.1", "port": port}, SENDER, ["b@example.org"], message(), timeout=0.5
            )
    finally:
        server.close()
        await server.wait_closed()
    assert info.value.code == "ETIMEDOUT" and not info.value.permanent


async def test_implicit_tls_against_plain_server_is_etls(smtp_sink: SmtpSink) -> None:
    exc = await failure(smtp_sink, ["bob@example.org"], secure=True)
    assert exc.code == "ETLS" and not exc.permanent


async def test_partial_refusal_returns_normally(smtp_sink: SmtpSink) -> None:
    recipients = ["bob@example.org", "nouser@example.org", "greylist@example.org"]
    result = await smtp.send(cfg(smtp_sink), SENDER, recipients, message())
    assert result.accepted == ["bob@example.org"]
    assert result.rejected == {
        "nouser@example.org": "550 5.1.1 No such user",
        "greylist@example.org": "450 4.2.0 Greylisted, try again later",
    }
    assert (await smtp_sink.wait_for(1))[0].rcpt_tos == ["bob@example.org"]


async def test_all_recipients_refused_permanently(smtp_sink: SmtpSink) -> None:
    exc = await failure(smtp_sink, ["nouser@example.org", "nouser@example.net"])
    assert (exc.code, exc.response_code, exc.permanent) == ("EENVELOPE", 550, True)
    assert exc.rejected == {
        "nouser@example.org": "550 5.1.1 No such user",
        "nouser@example.net": "550 5.1.1 No such user",
    }
    assert smtp_sink.messages == []


@pytest.mark.parametrize(
    "recipients", [["greylist@example.org"], ["nouser@example.org", "greylist@example.org"]]
)
async def test_greylisting_keeps_it_retryable(smtp_sink: SmtpSink, recipients: list[str]) -> None:
    exc = await failure(smtp_sink, recipients)
    assert (exc.code, exc.response_code, exc.permanent) == ("EENVELOPE", 450, False)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_no_sockets_leak_on_failures(smtp_sink: SmtpSink) -> None:
    async def round_() -> None:
        for mode in ("reject", "tempfail", "drop"):
            smtp_sink.mode = mode  # type: ignore[assignment]
            await failure(smtp_sink, ["bob@example.org"])
        smtp_sink.mode = "accept"
        await failure(smtp_sink, ["nouser@example.org"])
        await smtp.send(cfg(smtp_sink), SENDER, ["bob@example.org"], message())

    await round_()  # warm up lazily created resources (thread pool for getfqdn, ...)
    before = _open_fds()  # any socket still closing only makes this count higher
    for _ in range(3):
        await round_()

    async def closed() -> bool:  # a transport closes on a later turn of the loop
        return _open_fds() <= before

    await wait_until(closed, 15, lambda: f"{_open_fds()} fds open, {before} before")
