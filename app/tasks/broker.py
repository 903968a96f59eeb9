"""The taskiq broker. Module-level because taskiq workers import it by name
(``taskiq worker app.tasks.broker:broker``); the choice follows ``MAILGATE_REDIS_URL``."""

from __future__ import annotations

from taskiq import AsyncBroker, InMemoryBroker

from app.config import Settings


def build_broker(redis_url: str | None) -> AsyncBroker:
    if not redis_url:
        return InMemoryBroker()
    from taskiq_redis import RedisStreamBroker

    return RedisStreamBroker(redis_url, queue_name="mailgate")


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
