"""EmailEngine account fields kept in ``Account.options``: expectedEmail, smtpEhloName,
webhooksCustomHeaders, and the accepted-but-ignored ones (proxy, logs, imapIndexer)."""

from __future__ import annotations

from typing import Any

from app.models.account import Account
from app.schemas.accounts import AccountCreate, AccountUpdate

OPTION_FIELDS = ("expectedEmail", "smtpEhloName", "webhooksCustomHeaders", "proxy", "logs", "imapIndexer")
#: Options the connections depend on: changing one reconnects the account.
CONNECTION_OPTIONS = ("expectedEmail", "smtpEhloName")
#: Where smtp.py looks for the EHLO name: the account's SMTP settings carry a copy.
SMTP_EHLO_KEY = "ehloName"


def apply(row: Account, data: AccountCreate | AccountUpdate, fields: set[str]) -> bool:
    """Copy the given option fields onto ``row`` (null clears); returns whether a connection option
    changed. Always re-copies the EHLO name into the SMTP settings, which may have been replaced."""
    options = dict(row.options or {})
    before = {k: options.get(k) for k in CONNECTION_OPTIONS}
    for name in OPTION_FIELDS:
        if name not in fields:
            continue
        value = getattr(data, name)
        if name == "webhooksCustomHeaders" and value is not None:
            value = [h.model_dump() for h in value]
        if value is None:
            options.pop(name, None)
        else:
            options[name] = value
    row.options = options or None
    if row.smtp is not None:
        smtp = {k: v for k, v in row.smtp.items() if k != SMTP_EHLO_KEY}
        if options.get("smtpEhloName"):
            smtp[SMTP_EHLO_KEY] = options["smtpEhloName"]
        row.smtp = smtp
    return before != {k: options.get(k) for k in CONNECTION_OPTIONS}


def info(row: Account) -> dict[str, Any]:
    """The option fields of GET /v1/account/{account}."""
    options = row.options or {}
    return {
        "expectedEmail": options.get("expectedEmail"),
        "smtpEhloName": options.get("smtpEhloName"),
        "webhooksCustomHeaders": options.get("webhooksCustomHeaders") or [],
        "proxy": options.get("proxy"),
        "logs": options.get("logs"),
        "imapIndexer": options.get("imapIndexer"),
        "sendOnly": not row.has_imap and row.has_smtp,
    }


def without_ehlo(smtp: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in smtp.items() if k != SMTP_EHLO_KEY}


def _login_user(row: Account) -> str | None:
    for section in (row.oauth2, row.imap):
        auth = (section or {}).get("auth") or {}
        if auth.get("user"):
            return str(auth["user"])
    return None


def identity_mismatch(row: Account) -> str | None:
    """Why the mailbox logged in to is not ``expectedEmail``, or None when it is (or none is set).

    IMAP reports no address for a login, so the login user stands for the mailbox: an address
    must equal the expected one, a bare user name its local part (case-insensitively)."""
    expected = str((row.options or {}).get("expectedEmail") or "")
    if not expected:
        return None
    user = _login_user(row)
    if user is None:
        return None
    wanted = expected.lower() if "@" in user else expected.lower().rsplit("@", 1)[0]
    if user.lower() == wanted:
        return None
    return f"Logged in as {user}, but the account expects {expected}"
