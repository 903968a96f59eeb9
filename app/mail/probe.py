"""Test IMAP and SMTP settings by logging in, without storing anything (``POST /v1/verifyAccount``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from app.mail import smtp
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
        err = smtp.classify(exc)  # network errors are classified alike for both protocols
        return Outcome(False, err.message, err.code), None
    return Outcome(True), boxes


async def check_smtp(cfg: dict[str, Any]) -> Outcome:
    """Connect and log in with the same code (and TLS settings) that sends mail."""
    try:
        await smtp.check(cfg, timeout=TIMEOUT)
    except smtp.SmtpFailure as err:
        return Outcome(False, err.message, err.code)
    return Outcome(True)
