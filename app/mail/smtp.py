"""Sending one message over SMTP with aiosmtplib, and classifying every failure.

Failures carry node-style codes (EAUTH, ECONNECTION, ...) because that is what webhooks and the
API report, and a ``permanent`` verdict so the queue knows whether a retry can help.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiosmtplib

from app.mail import dsn, sasl, tls
from app.mail.smtp_pool import SmtpPool, Turn
from app.mail.smtplog import LoggedSMTP
from app.mail.wirelog import Sink

__all__ = ["SmtpFailure", "SmtpResult", "check", "classify", "client", "send"]

QUIT_TIMEOUT = 5.0


@dataclass(frozen=True)
class SmtpResult:
    response: str  # the final DATA reply, "250 2.0.0 Ok: queued as X"
    accepted: list[str]
    rejected: dict[str, str] = field(default_factory=dict)  # address -> "550 5.1.1 ..."


class SmtpFailure(Exception):
    def __init__(
        self,
        message: str,
        code: str,
        response_code: int | None = None,
        permanent: bool = False,
        *,
        rejected: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.response_code = response_code
        self.permanent = permanent
        self.rejected = rejected or {}  # per recipient, when all recipients were refused

    def __repr__(self) -> str:
        return f"SmtpFailure({self.code}, {self.response_code}, {self.message!r})"


def _replied(prefix: str, code: str, exc: aiosmtplib.SMTPResponseException) -> SmtpFailure:
    return SmtpFailure(
        f"{prefix}{exc.code} {exc.message}".rstrip(), code, response_code=exc.code, permanent=exc.code >= 500
    )


def classify(exc: BaseException) -> SmtpFailure:
    """Node-style code for any error an SMTP (or plain network) session can raise."""
    if isinstance(exc, SmtpFailure):
        return exc
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        # Not an SMTPResponseException: the codes are per recipient. Permanent only if every
        # refusal is; a single greylisting 4xx means a retry may get through.
        refused = {r.recipient: f"{r.code} {r.message}" for r in exc.recipients}
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(c >= 500 for c in codes)
        code = next((c for c in codes if (c >= 500) == permanent), None)
        detail = "; ".join(f"{rcpt}: {reply}" for rcpt, reply in refused.items())
        return SmtpFailure(
            f"All recipients were rejected: {detail}",
            "EENVELOPE",
            response_code=code,
            permanent=permanent,
            rejected=refused,
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return _replied("Invalid login: ", "EAUTH", exc)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPRecipientRefused):
        return _replied("Mail command failed: ", "EENVELOPE", exc)
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return _replied("Message failed: ", "EMESSAGE", exc)
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        return _replied("Invalid greeting: ", "EPROTOCOL", exc)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _replied("", "EPROTOCOL", exc)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):  # includes SMTPTimeoutError
        return SmtpFailure("Connection timed out", "ETIMEDOUT")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not isinstance(cause, aiosmtplib.SMTPException):
            return classify(cause)
        return SmtpFailure(str(exc) or "Connection failed", "ECONNECTION")
    if isinstance(exc, ssl.SSLError):  # before OSError and ValueError, it is both
        return SmtpFailure(*tls.describe(exc))
    if isinstance(exc, socket.gaierror):
        return SmtpFailure("Host name could not be resolved", "ENOTFOUND")
    if isinstance(exc, ConnectionRefusedError):
        return SmtpFailure("Connection refused", "ECONNREFUSED")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionError | EOFError):
        return SmtpFailure("Connection closed unexpectedly", "ECONNECTION")
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        # No SMTPUTF8 for an international address, or an address aiosmtplib refuses to send:
        # retrying cannot help.
        return SmtpFailure(str(exc) or "Invalid address", "EENVELOPE", permanent=True)
    if isinstance(exc, OSError):
        return SmtpFailure(exc.strerror or str(exc), "ECONNECTION")
    return SmtpFailure(str(exc) or type(exc).__name__, "EPROTOCOL")


async def client(cfg: dict[str, Any], timeout: float, wire: Sink | None = None) -> aiosmtplib.SMTP:
    """An unconnected client, with ``ignoreMailCertErrors`` read afresh; with ``wire``, one that
    reports its dialogue to that protocol log sink."""
    await tls.policy.ignore_cert_errors()
    return _client(cfg, timeout, wire)


def _client(cfg: dict[str, Any], timeout: float, wire: Sink | None = None) -> aiosmtplib.SMTP:
    """An unconnected client: ``secure`` means implicit TLS, otherwise STARTTLS when offered.
    The context carries the account's ``tls`` options (``servername`` included) and the
    instance-wide ``ignoreMailCertErrors`` as last read (:func:`client` reads it first)."""
    secure = bool(cfg.get("secure"))
    ignore = tls.policy.current
    factory: Any = aiosmtplib.SMTP if wire is None else partial(LoggedSMTP, sink=wire)
    return factory(  # type: ignore[no-any-return]
        hostname=cfg.get("host") or "",
        port=int(cfg.get("port") or (465 if secure else 587)),
        use_tls=secure,
        start_tls=False,  # see _connect
        tls_context=tls.context(cfg.get("tls"), ignore_cert_errors=ignore),
        timeout=timeout,
        local_hostname=cfg.get("ehloName") or None,  # the account's smtpEhloName
        source_address=(cfg["localAddress"], 0) if cfg.get("localAddress") else None,
    )


async def _connect(smtp: aiosmtplib.SMTP) -> None:
    """Connect, and upgrade with STARTTLS when the server offers it (done here rather than by
    aiosmtplib so that a handshake the server breaks off is told apart from other disconnects)."""
    try:
        await smtp.connect()
    except aiosmtplib.SMTPConnectError as exc:
        if smtp.use_tls and isinstance(exc.__cause__, ConnectionResetError):
            raise SmtpFailure(tls.HANDSHAKE_CLOSED, "ETLS") from exc
        raise
    if smtp.use_tls:
        return
    await _greet(smtp)
    if smtp.supports_extension("starttls"):
        try:
            await smtp.starttls()
        except aiosmtplib.SMTPServerDisconnected as exc:
            if isinstance(exc.__cause__, ConnectionResetError):
                raise SmtpFailure(tls.HANDSHAKE_CLOSED, "ETLS") from exc
            raise


async def _authenticate(smtp: aiosmtplib.SMTP, auth: dict[str, Any]) -> None:
    """XOAUTH2 with an access token, else PLAIN/LOGIN with a password, else nothing."""
    if auth.get("accessToken"):
        await _greet(smtp)
        user, token = str(auth.get("user") or ""), str(auth["accessToken"])
        if "oauthbearer" in smtp.server_auth_methods:  # RFC 7628; else the XOAUTH2 everyone speaks
            initial = sasl.oauthbearer(user, token, smtp.hostname or "", smtp.port or 0)
            response = await smtp.execute_command(b"AUTH", b"OAUTHBEARER", initial.encode("ascii"))
            if response.code == 334:  # the server's error details: end the exchange to get its verdict
                response = await smtp.execute_command(b"AQ==")
            if response.code != 235:
                raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)
        else:
            await smtp.auth_xoauth2(user, token)
    elif auth.get("user"):
        await _greet(smtp)
        if not smtp.supports_extension("auth"):
            raise SmtpFailure("The server does not offer authentication", "EAUTH", permanent=True)
        await smtp.login(auth["user"], auth.get("pass") or "")


async def _greet(smtp: aiosmtplib.SMTP) -> None:
    if smtp.is_ehlo_or_helo_needed:
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            await smtp.helo()


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    """QUIT if still connected; its failure must not turn a delivered message into an error."""
    if smtp.is_connected:
        with contextlib.suppress(Exception):
            await smtp.quit(timeout=QUIT_TIMEOUT)
    smtp.close()


Accepted = Callable[[SmtpResult], Awaitable[None]]


async def send(
    cfg: dict[str, Any],
    sender: str,
    recipients: Sequence[str],
    message: bytes,
    *,
    timeout: float = 60.0,
    accepted: Accepted | None = None,
    wire: Sink | None = None,
    pool: SmtpPool | None = None,
) -> SmtpResult:
    """Deliver ``message`` to the account's SMTP server; raises :class:`SmtpFailure`.

    Returns normally when at least one recipient was accepted; the refused ones are in
    ``rejected``. ``timeout`` applies to connecting and to each command, not to the whole session.
    ``accepted`` runs between the server's final ``250`` and QUIT: a caller that must record "the
    server took it" should not wait a further round trip (up to the QUIT timeout) to do so. Its
    errors propagate unclassified, since by then the message is out.

    With ``pool``, a session left from an earlier message with the same settings is used when
    there is one, and this one is kept instead of QUIT while other messages for the same
    settings are on their way (see app.mail.smtp_pool). Not with ``wire``: a protocol log shows
    each message's whole dialogue, login included.
    """
    addresses = unique(recipients)
    if not addresses:
        raise SmtpFailure("No recipients defined", "EENVELOPE", permanent=True)
    if pool is None or wire is not None:
        return await _send(cfg, sender, addresses, message, timeout, accepted, wire, None)
    with pool.turn(cfg) as turn:
        return await _send(cfg, sender, addresses, message, timeout, accepted, None, turn)


async def _send(
    cfg: dict[str, Any],
    sender: str,
    addresses: list[str],
    message: bytes,
    timeout: float,
    accepted: Accepted | None,
    wire: Sink | None,
    turn: Turn | None,
) -> SmtpResult:
    smtp = await _reused(turn) if turn is not None else None
    fresh = smtp is None
    if smtp is None:
        smtp = await client(cfg, timeout, wire)
    keep = False
    try:
        try:
            refused, reply = await _transaction(smtp, cfg, sender, addresses, message, fresh=fresh)
        except Exception as exc:
            await _quit(smtp)
            raise classify(exc) from exc
        result = SmtpResult(
            response=f"250 {reply}",  # aiosmtplib raises on any other DATA reply
            accepted=[r for r in addresses if r not in refused],
            rejected={r: f"{resp.code} {resp.message}" for r, resp in refused.items()},
        )
        if accepted is not None:
            await accepted(result)
        keep = turn is not None and turn.keep(smtp)
        if not keep:
            await _quit(smtp)
    finally:
        if not keep:
            smtp.close()  # also on cancellation or a failed ``accepted``, which skip the QUIT
    return result


async def _reused(turn: Turn) -> aiosmtplib.SMTP | None:
    """A pooled session that answers RSET (so it is alive and has no transaction open)."""
    while (smtp := turn.take()) is not None:
        try:
            await smtp.rset()
            return smtp
        except Exception:
            smtp.close()
    return None


async def check(cfg: dict[str, Any], *, timeout: float = 15.0) -> None:
    """Connect and log in as :func:`send` would, then QUIT; raises :class:`SmtpFailure`."""
    smtp = await client(cfg, timeout)
    try:
        await _connect(smtp)
        await _authenticate(smtp, cfg.get("auth") or {})
        await smtp.quit(timeout=QUIT_TIMEOUT)
    except Exception as exc:
        raise classify(exc) from exc
    finally:
        smtp.close()


async def _transaction(
    smtp: aiosmtplib.SMTP,
    cfg: dict[str, Any],
    sender: str,
    recipients: list[str],
    message: bytes,
    *,
    fresh: bool = True,
) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    if fresh:  # else a pooled session, connected and logged in with these settings
        await _connect(smtp)
        await _authenticate(smtp, cfg.get("auth") or {})
        await _greet(smtp)
    options = []
    if not (sender.isascii() and all(r.isascii() for r in recipients)):
        options.append("SMTPUTF8")  # aiosmtplib raises SMTPNotSupported if the server lacks it
    if not message.isascii() and smtp.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    rcpt_options: list[str] = []
    if cfg.get("dsn") and smtp.supports_extension("dsn"):  # without the extension: sent without
        mail_dsn, rcpt_options = dsn.options(cfg["dsn"])
        options += mail_dsn
    return await smtp.sendmail(sender, recipients, message, mail_options=options, rcpt_options=rcpt_options)


def unique(recipients: Sequence[str]) -> list[str]:
    """Each address once (case-insensitively), in order."""
    seen: set[str] = set()
    out = []
    for rcpt in recipients:
        if rcpt.lower() not in seen:
            seen.add(rcpt.lower())
            out.append(rcpt)
    return out
