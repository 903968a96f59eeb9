"""SMTP delivery status notification parameters (RFC 3461) for MAIL FROM and RCPT TO."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["options", "xtext"]


def xtext(value: str) -> str:
    """RFC 3461 xtext: ``+``, ``=`` and anything outside printable ASCII as ``+HH``."""
    return "".join(
        c if 33 <= ord(c) <= 126 and c not in "+=" else "".join(f"+{b:02X}" for b in c.encode())
        for c in value
    )


def options(dsn: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(MAIL FROM parameters, RCPT TO parameters) for a ``{id, return, notify, recipient}`` dict."""
    mail: list[str] = []
    rcpt: list[str] = []
    if dsn.get("return"):
        mail.append(f"RET={'HDRS' if dsn['return'] == 'headers' else 'FULL'}")
    if dsn.get("id"):
        mail.append(f"ENVID={xtext(str(dsn['id']))}")
    if dsn.get("notify"):
        rcpt.append("NOTIFY=" + ",".join(str(n).upper() for n in dsn["notify"]))
    if dsn.get("recipient"):
        rcpt.append(f"ORCPT=rfc822;{xtext(str(dsn['recipient']))}")
    return mail, rcpt
