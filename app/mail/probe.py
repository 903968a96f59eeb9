"""Test IMAP and SMTP settings by logging in, without storing anything (``POST /v1/verifyAccount``)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import aioimaplib
import aiosmtplib

from app.mail import aioimaplib_patch, tls, utf7

aioimaplib_patch.apply()

TIMEOUT = 15.0
LIST_RE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delim>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')
SPECIAL_USE = {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"}


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
    """Node-style codes, as the reference product reports them."""
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


def _unquote(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_list(lines: list[Any]) -> list[ListedMailbox]:
    """Parse LIST responses; a name sent as a literal arrives as the next (bytearray) item."""
    boxes: list[ListedMailbox] = []
    items = list(lines[:-1])  # the last line is the tagged completion
    i = 0
    while i < len(items):
        line = bytes(items[i])
        i += 1
        match = LIST_RE.match(line)
        if not match:
            continue
        raw_name = match.group("name")
        if raw_name.endswith(b"}") and i < len(items) and isinstance(items[i], bytearray):
            raw_name = bytes(items[i])
            i += 1
            name = raw_name.decode("utf-8", "replace")
        else:
            name = _unquote(raw_name)
        delim_raw = match.group("delim")
        delimiter = None if delim_raw == b"NIL" else _unquote(delim_raw)
        flags = match.group("flags").decode().split()
        if "\\Noselect" in flags or "\\NonExistent" in flags:
            continue
        path = utf7.decode(name)
        special = next((f for f in flags if f in SPECIAL_USE), None)
        if path.upper() == "INBOX":
            path, special = "INBOX", "\\Inbox"
        leaf = path.rsplit(delimiter, 1)[-1] if delimiter else path
        boxes.append(ListedMailbox(path=path, delimiter=delimiter, name=leaf, special_use=special))
    return boxes


async def _imap_session(cfg: dict[str, Any], want_list: bool) -> list[ListedMailbox] | None:
    host, port = cfg.get("host") or "", int(cfg.get("port") or (993 if cfg.get("secure") else 143))
    if cfg.get("secure"):
        client = aioimaplib.IMAP4_SSL(host, port, timeout=TIMEOUT, ssl_context=tls.context(cfg.get("tls")))
    else:
        client = aioimaplib.IMAP4(host, port, timeout=TIMEOUT)
    try:
        await client.wait_hello_from_server()
        auth = cfg.get("auth") or {}
        user = auth.get("user") or ""
        if auth.get("accessToken"):
            response = await client.xoauth2(user, auth["accessToken"])
        else:
            response = await client.login(user, auth.get("pass") or "")
        if response.result != "OK":
            text = b" ".join(bytes(x) for x in response.lines).decode("utf-8", "replace")
            raise ProbeError("EAUTH", f"Authentication failed: {text}".strip())
        boxes = None
        if want_list:
            listed = await asyncio.wait_for(client.list('""', '"*"'), TIMEOUT)
            boxes = parse_list(listed.lines)
        # Logging out of a server we are leaving anyway: its failure changes nothing.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), 5)
        return boxes
    finally:
        transport = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()


async def check_imap(
    cfg: dict[str, Any], want_list: bool = False
) -> tuple[Outcome, list[ListedMailbox] | None]:
    try:
        boxes = await asyncio.wait_for(_imap_session(cfg, want_list), TIMEOUT * 2)
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
