"""Index rows from FETCH data. What the API shows of a row is app.schemas.message_entries' concern."""

from __future__ import annotations

from typing import Any

from app.mail import mime
from app.mail.types import Address, FetchedMessage

MAX_SUBJECT = 4096


def address(a: Address) -> dict[str, Any]:
    out: dict[str, Any] = {"address": a.address or ""}
    if a.name:
        out["name"] = a.name
    return out


def addresses(items: list[Address]) -> list[dict[str, Any]] | None:
    found = [address(a) for a in items if a.address]
    return found or None


def _search_text(items: list[Address]) -> str | None:
    text = " ".join(f"{a.name or ''} {a.address or ''}".strip() for a in items).lower()
    return text or None


def without_session_flags(flags: list[str]) -> list[str]:
    """\\Recent belongs to one IMAP session, so each connection sees it differently: never a change."""
    return [f for f in flags if f.upper() != "\\RECENT"]


def flag_columns(flags: list[str]) -> dict[str, Any]:
    flags = without_session_flags(flags)
    return {"flags": flags, "seen": "\\Seen" in flags, "flagged": "\\Flagged" in flags}


def row_from_fetch(account: str, mailbox_id: int, fm: FetchedMessage) -> dict[str, Any]:
    """Column values for ``Message``; tolerant of whatever the server left out."""
    env = fm.envelope
    summary = mime.summarize(fm.body) if fm.body is not None else None
    row: dict[str, Any] = {
        "account": account,
        "mailbox_id": mailbox_id,
        "uid": fm.uid,
        "modseq": fm.modseq,
        **flag_columns(list(fm.flags or [])),
        "internal_date": fm.internal_date,
        "date": (env.date if env else None) or fm.internal_date,
        "size": fm.size,
        "subject": (env.subject or "")[:MAX_SUBJECT] if env and env.subject is not None else None,
        "from_": address(env.from_[0]) if env and env.from_ and env.from_[0].address else None,
        "to": addresses(env.to) if env else None,
        "cc": addresses(env.cc) if env else None,
        "bcc": addresses(env.bcc) if env else None,
        "reply_to": addresses(env.reply_to) if env else None,
        "message_id": (env.message_id or None) if env else None,
        "in_reply_to": (env.in_reply_to or None) if env else None,
        "email_id": fm.email_id,
        "thread_id": fm.thread_id,
        "attachments": [_attachment(a) for a in summary.attachments] if summary else None,
        "text": _text(summary) if summary else None,
        "preview": fm.preview,
        "search_from": _search_text(env.from_ + env.sender) if env else None,
        "search_to": _search_text(env.to) if env else None,
    }
    if row["message_id"] and len(row["message_id"]) > 998:
        row["message_id"] = row["message_id"][:998]
    return row


def _attachment(a: mime.AttachmentInfo) -> dict[str, Any]:
    return {
        "part": a.part,
        "contentType": a.content_type,
        "encodedSize": a.encoded_size,
        "filename": a.filename,
        "embedded": a.embedded,
        "inline": a.inline,
        "contentId": a.content_id,
        "method": a.method,
    }


def _text(summary: mime.Summary) -> dict[str, Any]:
    return {
        "plain": summary.text.plain,
        "html": summary.text.html,
        "encodedSize": summary.text.encoded_size,
    }
