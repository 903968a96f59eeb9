"""What ``/metrics`` reports from the database, read at scrape time: accounts by state and by the
process that holds them, how far behind the connected accounts' syncs are, and the depth of the
outbox and webhook queues.

These are the same for every process that is scraped (they come from the shared database), unlike
the per-process instruments of :mod:`app.metrics`. Prometheus collectors are synchronous and the
database is not, so a scrape first reads a :class:`Snapshot` and then renders the registry."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlmodel import col

from app import __version__
from app import metrics as instruments
from app.models import Account, AccountState, Mailbox, WebhookDelivery
from app.models.base import utcnow
from app.services import outbox
from app.services.context import Context

# Sync lag is reported as "how many connected accounts are further behind than this", for a few
# fixed thresholds (seconds), plus the worst one: a handful of series however many accounts there are.
LAG_THRESHOLDS = (300, 3600, 86400)
NO_WORKER = "none"  # the label of accounts no live process holds


@dataclass
class Snapshot:
    accounts: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, worker) -> n
    lag_max: float = 0.0
    lagging: dict[int, int] = field(default_factory=dict)  # threshold -> accounts behind it
    outbox: dict[str, int] = field(default_factory=dict)
    webhooks: dict[str, int] = field(default_factory=dict)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def read(ctx: Context) -> Snapshot:
    """One consistent-enough look at the database (a few aggregate queries, no row per account)."""
    now = utcnow()
    found = Snapshot(outbox=await outbox.counts(ctx))
    a, m, d = Account, Mailbox, WebhookDelivery
    live = col(a.lease_expires) > now
    last_sync = (
        select(col(m.account).label("account"), func.max(col(m.last_sync)).label("last"))
        .group_by(col(m.account))
        .subquery()
    )
    synced = func.coalesce(last_sync.c.last, col(a.sync_time))
    lag_query = select(
        func.min(synced),
        *(func.count().filter(synced < now - timedelta(seconds=t)) for t in LAG_THRESHOLDS),
    ).select_from(a.__table__.outerjoin(last_sync, last_sync.c.account == col(a.id)))  # type: ignore[attr-defined]
    async with ctx.db.core() as s:
        rows = await s.execute(
            select(col(a.state), col(a.owner), func.count(), func.count().filter(live)).group_by(
                col(a.state), col(a.owner)
            )
        )
        for state, owner, n, held in rows:
            for worker, share in ((str(owner or NO_WORKER), held), (NO_WORKER, n - held)):
                if share:
                    key = (str(state), worker)
                    found.accounts[key] = found.accounts.get(key, 0) + int(share)
        oldest, *behind = (await s.execute(lag_query.where(col(a.state) == AccountState.connected))).one()
        pending = col(d.state) == "pending"
        retried = col(d.attempts) > 0
        queued, retrying, failed = (
            await s.execute(
                select(
                    func.count().filter(pending, ~retried),
                    func.count().filter(pending, retried),
                    func.count().filter(col(d.state) == "failed"),
                ).where(col(d.state).in_(("pending", "failed")))  # delivered rows can be many: use the index
            )
        ).one()
    found.lag_max = max(0.0, (now - _aware(oldest)).total_seconds()) if oldest is not None else 0.0
    found.lagging = {t: int(n) for t, n in zip(LAG_THRESHOLDS, behind, strict=True)}
    found.webhooks = {"pending": int(queued), "retrying": int(retrying), "failed": int(failed)}
    return found


class DatabaseCollector(Collector):
    """Renders the last snapshot read (see :meth:`Metrics.scrape`)."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        found = self.snapshot
        info = GaugeMetricFamily(
            "mailgate_build_info", "Mailgate build information.", labels=["version", "python"]
        )
        info.add_metric([__version__, sys.version.split()[0]], 1)
        yield info
        accounts = GaugeMetricFamily(
            "mailgate_accounts",
            "Accounts by connection state and by the process holding their connections "
            f'(worker="{NO_WORKER}": no live process holds them).',
            labels=["state", "worker"],
        )
        counts = {(state.value, NO_WORKER): 0 for state in AccountState} | found.accounts
        for (state, worker), n in sorted(counts.items()):
            accounts.add_metric([state, worker], n)
        yield accounts
        yield GaugeMetricFamily(
            "mailgate_sync_lag_max_seconds",
            "Seconds since the least recently synced connected account last synced a folder.",
            value=found.lag_max,
        )
        lagging = GaugeMetricFamily(
            "mailgate_sync_lagging_accounts",
            "Connected accounts whose last folder sync is older than `threshold` seconds.",
            labels=["threshold"],
        )
        for threshold in LAG_THRESHOLDS:
            lagging.add_metric([str(threshold)], found.lagging.get(threshold, 0))
        yield lagging
        yield _by_state("mailgate_outbox", "Outbox entries by progress state.", found.outbox)
        yield _by_state(
            "mailgate_webhook_queue",
            "Webhook deliveries waiting (pending: never tried; retrying: failed before) or given up (failed)",
            found.webhooks,
        )


def _by_state(name: str, documentation: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["state"])
    for state, n in sorted(counts.items()):
        family.add_metric([state], n)
    return family


class Metrics:
    """One app's registry: the database collector plus this process's instruments."""

    def __init__(self, extra: Iterable[Collector] = instruments.INSTRUMENTS) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.database = DatabaseCollector()
        self.registry.register(self.database)
        for collector in extra:
            self.registry.register(collector)

    async def scrape(self, ctx: Context, accept: str = "") -> tuple[bytes, str]:
        """The exposition in the format the scraper accepts (Prometheus text unless it asks for
        OpenMetrics) and its content type, with the database-derived gauges read now."""
        self.database.snapshot = await read(ctx)
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
