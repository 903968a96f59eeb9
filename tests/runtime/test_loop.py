"""The background loop: passes, wake-ups, deadlines, errors and stopping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

import pytest

from app.events import EventSignal
from app.runtime.loop import Loop, Signal

PATIENCE = 10.0  # generous: the machine may be busy; a pass that never comes fails the test
EARLY = 1e-3  # how early the event loop may fire a timer (its clock resolution, rounded up)


@contextlib.asynccontextmanager
async def running(loop: Loop) -> AsyncIterator[Loop]:
    await loop.start()
    try:
        yield loop
    finally:
        await loop.stop()


class Recorder(Loop):
    """Counts passes and lets a test wait for the n-th; a pass may fail or block on request."""

    def __init__(
        self, *, settle: float = 0.0, wakes: Iterable[asyncio.Event] = (), signals: Iterable[Signal] = ()
    ) -> None:
        super().__init__("recorder", idle=3600.0, settle=settle, wakes=wakes, signals=signals)
        self.passes = 0
        self.times: list[float] = []
        self.changed = asyncio.Condition()
        self.failures = 0  # passes still to fail
        self.asked: float | None = None
        self.during_pass: asyncio.Event | None = None
        self.block = False
        self.set_up = self.torn_down = False

    async def setup(self) -> None:
        self.set_up = True

    async def teardown(self) -> None:
        self.torn_down = True

    async def run_pass(self) -> float | None:
        self.passes += 1
        self.times.append(asyncio.get_running_loop().time())
        async with self.changed:
            self.changed.notify_all()
        if self.during_pass is not None:
            self.during_pass.set()
            self.during_pass = None
        if self.block:
            await asyncio.Event().wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the database is away")
        return self.asked

    async def reach(self, passes: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.passes >= passes), PATIENCE)


async def test_start_runs_setup_and_a_first_pass_then_waits() -> None:
    loop = Recorder()
    async with running(loop):
        assert loop.set_up and loop.running
        await loop.reach(1)
        assert loop.passes == 1  # idle is an hour: nothing else runs it
    assert loop.torn_down and not loop.running


async def test_wake_runs_another_pass() -> None:
    loop = Recorder()
    async with running(loop):
        await loop.reach(1)
        loop.wake()
        await loop.reach(2)


async def test_an_event_or_a_signal_wakes_it() -> None:
    event, signal = asyncio.Event(), EventSignal()
    loop = Recorder(wakes=[event], signals=[signal])
    async with running(loop):
        await loop.reach(1)
        event.set()
        await loop.reach(2)
        signal.fire()
        await loop.reach(3)


async def test_a_wake_during_a_pass_is_not_slept_through() -> None:
    event = asyncio.Event()
    loop = Recorder(wakes=[event])
    loop.during_pass = event  # set while the first pass runs, after the loop cleared it
    async with running(loop):
        await loop.reach(2)


async def test_a_signal_fired_during_a_pass_is_not_slept_through() -> None:
    signal = EventSignal()

    class Firing(Recorder):
        async def run_pass(self) -> float | None:
            if self.passes == 0:
                signal.fire()
            return await super().run_pass()

    loop = Firing(signals=[signal])
    async with running(loop):
        await loop.reach(2)


async def test_a_pass_asks_when_to_run_again() -> None:
    loop = Recorder()
    loop.asked = 0.05
    async with running(loop):
        await loop.reach(3)
        assert all(b - a >= 0.05 - EARLY for a, b in zip(loop.times, loop.times[1:], strict=False))


async def test_wake_at_runs_a_pass_at_that_time_and_not_before() -> None:
    loop = Recorder()
    async with running(loop):
        await loop.reach(1)
        when = asyncio.get_running_loop().time() + 0.1
        loop.wake_at(when)
        await loop.reach(2)
        assert loop.times[1] >= when - EARLY


async def test_settle_keeps_passes_apart() -> None:
    loop = Recorder(settle=0.05)
    async with running(loop):
        for n in range(2, 5):
            loop.wake()
            await loop.reach(n)
        assert all(b - a >= 0.05 - EARLY for a, b in zip(loop.times, loop.times[1:], strict=False))


async def test_a_failing_pass_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    loop = Recorder()
    loop.failures = 1
    with caplog.at_level(logging.ERROR, logger="app.runtime.loop"):
        async with running(loop):
            await loop.reach(1)
            loop.wake()
            await loop.reach(2)
    assert any("recorder pass failed" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_stop_cancels_a_pass_under_way() -> None:
    loop = Recorder()
    loop.block = True
    await loop.start()
    await loop.reach(1)
    await asyncio.wait_for(loop.stop(), PATIENCE)
    assert not loop.running and loop.torn_down


async def test_a_failing_setup_is_raised_by_start() -> None:
    class Broken(Recorder):
        async def setup(self) -> None:
            raise RuntimeError("no database")

    loop = Broken()
    with pytest.raises(RuntimeError, match="no database"):
        await loop.start()
    assert loop.passes == 0 and not loop.running
