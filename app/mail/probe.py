"""Test IMAP and SMTP settings by logging in, without storing anything (``POST /v1/verifyAccount``)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import aiosmtplib

from app.mail import tls
from app.mail.imap import ImapConnection, ImapError

TIMEOUT = 15.0


@dataclass
class Outcome:
    success: bool
    error: str | None = None
    code: str | None = None


@dataclass
class ListedMailbox:
    path: str
    delimiter: str | None
    name: str
    special_use: str | None


class ProbeError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _network_error(exc: BaseException) -> ProbeError:
    """Node-style codes, as the reference product reports them (SMTP; IMAP errors carry their own)."""
    if isinstance(exc, ProbeError):
        return exc
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | aiosmtplib.SMTPTimeoutError):
        return ProbeError("ETIMEDOUT", "Connection timed out")
    if isinstance(exc, ssl.SSLError):
        return ProbeError("ETLS", f"TLS failed: {exc.reason or exc}")
    if isinstance(exc, socket.gaierror):
        return ProbeError("ENOTFOUND", "Host name could not be resolved")
    if isinstance(exc, ConnectionRefusedError):
        return ProbeError("ECONNREFUSED", "Connection refused")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return ProbeError("EAUTH", f"Authentication failed: {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not isinstance(cause, aiosmtplib.SMTPException):
            return _network_error(cause)
        return ProbeError("ECONNECTION", str(exc))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return ProbeError("EPROTOCOL", f"{exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionError | EOFError):
        return ProbeError("ECONNECTION", "Connection closed unexpectedly")
    if isinstance(exc, OSError):
        return ProbeError("ECONNECTION", exc.strerror or str(exc))
    return ProbeError("EPROTOCOL", str(exc) or type(exc).__name__)


async def _imap_session(cfg: dict[str, Any], want_list: bool) -> list[ListedMailbox] | None:
    conn = ImapConnection(cfg, timeout=TIMEOUT, name="verify")
    try:
        await conn.open()
        if not want_list:
            return None
        boxes = []
        for entry in await conn.list_folders():
            if {"\\NOSELECT", "\\NONEXISTENT"} & {f.upper() for f in entry.flags}:
                continue
            leaf = entry.path.rsplit(entry.delimiter, 1)[-1] if entry.delimiter else entry.path
            boxes.append(ListedMailbox(entry.path, entry.delimiter, leaf, entry.special_use))
        return boxes
    finally:
        await conn.logout()


async def check_imap(
    cfg: dict[str, Any], want_list: bool = False
) -> tuple[Outcome, list[ListedMailbox] | None]:
    """Log in (and optionally LIST) with the same adapter the sync engine uses."""
    try:
        boxes = await asyncio.wait_for(_imap_session(cfg, want_list), TIMEOUT * 2)
    except ImapError as exc:
        detail = f"{exc}: {exc.response}" if exc.response else str(exc)
        return Outcome(False, detail, exc.code), None
    except Exception as exc:
        err = _network_error(exc)
        return Outcome(False, str(err), err.code), None
    return Outcome(True), boxes


async def check_smtp(cfg: dict[str, Any]) -> Outcome:
    secure = bool(cfg.get("secure"))
    port = int(cfg.get("port") or (465 if secure else 587))
    client = aiosmtplib.SMTP(
        hostname=cfg.get("host") or "",
        port=port,
        use_tls=secure,
        start_tls=None if not secure else False,
        tls_context=tls.context(cfg.get("tls")),
        timeout=TIMEOUT,
    )
    try:
        await client.connect()
        auth = cfg.get("auth") or {}
        if auth.get("accessToken"):
            await client.auth_xoauth2(auth.get("user") or "", auth["accessToken"])
        elif auth.get("user"):
            await client.login(auth["user"], auth.get("pass") or "")
        await client.quit()
    except Exception as exc:
        err = _network_error(exc)
        return Outcome(False, str(err), err.code)
    finally:
        client.close()
    return Outcome(True)
