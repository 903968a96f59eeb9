"""Lease-elected loops (the dispatchers' base): one leader at a time, handed over on stop."""

from __future__ import annotations

import asyncio

from app.services.context import Context
from app.services.leases import Singleton

PATIENCE = 10.0  # well below the 30 s lease: a hand-over within it did not wait for expiry


class Elected(Singleton):
    name = "test-elected"

    def __init__(self, ctx: Context, owner: str) -> None:
        super().__init__(ctx, owner, tick=3600.0)
        self.takeovers = 0
        self.led = asyncio.Event()
        self.passed = asyncio.Event()

    async def run_pass(self) -> float | None:
        try:
            return await super().run_pass()
        finally:
            self.passed.set()

    async def lead_pass(self, takeover: bool) -> float | None:
        self.takeovers += takeover
        self.led.set()
        return None

    async def another_pass(self) -> None:
        self.passed.clear()
        self.wake()
        await asyncio.wait_for(self.passed.wait(), PATIENCE)


async def test_one_leads_and_the_other_takes_over_at_once_when_it_stops(ctx: Context) -> None:
    first, second = Elected(ctx, "first"), Elected(ctx, "second")
    await first.start()
    try:
        await asyncio.wait_for(first.led.wait(), PATIENCE)
        await second.start()
        await second.another_pass()
        assert not second.leading and not second.led.is_set()
        await first.another_pass()
        assert first.leading and first.takeovers == 1  # led all along
        await first.stop()  # gives the lease up
        await second.another_pass()
        assert second.leading and second.takeovers == 1
    finally:
        await first.stop()
        await second.stop()
