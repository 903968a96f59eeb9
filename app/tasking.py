"""Stopping background tasks for sure."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)


async def stop(task: asyncio.Task[None] | None, patience: float = 10.0) -> None:
    """Cancel ``task`` and wait for it to end, cancelling again while it does not: on Python 3.11
    ``asyncio.wait_for`` can swallow a cancellation that races with its inner future finishing,
    and a loop that swallowed one would keep a shutdown waiting forever."""
    if task is None or task.done():
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.2)
        if loop.time() > deadline:
            log.error("task %s did not stop within %.0f s", task.get_name(), patience)
            return
    if not task.cancelled() and task.exception() is not None:
        log.debug("task %s ended with %r", task.get_name(), task.exception())


P = ParamSpec("P")
R = TypeVar("R")
_finishing: set[asyncio.Task[Any]] = set()


def _settle(task: asyncio.Task[Any]) -> None:
    _finishing.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.debug("%s finished after its caller was cancelled: %r", task.get_name(), task.exception())


def completes(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Let a database write finish even when its caller is cancelled (the caller still sees the
    cancellation at once). A SQLite transaction cut off mid-statement has its connection torn down
    while the statement still runs, and the write lock it took can outlive the teardown: every
    other writer then waits out the busy timeout. Stopping an account's sync is such a cut."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        task = asyncio.ensure_future(fn(*args, **kwargs))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            _finishing.add(task)
            task.add_done_callback(_settle)
            raise

    return run
