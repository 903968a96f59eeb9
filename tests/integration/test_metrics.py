"""``/metrics`` against real servers: the families a real state produces (an account synced from
Dovecot, a message sent to the SMTP sink, webhooks delivered to a local receiver), parsed with
prometheus_client's own parser."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlmodel import col

from app import __version__
from app.models import Account, Mailbox
from app.models.base import utcnow
from app.services import tokens
from app.services.principal import OPERATOR
from tests.integration.conftest import Live, wait_until
from tests.integration.test_sending import Outbox
from tests.integration.test_webhooks import Hooks, start_stack, stop_stack
from tests.servers.fixtures import ImapUser
from tests.servers.receiver import Answer, Receiver
from tests.servers.smtp import SmtpSink

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx2.AsyncClient, headers: dict[str, str]) -> Samples:
    r = await client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_accounts_lag_reconnects_and_smtp_latency(
    live: Live, smtp_sink: SmtpSink, dovecot_user: ImapUser
) -> None:
    metrics_token, _ = await tokens.issue(
        live.ctx, OPERATOR, description="m", scopes=["metrics"], account=None
    )
    auth = {"Authorization": f"Bearer {metrics_token}"}
    before = await scrape(live.client, auth)
    (info,) = [
        dict(labels) | {"value": v} for (name, labels), v in before.items() if name == "mailgate_build_info"
    ]
    assert info["version"] == __version__ and info["value"] == 1
    assert value(before, "mailgate_accounts", state="connected", worker="none") == 0
    outbox = Outbox(live, smtp_sink, dovecot_user)
    await outbox.start()
    try:
        await outbox.account()  # registered with IMAP and SMTP, waits for "connected"
        found = await scrape(live.client, auth)
        worker = live.supervisor.owner
        assert value(found, "mailgate_accounts", state="connected", worker=worker) == 1
        assert value(found, "mailgate_accounts", state="connected", worker="none") == 0
        assert 0 <= value(found, "mailgate_sync_lag_max_seconds") < 300
        assert value(found, "mailgate_sync_lagging_accounts", threshold="300") == 0

        # An account whose folders last synced two hours ago counts as lagging past an hour.
        two_hours_ago = utcnow() - timedelta(hours=2)
        async with live.ctx.db.core() as s:
            await s.execute(
                update(Mailbox).where(col(Mailbox.account) == "acc").values(last_sync=two_hours_ago)
            )
            await s.execute(update(Account).where(col(Account.id) == "acc").values(sync_time=two_hours_ago))
            await s.commit()
        found = await scrape(live.client, auth)
        assert value(found, "mailgate_sync_lagging_accounts", threshold="3600") == 1
        assert value(found, "mailgate_sync_lagging_accounts", threshold="86400") == 0
        assert value(found, "mailgate_sync_lag_max_seconds") >= 7200

        sent = value(found, "mailgate_smtp_send_seconds_count", outcome="ok")
        queued = await outbox.submit({"from": {"address": dovecot_user.email}, "to": [{"address": "r@example.com"}],
                                      "subject": "metrics", "text": "hello"})  # fmt: skip
        await outbox.wait_status(queued["queueId"], "sent", "delivered")

        async def timed() -> bool:  # observed once the SMTP session ends, maybe after "sent"
            nonlocal found
            found = await scrape(live.client, auth)
            return value(found, "mailgate_smtp_send_seconds_count", outcome="ok") == sent + 1

        await wait_until(timed, 10.0, "the send's SMTP latency was not observed")
        assert value(found, "mailgate_smtp_send_seconds_sum", outcome="ok") > 0
        assert value(found, "mailgate_outbox", state="queued") == 0

        reconnects = value(found, "mailgate_imap_reconnects_total")
        live.dovecot.kick(dovecot_user.email)

        async def counted() -> bool:
            return value(await scrape(live.client, auth), "mailgate_imap_reconnects_total") > reconnects

        await wait_until(counted, 15.0, "a kicked IMAP connection was not counted as a reconnect")
    finally:
        await outbox.stop()


@pytest.fixture
async def hooks(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Hooks]:
    db = tmp_path / "mailgate.db"
    shutil.copyfile(sqlite_template, db)
    receiver = Receiver()
    await receiver.start()
    ctx, dispatcher, client = await start_stack(tmp_path, db, receiver)
    token, _ = await tokens.issue(ctx, OPERATOR, description="t", scopes=["*"], account=None)
    found = Hooks(ctx, client, {"Authorization": f"Bearer {token}"}, receiver, dispatcher)
    try:
        yield found
    finally:
        await stop_stack(found.ctx, found.dispatcher, found.client)
        await receiver.stop()


async def test_webhook_latency_and_queue(hooks: Hooks) -> None:
    await hooks.configure()
    before = await scrape(hooks.client, hooks.headers)
    delivered = value(before, "mailgate_webhook_delivery_seconds_count", outcome="ok")
    await hooks.event("messageNew")
    await hooks.receiver.wait_for(1)

    async def observed() -> bool:
        found = await scrape(hooks.client, hooks.headers)
        return value(found, "mailgate_webhook_delivery_seconds_count", outcome="ok") == delivered + 1

    await wait_until(observed, 10.0, "the delivery's latency was not observed")

    # A target that keeps failing: the delivery waits for its next attempt, counted as retrying.
    # Retry-After puts that attempt an hour away, so "retrying" lasts for the rest of the test.
    hooks.receiver.default = Answer(status=503, headers={"Retry-After": "3600"})
    await hooks.event("messageNew")
    await hooks.receiver.wait_for(2)

    async def retrying() -> bool:
        found = await scrape(hooks.client, hooks.headers)
        return (
            value(found, "mailgate_webhook_queue", state="retrying") == 1
            and value(found, "mailgate_webhook_queue", state="pending") == 0
        )

    await wait_until(retrying, 10.0, "the failing delivery was not counted as retrying")
