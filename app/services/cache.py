"""A tiny time-bounded cache for hot read paths (token checks, account state, folder lookup).

Entries live for a short TTL and are dropped at once by writes made in this process; other
processes see changes after at most the TTL."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, ttl: float, maxsize: int = 10_000) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._data: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}
        self._generation = 0  # bumped by drops: a load that started before one must not be stored

    def get(self, key: K) -> V | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._data.pop(key, None)
            return None
        return hit[1]

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """One load per key at a time: when an entry expires under load, the waiting requests
        share a single database round trip instead of stampeding."""
        hit = self.get(key)
        if hit is not None:
            return hit
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation = self._generation
        try:
            value = await load()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: waiters re-raise it, nobody logs it as unhandled
            raise
        finally:
            self._loading.pop(key, None)
        if generation == self._generation:
            self.put(key, value)
        future.set_result(value)
        return value

    def put(self, key: K, value: V) -> None:
        if len(self._data) >= self.maxsize:
            self._data.clear()  # crude, but bounded and rare: the TTL keeps the set small
        self._data[key] = (time.monotonic() + self.ttl, value)

    def drop(self, key: K) -> None:
        self._generation += 1
        self._data.pop(key, None)

    def drop_where(self, prefix: Hashable) -> None:
        """Drop tuple keys whose first item is ``prefix``."""
        self._generation += 1
        for key in [k for k in self._data if isinstance(k, tuple) and k and k[0] == prefix]:
            self._data.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._data.clear()


class PageCache:
    """List pages per folder (rendered JSON, or the page itself), under the folder's ``version``.

    Every index write moves the version on in the row it writes, whichever process makes it, so
    a page is served only while the folder row read for the request still names the version it
    was rendered from: a write elsewhere is seen as soon as this process reads the row again
    (its folder cache keeps rows for a second). Index writes in this process also drop the
    folder's pages at once. The TTL only lets go of pages no request asks for any more."""

    def __init__(self, ttl: float = 60.0, maxsize: int = 2_000) -> None:
        self._pages: TTLCache[tuple[int, int, Hashable], Any] = TTLCache(ttl, maxsize)

    async def get_or_load(
        self, mailbox_id: int, version: int, key: Hashable, render: Callable[[], Awaitable[V]]
    ) -> V:
        found: V = await self._pages.get_or_load((mailbox_id, version, key), render)
        return found

    def invalidate(self, mailbox_id: int | None) -> None:
        if mailbox_id is not None:
            self._pages.drop_where(mailbox_id)


class SizedLRU(Generic[V]):
    """Values by key up to a total size (each value's size given when it is put), least
    recently used dropped first; a value bigger than ``max_item`` is not kept. For contents that
    never change under their key, so that no entry can go stale."""

    def __init__(self, max_bytes: int, max_item: int) -> None:
        self.max_bytes = max_bytes
        self.max_item = max_item
        self._data: OrderedDict[Hashable, tuple[int, V]] = OrderedDict()
        self._size = 0

    def get(self, key: Hashable) -> V | None:
        found = self._data.get(key)
        if found is None:
            return None
        self._data.move_to_end(key)
        return found[1]

    def put(self, key: Hashable, value: V, size: int) -> None:
        if size > self.max_item or key in self._data:
            return
        self._data[key] = (size, value)
        self._size += size
        while self._size > self.max_bytes and self._data:
            _, (dropped, _value) = self._data.popitem(last=False)
            self._size -= dropped


class SourceCache(SizedLRU[bytes]):
    """Raw messages by account, folder, UIDVALIDITY and UID, least recently used dropped first.

    IMAP never changes the content behind one UID of one UIDVALIDITY (RFC 3501 §2.3.1.1), so an
    entry cannot go stale: reading a message, its text and its attachments, or a webhook reading
    the message sync just indexed, costs one download instead of one each."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_item: int = 4 * 1024 * 1024) -> None:
        super().__init__(max_bytes, max_item)
        #: Accounts known to have (True) or lack (False) Gmail labels; a read needing labels is
        #: served from here only where there are none to read.
        self.labels: dict[str, bool] = {}

    def put(self, key: Hashable, value: bytes, size: int | None = None) -> None:
        super().put(key, value, len(value) if size is None else size)
