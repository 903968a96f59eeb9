"""The one retry policy, with the schedules webhooks, sends and reconnects have always used."""

from __future__ import annotations

import math

from app.config import Settings
from app.runtime import backoff
from app.runtime.backoff import Backoff, Policy


class Draws:
    """A stand-in for ``random.uniform`` that records the bounds it was asked for."""

    def __init__(self, pick: str) -> None:
        self.pick = pick
        self.bounds: list[tuple[float, float]] = []

    def __call__(self, low: float, high: float) -> float:
        self.bounds.append((low, high))
        return low if self.pick == "low" else high


def test_webhook_schedule_is_the_configured_steps_with_the_last_repeating() -> None:
    settings = Settings()
    policy = backoff.webhooks(settings)
    steps = [policy.nominal(n) for n in range(1, 14)]
    assert steps == [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800, 28800, 28800, 28800]
    draws = Draws("high")
    assert math.isclose(policy.delay(2, draws), 33.0)
    assert draws.bounds == [(0.9, 1.1)]


def test_webhook_schedule_follows_a_custom_setting() -> None:
    policy = backoff.webhooks(Settings(webhook_backoff=(1, 2)))
    assert [policy.nominal(n) for n in (1, 2, 3)] == [1, 2, 2]


def test_send_retries_double_up_to_the_cap() -> None:
    policy = backoff.sends(Settings(send_retry_base=5.0, send_retry_cap=60.0))
    assert [policy.nominal(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    draws = Draws("low")
    assert math.isclose(policy.delay(6, draws), 54.0)  # jitter applies after the cap, as it did
    assert draws.bounds == [(0.9, 1.1)]


def test_reconnects_wait_between_half_and_all_of_a_doubling_delay_and_start_over_on_success() -> None:
    draws = Draws("high")
    reconnect = Backoff(backoff.reconnects(Settings(reconnect_base=1.0, reconnect_cap=10.0)), draws)
    assert [reconnect.next() for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    assert set(draws.bounds) == {(0.5, 1.0)}
    reconnect.reset()
    assert reconnect.next() == 1


def test_many_failures_in_a_row_stay_at_the_cap() -> None:
    policy = Policy(base=1.0, cap=300.0)
    assert policy.nominal(5000) == 300.0


def test_real_jitter_stays_within_its_bounds() -> None:
    policy = Policy(base=100.0, jitter=(0.5, 1.0))
    delays = [policy.delay(1) for _ in range(500)]
    assert all(50.0 <= d <= 100.0 for d in delays)
    assert len(set(delays)) > 1  # spread out, not one fixed value
