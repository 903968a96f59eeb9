"""The message entry has one definition, ``MessageEntry``: the listing the API serves, the messageNew
payload and the model built from an index row are the same JSON, keys and key order included."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx2
from sqlalchemy import update
from sqlmodel import col, select

from app.index.store import Index
from app.mail import ids
from app.mail.types import Address, BodyPart, Envelope, FetchedMessage
from app.models import Account, Mailbox, Message
from app.models.event import Event
from app.schemas.message_entries import MessageEntry, message_entry
from app.services.context import Context

IMAP = {"host": "imap.example.com", "port": 993, "secure": True, "auth": {"user": "u", "pass": "p"}}
WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
SENT = datetime(2024, 5, 6, 7, 0, 1, tzinfo=UTC)


def full_message(uid: int) -> FetchedMessage:
    """Every column the index fills: addresses with and without names, text, two attachments."""
    body = BodyPart(
        "multipart", "mixed", "",
        parts=[
            BodyPart("multipart", "alternative", "1", parts=[
                BodyPart("text", "plain", "1.1", size=10), BodyPart("text", "html", "1.2", size=20),
            ]),
            BodyPart("text", "calendar", "2", params={"method": "request", "name": "invite.ics"}, size=30),
            BodyPart("application", "pdf", "3", id="<c1@x>", size=40, disposition="attachment",
                     disposition_params={"filename": "a.pdf"}),
        ],
    )  # fmt: skip
    envelope = Envelope(
        date=SENT,
        subject="All of it",
        from_=[Address("Alice", "alice@example.com")],
        reply_to=[Address(None, "reply@example.com")],
        to=[Address("Bob", "bob@example.com"), Address(None, "carol@example.com")],
        cc=[Address(None, "cc@example.com")],
        bcc=[Address("Dan", "dan@example.com")],
        in_reply_to="<parent@example.com>",
        message_id="<full@example.com>",
    )
    return FetchedMessage(
        seq=1, uid=uid, flags=["\\Seen", "\\Flagged", "\\Answered", "\\Draft", "\\Recent", "$Label"],
        modseq=5, internal_date=WHEN, size=1234, envelope=envelope, body=body,
        email_id="E1", thread_id="T1", preview="Hello there",
    )  # fmt: skip


def expected_full(box: Mailbox, uid: int) -> dict[str, Any]:
    assert box.id is not None
    key = ids.MessageKey(box.id, 42, uid)
    return {
        "id": ids.message_id(box.id, 42, uid),
        "uid": uid,
        "path": "Sent",
        "emailId": "E1",
        "threadId": "T1",
        "date": "2024-05-06T07:00:01Z",
        "internalDate": "2024-05-06T07:08:09Z",
        "flags": ["\\Seen", "\\Flagged", "\\Answered", "\\Draft", "$Label"],
        "unseen": False,
        "flagged": True,
        "answered": True,
        "draft": True,
        "size": 1234,
        "subject": "All of it",
        "from": {"address": "alice@example.com", "name": "Alice"},
        "replyTo": [{"address": "reply@example.com"}],
        "to": [{"address": "bob@example.com", "name": "Bob"}, {"address": "carol@example.com"}],
        "cc": [{"address": "cc@example.com"}],
        "bcc": [{"address": "dan@example.com", "name": "Dan"}],
        "messageId": "<full@example.com>",
        "inReplyTo": "<parent@example.com>",
        "attachments": [
            {"id": ids.attachment_id(key, "2"), "contentType": "text/calendar", "encodedSize": 30,
             "filename": "invite.ics", "embedded": False, "inline": False, "contentId": None,
             "method": "REQUEST"},
            {"id": ids.attachment_id(key, "3"), "contentType": "application/pdf", "encodedSize": 40,
             "filename": "a.pdf", "embedded": False, "inline": False, "contentId": "c1@x"},
        ],
        "preview": "Hello there",
        "specialUse": "\\Sent",
        "messageSpecialUse": "\\Sent",
        "text": {"id": ids.text_id(key), "encodedSize": {"plain": 10, "html": 20}},
    }  # fmt: skip


def expected_empty(box: Mailbox, uid: int) -> dict[str, Any]:
    """What a server that sent nothing but the UID leaves: nulls where the shape says null, the
    optional keys (specialUse, messageSpecialUse, text) absent."""
    assert box.id is not None
    return {
        "id": ids.message_id(box.id, 42, uid), "uid": uid, "path": "Plain",
        "emailId": None, "threadId": None, "date": None, "internalDate": None, "flags": [],
        "unseen": True, "flagged": False, "answered": False, "draft": False, "size": None,
        "subject": None, "from": None, "replyTo": [], "to": [], "cc": [], "bcc": [],
        "messageId": None, "inReplyTo": None, "attachments": [], "preview": None,
    }  # fmt: skip


def ordered(value: Any) -> Any:
    """Dicts as lists of pairs, so that comparisons see the key order too."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


async def folder(ctx: Context, path: str, special_use: str | None) -> Mailbox:
    async with ctx.db.writer() as s:
        s.add(Mailbox(account="acc1", path=path, delimiter="/", special_use=special_use, uid_validity=42))
        await s.commit()
        return (await s.execute(select(Mailbox).where(col(Mailbox.path) == path))).scalars().one()


async def served(client: httpx2.AsyncClient, auth: dict[str, str], path: str) -> list[Any]:
    r = await client.get(f"/v1/account/acc1/messages?path={path}", headers=auth)
    assert r.status_code == 200, r.text
    messages: list[Any] = json.loads(r.content)["messages"]
    return messages


async def test_listing_event_and_model_are_one_shape(
    ctx: Context, client: httpx2.AsyncClient, auth: dict[str, str]
) -> None:
    r = await client.post("/v1/account", json={"account": "acc1", "name": "A", "imap": IMAP}, headers=auth)
    assert r.status_code == 200, r.text
    async with ctx.db.writer() as s:
        await s.execute(update(Account).where(col(Account.id) == "acc1").values(state="connected"))
        await s.commit()
    sent, plain = await folder(ctx, "Sent", "\\Sent"), await folder(ctx, "Plain", None)
    index = Index(ctx.db, "acc1")
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    assert await index.insert(sent, [full_message(7)], long_ago) == 1
    assert await index.insert(plain, [FetchedMessage(seq=1, uid=3)], long_ago) == 1

    async with ctx.db.session() as s:
        rows = {m.uid: m for m in (await s.exec(select(Message))).all()}
        payloads = {e.payload["uid"]: e.payload for e in (await s.exec(select(Event).where(Event.type == "messageNew"))).all()}  # fmt: skip
    for box, uid, expected in ((sent, 7, expected_full(sent, 7)), (plain, 3, expected_empty(plain, 3))):
        [listed] = await served(client, auth, box.path)
        assert ordered(listed) == ordered(expected)
        assert ordered(payloads[uid]) == ordered(expected)
        built = message_entry(rows[uid].model_dump(), box.path, box.special_use, 42)
        assert ordered(built) == ordered(expected)
        # The entry data is the model's own JSON, not a lookalike.
        dumped = MessageEntry.model_validate(built).model_dump(mode="json", by_alias=True)
        assert ordered(dumped) == ordered(expected)
