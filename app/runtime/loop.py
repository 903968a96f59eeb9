"""The shape of every background loop: run a pass, then sleep until something wakes it, until
the time the pass asked to run again, or until the idle interval runs out, whichever is first.

A pass that fails is logged and the loop goes on (the database or the broker may be briefly
away); only cancellation ends it. Wake sources are armed before the pass, so a wake-up that
comes while a pass runs is never slept through."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable
from typing import Any, Protocol

from app import tasking

log = logging.getLogger(__name__)


class Signal(Protocol):
    """A broadcast wake-up (``app.events.signal``): arm a waiter, wait on it, disarm it."""

    def arm(self) -> asyncio.Future[None]: ...

    def disarm(self, waiter: asyncio.Future[None]) -> None: ...


class Loop:
    """Subclasses implement :meth:`run_pass`; :meth:`setup` and :meth:`teardown` run once around
    the loop. ``idle``: the longest sleep between passes. ``settle``: the least time between the
    end of one pass and the start of the next, so a burst of wake-ups costs one pass, not one
    each. ``wakes`` (events, cleared before each pass) and ``signals`` wake it early."""

    def __init__(
        self,
        label: str,
        *,
        idle: float = 1.0,
        settle: float = 0.0,
        wakes: Iterable[asyncio.Event] = (),
        signals: Iterable[Signal] = (),
    ) -> None:
        self.label = label
        self.idle = idle
        self.settle = settle
        self._woken = asyncio.Event()
        self._wakes = [self._woken, *wakes]
        self._signals = list(signals)
        self._due = math.inf  # loop time asked for with wake_at
        self._rescheduled = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None

    # -- for subclasses -----------------------------------------------------------------------------
    async def setup(self) -> None:
        """Runs in the loop's task before the first pass; :meth:`start` returns once it is done."""

    async def run_pass(self) -> float | None:
        """One round of work; returns the seconds until it wants to run again (None: ``idle``)."""
        raise NotImplementedError

    async def teardown(self) -> None:
        """Runs in :meth:`stop` once the loop has ended."""

    # -- control ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the loop and wait for :meth:`setup`; its error, if any, is raised here."""
        self._ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._main(), name=self.label)
        await asyncio.wait({self._ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not self._ready.done():
            self._ready.cancel()
            await self._task  # raises what ended it

    async def stop(self) -> None:
        await tasking.stop(self._task)
        await self.teardown()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Run a pass now (or as soon as the current one and ``settle`` are over)."""
        self._woken.set()

    def wake_at(self, when: float) -> None:
        """Run a pass no later than ``when`` (event-loop time); the earliest request wins."""
        if when < self._due:
            self._due = when
            self._rescheduled.set()

    # -- the loop -----------------------------------------------------------------------------------
    async def _main(self) -> None:
        await self.setup()
        assert self._ready is not None
        if not self._ready.done():
            self._ready.set_result(None)
        clock = asyncio.get_running_loop()
        while True:
            for event in self._wakes:
                event.clear()
            armed = [signal.arm() for signal in self._signals]
            if clock.time() >= self._due:
                self._due = math.inf
            delay = self.idle
            try:
                try:
                    asked = await self.run_pass()
                    if asked is not None:
                        delay = min(delay, asked)
                except Exception:  # keep going: the next pass may find the database or broker back
                    log.exception("%s pass failed", self.label)
                if self.settle > 0:
                    await asyncio.sleep(self.settle)
                await self._sleep(clock.time() + delay, armed)
            finally:
                for signal, waiter in zip(self._signals, armed, strict=True):
                    signal.disarm(waiter)

    async def _sleep(self, until: float, armed: list[asyncio.Future[None]]) -> None:
        """Until ``until`` or the time asked for with :meth:`wake_at` (which may move earlier
        meanwhile), or until woken."""
        clock = asyncio.get_running_loop()
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(e.wait()) for e in self._wakes]
        try:
            while True:
                timeout = min(until, self._due) - clock.time()
                if timeout <= 0 or any(w.done() for w in [*armed, *waits]):
                    return
                self._rescheduled.clear()
                moved = asyncio.ensure_future(self._rescheduled.wait())
                try:
                    await asyncio.wait(
                        [*waits, *armed, moved], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    moved.cancel()
        finally:
            for w in waits:
                w.cancel()
