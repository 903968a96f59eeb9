"""The raw-message cache: bounded by bytes, least recently used out first, big messages skipped."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from app.models import Account, Mailbox, Message
from app.models.base import utcnow
from app.services import message_store as store
from app.services.cache import SizedLRU, SourceCache
from app.services.context import Context


def test_lru_by_bytes_and_item_limit() -> None:
    cache = SourceCache(max_bytes=10, max_item=6)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # now the most recently used
    cache.put("c", b"90ab")  # 12 bytes > 10: "b" goes, not "a"
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1234", None, b"90ab")
    cache.put("big", b"x" * 7)
    assert cache.get("big") is None
    cache.put("a", b"other")  # a key's content never changes: the first stays
    assert cache.get("a") == b"1234"


def test_parsed_messages_are_kept_per_content_key() -> None:
    """A message read again is not parsed again; another UIDVALIDITY (new content under the same
    UID) or a re-created account is parsed afresh."""
    ctx = cast(Context, SimpleNamespace(parsed=SizedLRU(1 << 20, 1 << 20)))
    account = Account(id="a", name="a", notify_from=utcnow())
    box = Mailbox(id=1, account="a", path="INBOX", uid_validity=7)
    loc = store.Located(account, box, Message(account="a", mailbox_id=1, uid=3))
    first = store.parsed(ctx, loc, b"Subject: one\r\n\r\nbody one\r\n")
    assert first.subject == "one"
    assert store.parsed(ctx, loc, b"Subject: ignored\r\n\r\n") is first  # same content key: no parse
    renumbered = store.Located(account, Mailbox(id=1, account="a", path="INBOX", uid_validity=8), loc.row)
    assert store.parsed(ctx, renumbered, b"Subject: two\r\n\r\n").subject == "two"
    again = store.Located(Account(id="a", name="a", notify_from=utcnow(), created=utcnow()), box, loc.row)
    assert store.parsed(ctx, again, b"Subject: three\r\n\r\n").subject == "three"


def test_sized_lru_drops_least_recently_used_by_size() -> None:
    lru: SizedLRU[str] = SizedLRU(max_bytes=10, max_item=6)
    lru.put("a", "A", 4)
    lru.put("b", "B", 4)
    assert lru.get("a") == "A"
    lru.put("c", "C", 4)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == ("A", None, "C")
    lru.put("big", "X", 7)
    assert lru.get("big") is None
