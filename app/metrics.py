"""Instruments that one process fills in as it works: SMTP send and webhook delivery latencies and
IMAP reconnects.

They live in this process's memory, so each process reports only its own share: scrape every
``mailgate serve`` process. They are registered in no registry here; every app registers them in
its own (``app.services.metrics.registry``), so several apps in one process never collide. What
the database knows (accounts, queues, sync lag) is read at scrape time instead."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram
from prometheus_client.registry import Collector

# From a fast local relay (tens of milliseconds) to a slow remote server near its timeout.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OUTCOMES = ("ok", "error")

SMTP_SEND_SECONDS = Histogram(
    "mailgate_smtp_send_seconds",
    "Duration of SMTP transactions for outbox messages, by outcome (error: refused, failed or timed out).",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
    registry=None,
)
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "mailgate_webhook_delivery_seconds",
    "Duration of webhook POSTs, by outcome (ok: the target answered, with any status; error: no answer).",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
    registry=None,
)
IMAP_RECONNECTS = Counter(
    "mailgate_imap_reconnects",
    "IMAP sessions that lost their connection and are opened again.",
    registry=None,
)

for _outcome in OUTCOMES:  # every series exists from the start, at zero
    SMTP_SEND_SECONDS.labels(outcome=_outcome)
    WEBHOOK_DELIVERY_SECONDS.labels(outcome=_outcome)

INSTRUMENTS: tuple[Collector, ...] = (SMTP_SEND_SECONDS, WEBHOOK_DELIVERY_SECONDS, IMAP_RECONNECTS)


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    """Observe how long the block took, labelled ``error`` when it raised (the error goes on)."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        histogram.labels(outcome=outcome).observe(time.perf_counter() - started)
