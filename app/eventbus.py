"""Cross-process wake-up for event readers over Redis pub/sub.

The event table stays the only source of truth: readers re-read rows after the last id they
delivered, so a lost or duplicated message costs nothing but latency (readers also re-check on
a timeout). A message only says "something was committed, newest id N"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from app import events

log = logging.getLogger(__name__)
CHANNEL = "mailgate:events"


class RedisWake:
    """Publishes this process's commits and fires the local signal for everyone else's."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self.origin = secrets.token_hex(6)
        self._client: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._pending: int | None = None
        self._dirty = False
        self._subscribed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        from redis.asyncio import Redis

        self._loop = asyncio.get_running_loop()
        self._client = Redis.from_url(self.url, socket_connect_timeout=5)
        self._listener = asyncio.create_task(self._listen(), name="eventbus-listen")
        events.signal.relays.append(self._relay)
        with contextlib.suppress(TimeoutError):  # Redis down: readers fall back to re-checking
            await asyncio.wait_for(self._subscribed.wait(), 5)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            events.signal.relays.remove(self._relay)
        for task in (self._listener, self._publisher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._client is not None:
            await self._client.aclose()

    def _relay(self, latest: int | None) -> None:
        """Called synchronously after a commit: coalesce, then publish from a task. The Redis
        client belongs to the loop the bus started in; a commit made on another loop (a server
        run in a thread of its own) hands the publication over to it."""
        if self._loop is not None and _running_loop() is not self._loop:
            self._loop.call_soon_threadsafe(self._relay, latest)
            return
        self._dirty = True
        if latest is not None and (self._pending is None or latest > self._pending):
            self._pending = latest
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.get_running_loop().create_task(self._publish())

    async def _publish(self) -> None:
        while self._dirty:
            self._dirty = False
            latest, self._pending = self._pending, None
            try:
                await self._client.publish(self.channel, f"{self.origin}:{latest or ''}")
            except Exception as exc:  # readers still re-check on their timeout
                log.warning("event wake-up not published: %s", exc)
                return

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                try:
                    async for message in pubsub.listen():
                        data = message.get("data")
                        text = data.decode() if isinstance(data, bytes) else str(data)
                        origin, _, latest = text.partition(":")
                        if origin != self.origin:
                            events.signal.fire(int(latest) if latest.isdigit() else None, local=False)
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event wake-up channel lost (%s); retrying", exc)
                await asyncio.sleep(1.0)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def start(redis_url: str | None) -> RedisWake | None:
    """The bus for this process: Redis when configured; without it every reader and writer
    shares one process, and the in-process signal is all there is."""
    if not redis_url:
        return None
    bus = RedisWake(redis_url)
    await bus.start()
    return bus


async def stop(bus: RedisWake | None) -> None:
    if bus is not None:
        await bus.stop()
