"""The taskiq broker. Module-level because taskiq workers import it by name
(``taskiq worker app.tasks.broker:broker``); the choice follows ``MAILGATE_REDIS_URL``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

from taskiq import AckableMessage, AsyncBroker, InMemoryBroker

from app.config import Settings

log = logging.getLogger(__name__)
#: Seconds between attempts to reach Redis again while it is away.
RECONNECT_DELAY = 1.0


def build_broker(redis_url: str | None) -> AsyncBroker:
    if not redis_url:
        return InMemoryBroker()
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from taskiq_redis import RedisStreamBroker

    class SurvivingStreamBroker(RedisStreamBroker):
        """Keeps a worker listening through a Redis outage. The stock reader ends at the first
        connection error, and taskiq restarts it at once, in a tight loop that floods the log; and a
        Redis that comes back empty has lost the consumer group, so every read after it fails. The
        queue itself lives in the database: a message lost with Redis is handed over again."""

        async def listen(self) -> AsyncGenerator[AckableMessage, None]:
            while True:
                try:
                    async with contextlib.aclosing(super().listen()) as messages:
                        async for message in messages:
                            yield message
                except ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    log.warning("the task stream is gone from Redis (restarted?); creating it again")
                    await self.create_group()
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    log.warning("Redis is unavailable (%s); retrying in %.0f s", exc, RECONNECT_DELAY)
                    await asyncio.sleep(RECONNECT_DELAY)

        async def create_group(self) -> None:
            """From the stream's first entry: API processes may have added tasks to a fresh stream
            before any worker saw it (a task whose hand-over is stale does nothing when run)."""
            async with Redis(connection_pool=self.connection_pool) as redis:
                try:
                    await redis.xgroup_create(
                        self.queue_name, self.consumer_group_name, id="0", mkstream=True
                    )
                except ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):  # another worker was first
                        raise

    return SurvivingStreamBroker(redis_url, queue_name="mailgate", consumer_id="0")


async def ping(broker: AsyncBroker, redis_url: str | None) -> bool:
    if not redis_url:
        return True
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


broker: AsyncBroker = build_broker(Settings.from_env().redis_url)
