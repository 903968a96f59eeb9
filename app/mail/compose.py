"""Building RFC 5322 messages with the stdlib ``email`` package."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

from app.mail import mime


def _format(addr: Mapping[str, Any]) -> str:
    return email.utils.formataddr((str(addr.get("name") or ""), str(addr.get("address") or "")))


def build(
    *,
    from_: Mapping[str, Any] | None = None,
    to: Sequence[Mapping[str, Any]] = (),
    cc: Sequence[Mapping[str, Any]] = (),
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    message_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    domain: str = "mailgate.local",
) -> bytes:
    """A simple text/html message; the text part is generated from the HTML when missing."""
    msg = EmailMessage(policy=SMTP)
    if from_:
        msg["From"] = _format(from_)
    if to:
        msg["To"] = ", ".join(_format(a) for a in to)
    if cc:
        msg["Cc"] = ", ".join(_format(a) for a in cc)
    if subject is not None:
        msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain=domain)
    for name, value in (headers or {}).items():
        if name.lower() not in {"from", "to", "cc", "subject", "date", "message-id", "mime-version"}:
            msg[name] = value
    plain = text if text is not None else (mime.html_to_text(html) if html else "")
    msg.set_content(plain)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()
