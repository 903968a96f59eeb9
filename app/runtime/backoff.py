"""One retry policy for everything that retries (webhook attempts, sends, reconnects), so that
how a delay grows, where it stops and how it is spread out is decided in one place; the three
differ only in their parameters, read from the settings below."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from app.config import Settings

#: Draws the jitter factor between two bounds (``random.uniform``; tests pass a fixed one).
Draw = Callable[[float, float], float]


@dataclass(frozen=True, slots=True)
class Policy:
    """Delay before retry number ``n`` (1 = the first retry): ``steps[n-1]`` (the last step
    repeating) when steps are given, else ``base * factor**(n-1)`` capped at ``cap``; then
    multiplied by a factor drawn from ``jitter`` so that many retries of one outage spread out."""

    base: float = 1.0
    cap: float = math.inf
    factor: float = 2.0
    steps: tuple[float, ...] = ()
    jitter: tuple[float, float] = (1.0, 1.0)

    def nominal(self, attempt: int) -> float:
        """The delay before jitter."""
        n = max(1, attempt)
        if self.steps:
            return self.steps[min(n, len(self.steps)) - 1]
        try:
            grown = self.base * self.factor ** (n - 1)
        except OverflowError:  # thousands of failures in a row: long since at the cap
            grown = math.inf
        return min(self.cap, grown)

    def delay(self, attempt: int, draw: Draw = random.uniform) -> float:
        return self.nominal(attempt) * draw(*self.jitter)


class Backoff:
    """Consecutive failures of one thing under a policy: each failure waits longer, a success
    starts over."""

    def __init__(self, policy: Policy, draw: Draw = random.uniform) -> None:
        self.policy = policy
        self.failures = 0
        self._draw = draw

    def next(self) -> float:
        """Count a failure; the seconds to wait before trying again."""
        self.failures += 1
        return self.policy.delay(self.failures, self._draw)

    def reset(self) -> None:
        self.failures = 0


def webhooks(settings: Settings) -> Policy:
    """Webhook attempts follow the configured schedule (hours, not minutes, by default), ±10 %."""
    return Policy(steps=tuple(settings.webhook_backoff), jitter=(0.9, 1.1))


def sends(settings: Settings) -> Policy:
    """Send attempt n waits ``send_retry_base * 2**(n-1)`` seconds, at most ``send_retry_cap``, ±10 %."""
    return Policy(base=settings.send_retry_base, cap=settings.send_retry_cap, jitter=(0.9, 1.1))


def reconnects(settings: Settings) -> Policy:
    """Reconnects double from ``reconnect_base`` up to ``reconnect_cap`` and wait between half
    and all of that, so accounts cut off together do not all come back at the same instant."""
    return Policy(base=settings.reconnect_base, cap=settings.reconnect_cap, jitter=(0.5, 1.0))
