"""Building many messages at once (a mail merge) in worker processes.

MIME assembly with the stdlib ``email`` package costs close to a millisecond of CPU per message;
a thousand-recipient merge done inline would hold the event loop, and every other request with
it, for seconds. Large batches go to a small process pool instead, which also puts a second core
to work; small ones are built inline, where starting a process would cost more than it saves."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from app.mail import compose

__all__ = ["Assembler", "build_all", "build_many", "shutdown"]

POOL_FROM = 100  # messages; fewer are built inline
CHUNK = 50  # messages handed to a worker at once
_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def build_all(specs: list[dict[str, Any]]) -> list[bytes | str]:
    """``compose.build`` for each spec: the message, or why it cannot be built."""
    out: list[bytes | str] = []
    for spec in specs:
        try:
            out.append(compose.build(**spec))
        except ValueError as exc:
            out.append(f"The message cannot be built: {exc}")
    return out


def _workers() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0))))


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # forkserver: workers do not inherit this process's threads (database, event loop).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["app.mail.compose"])
            _pool = ProcessPoolExecutor(max_workers=_workers(), mp_context=context)
        return _pool


class Assembler:
    """Takes specs one by one and hands them to the workers in chunks as they come, so that
    the workers build while the caller prepares the next ones. ``expected`` decides whether the
    pool is used at all."""

    def __init__(self, expected: int) -> None:
        self.pooled = expected >= POOL_FROM
        self._pending: list[dict[str, Any]] = []
        self._chunks: list[asyncio.Future[list[bytes | str]]] = []

    def add(self, spec: dict[str, Any]) -> None:
        self._pending.append(spec)
        if self.pooled and len(self._pending) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        chunk, self._pending = self._pending, []
        loop = asyncio.get_running_loop()
        self._chunks.append(loop.run_in_executor(_executor(), build_all, chunk))

    async def results(self) -> list[bytes | str]:
        """Every message (or why it cannot be built), in the order added."""
        if not self.pooled:
            return build_all(self._pending)
        if self._pending:
            self._flush()
        done = await asyncio.gather(*self._chunks)
        return [raw for chunk in done for raw in chunk]


async def build_many(specs: list[dict[str, Any]]) -> list[bytes | str]:
    assembler = Assembler(len(specs))
    for spec in specs:
        assembler.add(spec)
    return await assembler.results()


def shutdown() -> None:
    """Stop the workers: the app calls this when it stops (a later batch starts new ones)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
