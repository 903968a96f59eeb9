"""A separate writer process for the cross-process tests and benchmarks: it commits event rows
(as `mailgate worker` does) with the Redis wake-up bus running, one per line read on stdin."""

from __future__ import annotations

import asyncio
import sys
import time

from app import eventbus, events
from app.config import Settings
from app.services.context import Context


async def main() -> None:
    settings = Settings.from_env()
    ctx = Context.from_settings(settings)
    bus = await eventbus.start(settings.redis_url)
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            account, _, kind = line.strip().partition(" ")
            async with ctx.db.core() as s:
                row = events.record(s, kind or "messageNew", account, {"written": time.time()})
                await s.commit()
            print(row.id, flush=True)
    finally:
        await eventbus.stop(bus)
        await ctx.close()


if __name__ == "__main__":
    asyncio.run(main())
