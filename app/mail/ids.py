"""Opaque, stable ids for messages, texts and attachments, and list cursors.

A message id packs (mailbox row, UIDVALIDITY, UID): it stays the same while the message stays in its
folder, and after a UIDVALIDITY change an old id no longer matches anything instead of pointing at a
different message.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import dataclass
from typing import Literal

_KEY = struct.Struct(">III")


class BadId(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or len(text) > 2048:
        raise BadId("empty or oversized id")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadId("not base64url") from None


@dataclass(frozen=True, slots=True)
class MessageKey:
    mailbox_id: int
    uid_validity: int
    uid: int

    def pack(self) -> bytes:
        return _KEY.pack(self.mailbox_id, self.uid_validity & 0xFFFFFFFF, self.uid)


def message_id(mailbox_id: int, uid_validity: int, uid: int) -> str:
    return _b64(MessageKey(mailbox_id, uid_validity, uid).pack())


def parse_message_id(text: str) -> MessageKey:
    raw = _unb64(text)
    if len(raw) != _KEY.size:
        raise BadId("wrong length")
    return MessageKey(*_KEY.unpack(raw))


def text_id(key: MessageKey) -> str:
    return _b64(key.pack() + b"T")


def parse_text_id(text: str) -> MessageKey:
    raw = _unb64(text)
    if len(raw) != _KEY.size + 1 or raw[-1:] != b"T":
        raise BadId("not a text id")
    return MessageKey(*_KEY.unpack(raw[: _KEY.size]))


def attachment_id(key: MessageKey, part: str) -> str:
    return _b64(key.pack() + b"A" + part.encode())


def parse_attachment_id(text: str) -> tuple[MessageKey, str]:
    raw = _unb64(text)
    if len(raw) < _KEY.size + 2 or raw[_KEY.size : _KEY.size + 1] != b"A":
        raise BadId("not an attachment id")
    part = raw[_KEY.size + 1 :].decode("ascii", "replace")
    if not all(p.isdigit() for p in part.split(".")):
        raise BadId("bad part number")
    return MessageKey(*_KEY.unpack(raw[: _KEY.size])), part


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a newest-first listing: the page number and the UID boundary it continues from."""

    mailbox_id: int
    uid_validity: int
    direction: Literal["next", "prev"]
    uid: int
    page: int


def encode_cursor(cursor: Cursor) -> str:
    data = [
        cursor.mailbox_id,
        cursor.uid_validity,
        1 if cursor.direction == "next" else 0,
        cursor.uid,
        cursor.page,
    ]
    return _b64(json.dumps(data, separators=(",", ":")).encode())


def decode_cursor(text: str) -> Cursor:
    try:
        data = json.loads(_unb64(text))
        mailbox_id, uid_validity, forward, uid, page = data
        if not all(isinstance(x, int) and x >= 0 for x in data):
            raise ValueError
    except (ValueError, TypeError):
        raise BadId("not a cursor") from None
    return Cursor(mailbox_id, uid_validity, "next" if forward else "prev", uid, page)
