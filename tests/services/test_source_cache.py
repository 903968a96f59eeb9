"""The raw-message cache: bounded by bytes, least recently used out first, big messages skipped."""

from __future__ import annotations

from app.services.cache import SourceCache


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
