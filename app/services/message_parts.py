"""Reading a message's header, body texts and attachments section by section, not whole.

The index knows where the body text parts and the attachments are, so a read asks the server
for just those sections (``BODY.PEEK[HEADER]``, ``BODY.PEEK[n.MIME]``, ``BODY.PEEK[n]``): showing
a 20 MB message with a 2 KB text costs a few kilobytes, not 20 MB. Sections are decoded by the
same code as whole sources (:mod:`app.mail.mime.sections`), so both ways give the same answer.
Whenever the index or the server cannot say enough (rows indexed before part numbers were kept, a
section answered empty, a part the index does not list) the read falls back to the whole source,
as does a read of a message whose source is already cached.

Decoded headers and texts are kept in ``ctx.parts`` under the source's cache key: the content
behind one UID of one UIDVALIDITY never changes, so an entry cannot go stale."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.mail import ids, mime
from app.mail.session import MailSession
from app.mail.types import Address
from app.models import Account
from app.services import message_store as store
from app.services.context import Context
from app.services.mailaccess import imap

KINDS = ("plain", "html")
T = TypeVar("T")


@dataclass(slots=True)
class View:
    """What a read shows of a message's content: header details and the body texts asked for."""

    headers: dict[str, list[str]]
    sender: list[Address]
    references: list[str]
    text: str | None = None
    html: str | None = None
    #: Content-ID -> (bytes, content type) of inline images; filled only when asked for.
    images: dict[str, tuple[bytes, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Head:
    """A message header read on its own; ``multipart`` as :func:`mime.is_multipart_header`."""

    parsed: mime.ParsedMessage
    multipart: bool | None
    raw: bytes


async def read(
    ctx: Context,
    loc: store.Located,
    kinds: tuple[str, ...] = (),
    *,
    labels: bool = True,
    embed: bool = False,
) -> tuple[View, list[str] | None]:
    """The header details and the body texts of ``kinds`` ("plain", "html"), and on servers that
    have them the Gmail labels (None elsewhere). ``embed``: also the inline images for the HTML."""
    numbers = _text_numbers(loc, kinds)
    key = store.source_key(loc)
    if numbers is None or ctx.sources.get(key) is not None:
        return await whole(ctx, loc, kinds, labels=labels, embed=embed)
    need_images = embed and bool(numbers["html"])
    images: dict[str, tuple[bytes, str]] | None = {}
    head = _cached(ctx, (*key, "head"), _Head)
    texts = {n: t for n in _all(numbers) if (t := _cached(ctx, (*key, "text", n), str)) is not None}
    want_labels = labels and ctx.sources.labels.get(loc.account.id, True)
    found: list[str] | None = None
    if head is None or len(texts) < len(_all(numbers)) or want_labels or need_images:
        async with imap(ctx, loc.account) as conn:
            await store.select_box(conn, loc.box)
            has_labels = "X-GM-EXT-1" in conn.capabilities
            ctx.sources.labels[loc.account.id] = has_labels
            if head is None:
                head = await _read_head(ctx, conn, loc)
            if head is not None:
                for number in [n for n in _all(numbers) if n not in texts]:
                    if (text := await _read_text(ctx, conn, loc, head, number)) is None:
                        break
                    texts[number] = text
            if head is not None and need_images:
                images = await _read_images(conn, loc, head)
            if head is not None and labels and has_labels:
                found = (await conn.labels([loc.row.uid])).get(loc.row.uid, [])
    if head is None or len(texts) < len(_all(numbers)) or images is None:
        return await whole(ctx, loc, kinds, labels=labels, embed=embed)
    plain, html = ([texts[n] for n in numbers[kind]] for kind in KINDS)
    return (
        View(
            headers=head.parsed.headers,
            sender=head.parsed.sender,
            references=head.parsed.references,
            text="\n".join(plain) if plain else None,
            html="".join(html) if html else None,
            images=images,
        ),
        found,
    )


async def whole(
    ctx: Context, loc: store.Located, kinds: tuple[str, ...] = (), *, labels: bool = True, embed: bool = False
) -> tuple[View, list[str] | None]:
    """The same read from the whole source (downloaded once, then cached)."""
    raw, found = await store.source_and_labels(ctx, loc, labels=labels)
    parsed = store.parsed(ctx, loc, raw)
    html = parsed.html if "html" in kinds else None
    return (
        View(
            headers=parsed.headers,
            sender=parsed.sender,
            references=parsed.references,
            text=parsed.text if "plain" in kinds else None,
            html=html,
            images=mime.inline_images(raw) if embed and html is not None else {},
        ),
        found,
    )


async def attachment(ctx: Context, account: Account, attachment_id: str) -> tuple[bytes, str, str | None]:
    """An attachment's decoded bytes, content type and file name, from its own section when the
    index lists it (a part the index does not know is looked up in the whole source)."""
    try:
        key, part = ids.parse_attachment_id(attachment_id)
    except ids.BadId:
        raise store.AttachmentNotFound() from None
    loc = await store.locate_key(ctx, account, key)
    part = part.strip()
    listed = [a for a in loc.row.attachments or [] if isinstance(a, dict) and a.get("part") == part]
    if listed and ctx.sources.get(store.source_key(loc)) is None:
        async with imap(ctx, account) as conn:
            await store.select_box(conn, loc.box)
            header = await _part_header(conn, loc, part)
            body = await conn.fetch_section(loc.row.uid, part) if header else None
        if header and body is not None:
            found = mime.section_content(header, body)
            if found[1] == listed[0].get("contentType"):
                return found
    return await store.attachment_part(ctx, account, attachment_id)


# -- sections -------------------------------------------------------------------------------------
def _text_numbers(loc: store.Located, kinds: tuple[str, ...]) -> dict[str, list[str]] | None:
    """Section numbers of the body texts of ``kinds``, by kind; None when the row does not say."""
    out: dict[str, list[str]] = {kind: [] for kind in KINDS}
    if not kinds:
        return out
    text: Any = loc.row.text
    if not isinstance(text, dict):
        return None
    for kind in kinds:
        numbers = text.get(kind)
        if not isinstance(numbers, list) or not all(isinstance(n, str) and n for n in numbers):
            return None
        out[kind] = list(numbers)
    return out


def _all(numbers: dict[str, list[str]]) -> list[str]:
    return list(dict.fromkeys(n for kind in KINDS for n in numbers[kind]))


def _cached(ctx: Context, key: tuple[object, ...], kind: type[T]) -> T | None:
    found = ctx.parts.get(key)
    return found if isinstance(found, kind) else None


async def _read_head(ctx: Context, conn: MailSession, loc: store.Located) -> _Head | None:
    raw = await conn.fetch_section(loc.row.uid, "HEADER")
    if not raw:
        return None  # gone, or nothing said: the whole-source read knows what to answer
    head = _Head(mime.parse(raw), mime.is_multipart_header(raw), raw)
    ctx.parts.put((*store.source_key(loc), "head"), head, len(raw))
    return head


async def _part_header(
    conn: MailSession, loc: store.Located, part: str, head: _Head | None = None
) -> bytes | None:
    """A part's MIME header. A single-part message's only part, "1", has the message header as
    its own (what a server answers for "1.MIME" there varies) and no other. ``head``: the message
    header, when already read."""
    if head is not None or part == "1":
        raw = head.raw if head is not None else await conn.fetch_section(loc.row.uid, "HEADER")
        if not raw:
            return None
        multipart = head.multipart if head is not None else mime.is_multipart_header(raw)
        if multipart is None:
            return None
        if not multipart:
            return raw if part == "1" else None
    return await conn.fetch_section(loc.row.uid, f"{part}.MIME") or None


async def _read_images(
    conn: MailSession, loc: store.Located, head: _Head
) -> dict[str, tuple[bytes, str]] | None:
    """The images the HTML can point at (``cid:``), by Content-ID; None if one cannot be read."""
    found: dict[str, tuple[bytes, str]] = {}
    for a in loc.row.attachments or []:
        ctype, cid, part = a.get("contentType"), a.get("contentId"), a.get("part")
        if not (isinstance(ctype, str) and ctype.startswith("image/") and cid and isinstance(part, str)):
            continue
        header = await _part_header(conn, loc, part, head)
        body = await conn.fetch_section(loc.row.uid, part) if header else None
        if not header or body is None:
            return None
        found[str(cid)] = (mime.section_content(header, body)[0], ctype)
    return found


async def _read_text(
    ctx: Context, conn: MailSession, loc: store.Located, head: _Head, number: str
) -> str | None:
    """One body text part decoded, or None when the server does not give it."""
    header = await _part_header(conn, loc, number, head)
    if not header:  # a part without a header still has its blank line; nothing means no part
        return None
    body = await conn.fetch_section(loc.row.uid, number)
    if body is None:
        return None
    text = mime.section_text(header, body)
    ctx.parts.put((*store.source_key(loc), "text", number), text, len(body))
    return text
