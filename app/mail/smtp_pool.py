"""Authenticated SMTP sessions kept between messages.

Opening a session costs connect, greeting, EHLO, STARTTLS (a TLS handshake), EHLO again and AUTH:
six round trips and the handshake's CPU on both sides, for one MAIL/RCPT/DATA. A queue sending a
burst for one account reuses a few sessions instead. A session is keyed by everything that went
into opening it (server, TLS options, login and password or token), so changed credentials
never reuse a session opened with the old ones; before reuse a session is checked with RSET,
which also clears any half-finished transaction.

A session is kept only while there is demand for it: when another message for the same key
began while this one was being sent. A lone message ends with QUIT as it always did, so an
account that sends once a day holds no idle session on its server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiosmtplib

#: Idle sessions kept per key; more are closed when handed back.
PER_KEY = 4
#: Servers drop idle clients after a few minutes (RFC 5321 §4.5.3.2.7 suggests 5); leave well before.
IDLE_SECONDS = 30.0
QUIT_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Turn:
    """One message's use of the pool: a session to start from, and whether to keep its own."""

    pool: SmtpPool
    key: str
    ticket: int

    def take(self) -> aiosmtplib.SMTP | None:
        return self.pool.take(self.key)

    def keep(self, smtp: aiosmtplib.SMTP) -> bool:
        """Hand ``smtp`` back if another message for the same key wants it; False: QUIT it."""
        if not (smtp.is_connected and self.pool.wanted(self.key, self.ticket)):
            return False
        self.pool.give(self.key, smtp)
        return True


def key_of(cfg: dict[str, Any]) -> str:
    """A digest of the session's settings (the secrets in them never leave this function)."""
    text = json.dumps(cfg, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class SmtpPool:
    def __init__(self, *, per_key: int = PER_KEY, idle_seconds: float = IDLE_SECONDS) -> None:
        self.per_key = per_key
        self.idle_seconds = idle_seconds
        self._idle: defaultdict[str, list[tuple[float, aiosmtplib.SMTP]]] = defaultdict(list)
        self._closing: set[asyncio.Task[None]] = set()
        self._begun: defaultdict[str, int] = defaultdict(int)
        self._busy: defaultdict[str, int] = defaultdict(int)

    def begin(self, key: str) -> int:
        """A send for ``key`` starts; the ticket tells :meth:`wanted` what began after it."""
        self._begun[key] += 1
        self._busy[key] += 1
        return self._begun[key]

    @contextlib.contextmanager
    def turn(self, cfg: dict[str, Any]) -> Iterator[Turn]:
        """The pool's part in sending one message with the session settings ``cfg``."""
        key = key_of(cfg)
        ticket = self.begin(key)
        try:
            yield Turn(self, key, ticket)
        finally:
            self.end(key)

    def end(self, key: str) -> None:
        self._busy[key] -= 1
        if not self._busy[key]:
            del self._busy[key], self._begun[key]

    def wanted(self, key: str, ticket: int) -> bool:
        """Whether a session should outlive the send holding ``ticket``: another send for the
        same key is under way, or began since."""
        return self._busy.get(key, 0) > 1 or self._begun.get(key, 0) > ticket

    def take(self, key: str) -> aiosmtplib.SMTP | None:
        """The most recently used idle session for ``key`` still connected, if any."""
        sessions = self._idle.get(key)
        now = time.monotonic()
        while sessions:
            used, smtp = sessions.pop()
            if smtp.is_connected and now - used < self.idle_seconds:
                return smtp
            self._quit(smtp)
        return None

    def give(self, key: str, smtp: aiosmtplib.SMTP) -> None:
        """Hand a session back after a completed transaction."""
        sessions = self._idle[key]
        if smtp.is_connected and len(sessions) < self.per_key:
            sessions.append((time.monotonic(), smtp))
        else:
            self._quit(smtp)

    def idle(self, key: str) -> int:
        return len(self._idle.get(key, ()))

    def close_idle(self) -> None:
        now = time.monotonic()
        for key, sessions in list(self._idle.items()):
            keep = [(used, s) for used, s in sessions if now - used < self.idle_seconds and s.is_connected]
            for used, smtp in sessions:
                if (used, smtp) not in keep:
                    self._quit(smtp)
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]

    async def close(self) -> None:
        for sessions in self._idle.values():
            for _, smtp in sessions:
                self._quit(smtp)
        self._idle.clear()
        if self._closing:
            await asyncio.wait(set(self._closing))

    async def reaper(self) -> None:
        while True:
            await asyncio.sleep(self.idle_seconds / 2)
            self.close_idle()

    def _quit(self, smtp: aiosmtplib.SMTP) -> None:
        """QUIT in the background: nobody waits for a session being let go."""
        task = asyncio.ensure_future(_quit(smtp))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        if smtp.is_connected:
            with contextlib.suppress(Exception):
                await smtp.quit(timeout=QUIT_TIMEOUT)
    finally:
        smtp.close()
