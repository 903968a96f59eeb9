"""Stopping background tasks for sure."""

from __future__ import annotations

import asyncio
import logging

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
