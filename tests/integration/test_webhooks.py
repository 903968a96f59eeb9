"""Webhook delivery to a real local receiver: signatures, retries, durability, filters, SSE."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from standardwebhooks import Webhook

from app import events
from app.main import create_app
from app.models import Setting
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from app.services.settings import CURSOR
from app.tasks import webhooks as webhook_tasks
from app.tasks.broker import broker
from app.webhooks.dispatcher import Dispatcher
from tests.conftest import make_settings
from tests.integration.conftest import wait_until
from tests.servers.receiver import Answer, AppServer, Receiver

SECRET = "s3cret-key"
BACKOFF = (0.3, 0.6, 1.2)
TIMEOUT = 5.0  # per attempt: a receiver in this loop answers well within it, even on a loaded machine


@dataclass
class Hooks:
    ctx: Context
    client: httpx2.AsyncClient
    headers: dict[str, str]
    receiver: Receiver
    dispatcher: Dispatcher

    async def configure(self, **values: Any) -> None:
        body = {"webhooksEnabled": True, "webhooks": self.receiver.url, "serviceSecret": SECRET} | values
        r = await self.client.post("/v1/settings", json=body, headers=self.headers)
        assert r.status_code == 200, r.text

    async def event(self, kind: str = "messageNew", account: str | None = "acc", path: str | None = "INBOX",
                    **payload: Any) -> int:  # fmt: skip
        async with self.ctx.db.core() as s:
            row = events.record(s, kind, account, {"n": 1, **payload}, path=path)
            await s.commit()
            assert row.id is not None
            return row.id

    async def deliveries(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.client.get("/v1/webhooks/deliveries", params=params, headers=self.headers)
        assert r.status_code == 200, r.text
        return list(r.json()["deliveries"])

    async def wait_deliveries(
        self, done: Callable[[list[dict[str, Any]]], bool], what: str, **params: Any
    ) -> list[dict[str, Any]]:
        """The deliveries once ``done`` holds for them: an attempt's outcome is stored after the
        receiver has answered, so a hit at the receiver does not mean the row shows it yet."""
        found: list[dict[str, Any]] = []

        async def check() -> bool:
            nonlocal found
            found = await self.deliveries(**params)
            return done(found)

        await wait_until(check, 15, lambda: f"{what}; deliveries: {found}")
        return found

    async def wait_statuses(self, *statuses: str) -> list[dict[str, Any]]:
        """The deliveries once they are exactly these, in any order (none left to retry)."""

        def done(found: list[dict[str, Any]]) -> bool:
            return sorted(d["status"] for d in found) == sorted(statuses)

        return await self.wait_deliveries(done, f"expected deliveries {statuses}")

    async def fanned_out(self, event_id: int) -> None:
        """Wait until the dispatcher has given the event its deliveries (none, when it is filtered
        out or webhooks are off): only from then on can a test say that it was not sent."""

        async def past() -> bool:
            async with self.ctx.db.core() as s:
                row = await s.get(Setting, CURSOR)
                return row is not None and row.value is not None and int(row.value) >= event_id

        await wait_until(past, 15, f"the dispatcher never reached event {event_id}")


async def start_stack(
    tmp_path: Path, db: Path, receiver: Receiver
) -> tuple[Context, Dispatcher, httpx2.AsyncClient]:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{db}", webhook_backoff=BACKOFF, webhook_timeout=TIMEOUT,
                             lease_seconds=3.0)  # fmt: skip
    ctx = Context.from_settings(settings)
    broker.state.ctx = ctx
    await broker.startup()
    dispatcher = Dispatcher(ctx, webhook_tasks.kick, tick=0.2)
    await dispatcher.start()
    client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=create_app(ctx=ctx)), base_url="http://t")
    return ctx, dispatcher, client


async def stop_stack(ctx: Context, dispatcher: Dispatcher, client: httpx2.AsyncClient) -> None:
    await dispatcher.stop()
    await client.aclose()
    await broker.shutdown()
    await ctx.close()


@pytest.fixture
async def hooks(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Hooks]:
    db = tmp_path / "mailgate.db"
    shutil.copyfile(sqlite_template, db)
    receiver = Receiver()
    await receiver.start()
    ctx, dispatcher, client = await start_stack(tmp_path, db, receiver)
    token, _ = await tokens.issue(ctx, OPERATOR, description="t", scopes=["*"], account=None)
    hooks = Hooks(ctx, client, {"Authorization": f"Bearer {token}"}, receiver, dispatcher)
    try:
        yield hooks
    finally:  # a test may have restarted the stack: stop whatever runs now
        await stop_stack(hooks.ctx, hooks.dispatcher, hooks.client)
        await receiver.stop()


async def test_settings_round_trip(hooks: Hooks) -> None:
    r = await hooks.client.get("/v1/settings", headers=hooks.headers)
    assert r.json()["webhooksEnabled"] is False and r.json()["webhookEvents"] == "*"
    await hooks.configure(webhookEvents=["messageNew"], notifyText=True, notifyTextSize=100, inboxNewOnly=True,
                          serviceUrl="https://mail.example.com")  # fmt: skip
    got = (await hooks.client.get("/v1/settings", headers=hooks.headers)).json()
    assert got["webhooks"] == hooks.receiver.url and got["webhookEvents"] == ["messageNew"]
    assert got["serviceSecret"] == "******" and SECRET not in json.dumps(got)
    assert got["notifyTextSize"] == 100 and got["inboxNewOnly"] is True
    for bad in ({"webhooks": "ftp://x"}, {"bogusKey": 1}, {"webhookEvents": ["nope"]}, {"notifyText": "yes"},
                {"notifyTextSize": -1}):  # fmt: skip
        r = await hooks.client.post("/v1/settings", json=bad, headers=hooks.headers)
        assert r.status_code == 400, bad
    _value, _ = await tokens.issue(hooks.ctx, OPERATOR, description="a", scopes=["*"], account=None)
    from app.models import Account

    async with hooks.ctx.db.session() as s:
        s.add(Account(id="acc", name="A"))
        await s.commit()
    bound, _ = await tokens.issue(hooks.ctx, OPERATOR, description="b", scopes=["*"], account="acc")
    for method in ("GET", "POST"):
        r = await hooks.client.request(method, "/v1/settings", json={} if method == "POST" else None,
                                       headers={"Authorization": f"Bearer {bound}"})  # fmt: skip
        assert r.status_code == 403


async def test_delivery_is_signed_both_ways(hooks: Hooks) -> None:
    await hooks.configure(serviceUrl="https://mail.example.com")
    event_id = await hooks.event("messageNew", path="INBOX", subject="hello", specialUse="\\Inbox")
    hit = (await hooks.receiver.wait_for(1))[0]
    body = json.loads(hit.body)
    assert body["event"] == "messageNew" and body["account"] == "acc" and body["path"] == "INBOX"
    assert body["serviceUrl"] == "https://mail.example.com" and body["specialUse"] == "\\Inbox"
    assert body["data"]["subject"] == "hello" and body["date"].endswith("Z")
    assert hit.headers["x-ee-wh-event-id"] == str(event_id) and hit.headers["x-ee-wh-attempts-made"] == "1"
    expected = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), hit.body, hashlib.sha256).digest()).rstrip(
        b"="
    )
    assert hit.headers["x-ee-wh-signature"] == expected.decode()
    assert Webhook(SECRET.encode()).verify(hit.body, hit.headers)["event"] == "messageNew"
    with pytest.raises(Exception):  # noqa: B017 - any verification failure
        Webhook(b"wrong").verify(hit.body, hit.headers)
    [delivery] = await hooks.wait_statuses("delivered")
    assert delivery["attempts"] == 1 and delivery["lastStatus"] == 200


async def test_retries_with_backoff_keep_the_event_id_and_body(hooks: Hooks) -> None:
    await hooks.configure()
    hooks.receiver.answers.extend([Answer(500), Answer(502)])
    event_id = await hooks.event()
    hits = await hooks.receiver.wait_for(3, timeout=10)
    assert [h.headers["x-ee-wh-attempts-made"] for h in hits] == ["1", "2", "3"]
    assert {h.headers["x-ee-wh-event-id"] for h in hits} == {str(event_id)}
    assert hits[0].body == hits[1].body == hits[2].body
    assert len({h.headers["webhook-id"] for h in hits}) == 1
    assert hits[1].at - hits[0].at >= BACKOFF[0] * 0.9 - 0.05
    assert hits[2].at - hits[1].at >= BACKOFF[1] * 0.9 - 0.05
    [delivery] = await hooks.wait_statuses("delivered")
    assert delivery["attempts"] == 3


async def test_gives_up_after_the_schedule(hooks: Hooks) -> None:
    await hooks.configure()
    hooks.receiver.default = Answer(500)
    await hooks.event()
    await hooks.receiver.wait_for(len(BACKOFF) + 1, timeout=10)
    [delivery] = await hooks.wait_statuses("failed")
    assert delivery["attempts"] == len(BACKOFF) + 1 and delivery["lastStatus"] == 500
    assert len(hooks.receiver.hits) == len(BACKOFF) + 1


async def test_retry_after_is_honoured(hooks: Hooks) -> None:
    await hooks.configure()
    hooks.receiver.answers.append(Answer(503, headers={"Retry-After": "2"}))
    await hooks.event()
    hits = await hooks.receiver.wait_for(2, timeout=10)
    assert hits[1].at - hits[0].at >= 1.9


async def test_gone_disables_the_url(hooks: Hooks) -> None:
    await hooks.configure()
    hooks.receiver.default = Answer(410)
    await hooks.event()
    await hooks.receiver.wait_for(1)
    await hooks.wait_statuses("disabled")

    async def url_disabled() -> bool:  # stored after the delivery's outcome, in its own transaction
        settings = (await hooks.client.get("/v1/settings", headers=hooks.headers)).json()
        return bool(settings["disabledWebhooks"] == [hooks.receiver.url])

    await wait_until(url_disabled, 15, "the URL that answered 410 Gone was never disabled")
    hooks.receiver.default = Answer(200)
    await hooks.fanned_out(await hooks.event())
    assert len(await hooks.deliveries()) == 1  # no delivery for the disabled URL: nothing to send
    assert len(hooks.receiver.hits) == 1
    await hooks.configure()  # setting the URL again re-enables it
    await hooks.event()
    await hooks.receiver.wait_for(2)


async def test_timeouts_and_a_receiver_that_is_down(hooks: Hooks) -> None:
    await hooks.configure()
    hooks.receiver.answers.append(Answer(200, delay=TIMEOUT + 1))  # longer than an attempt may take
    await hooks.event()
    hits = await hooks.receiver.wait_for(2, timeout=TIMEOUT + 15)
    assert hits[1].headers["x-ee-wh-attempts-made"] == "2"
    await hooks.receiver.stop()
    await hooks.event(subject="while down")
    await hooks.wait_deliveries(
        lambda found: any(d["lastError"] and d["attempts"] >= 1 for d in found),
        "a failed attempt, to be retried",
        status="pending",
    )
    await hooks.receiver.start()
    await hooks.receiver.wait_for(3, timeout=10)
    assert json.loads(hooks.receiver.hits[2].body)["data"]["subject"] == "while down"


async def test_order_per_account(hooks: Hooks) -> None:
    await hooks.configure()
    hooks.receiver.answers.extend([Answer(200), Answer(500)])  # the second event needs a retry
    ids = [await hooks.event(seq=i) for i in range(6)]
    hits = await hooks.receiver.wait_for(7, timeout=10)
    delivered = [int(h.headers["x-ee-wh-event-id"]) for h in hits]
    assert delivered == [ids[0], ids[1], ids[1], *ids[2:]]


async def test_filters_and_per_account_urls(hooks: Hooks) -> None:
    other = Receiver()
    await other.start()
    try:
        await hooks.configure(webhookEvents=["messageNew", "mailboxNew"], inboxNewOnly=True)
        from app.models import Account

        async with hooks.ctx.db.session() as s:
            s.add(Account(id="special", name="S", webhooks=other.url))
            await s.commit()
        await hooks.event("accountAdded")  # not in webhookEvents
        await hooks.event("messageNew", path="Archive")  # inboxNewOnly
        await hooks.event("mailboxNew", path="Archive", marker="kept")
        last = await hooks.event("messageNew", account="special", marker="elsewhere")
        hits = await hooks.receiver.wait_for(1)
        other_hits = await other.wait_for(1)
        await hooks.fanned_out(last)
        assert len(await hooks.deliveries()) == 2  # the filtered events got none
        assert len(hooks.receiver.hits) == 1 and json.loads(hits[0].body)["data"]["marker"] == "kept"
        assert len(other.hits) == 1 and json.loads(other_hits[0].body)["data"]["marker"] == "elsewhere"
    finally:
        await other.stop()


async def test_disabled_webhooks_send_nothing(hooks: Hooks) -> None:
    """Off, the dispatcher reads no events (and takes no write turn for them); enabling webhooks
    again sends what follows, never what happened while they were off."""
    await hooks.configure()
    first = await hooks.event(marker="before")
    await hooks.receiver.wait_for(1)
    await hooks.fanned_out(first)
    await hooks.configure(webhooksEnabled=False)
    await hooks.event(marker="while off")
    await hooks.dispatcher.lead_pass(takeover=False)  # a pass as any event would start one
    async with hooks.ctx.db.core() as s:
        cursor = await s.get(Setting, CURSOR)
    assert cursor is not None and cursor.value == first  # the event while off was not even read
    await hooks.configure(webhooksEnabled=True)
    last = await hooks.event(marker="after")
    hits = await hooks.receiver.wait_for(2)
    await hooks.fanned_out(last)
    assert [json.loads(h.body)["data"]["marker"] for h in hits] == ["before", "after"]
    assert len(await hooks.deliveries()) == 2


async def test_egress_guard(hooks: Hooks) -> None:
    """Sending checks again (a name may resolve elsewhere by then): a forbidden URL already stored
    (the API refuses it, see tests/api/test_hostile.py) fails its deliveries."""
    await hooks.configure()
    async with hooks.ctx.db.session() as s:
        row = await s.get(Setting, "webhooks")
        assert row is not None
        row.value = "http://169.254.169.254/latest/meta-data"
        await s.commit()
    hooks.ctx.webhook_settings.clear()
    await hooks.event()

    async def failed() -> bool:
        return any(d["status"] == "failed" for d in await hooks.deliveries())

    await wait_until(failed, 15, lambda: "the delivery to a forbidden address never failed")
    [delivery] = await hooks.deliveries()
    assert delivery["status"] == "failed" and "EgressRefused" in delivery["lastError"]


async def test_list_and_redeliver(hooks: Hooks) -> None:
    await hooks.configure()
    event_id = await hooks.event("messageNew")
    await hooks.event("mailboxNew")
    await hooks.receiver.wait_for(2)
    await hooks.wait_statuses("delivered", "delivered")
    assert len(await hooks.deliveries(event="messageNew")) == 1
    assert len(await hooks.deliveries(status="delivered")) == 2
    assert await hooks.deliveries(account="nobody") == []
    [first] = await hooks.deliveries(event="messageNew")
    r = await hooks.client.post(f"/v1/webhooks/deliveries/{first['id']}/redeliver", headers=hooks.headers)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    hits = await hooks.receiver.wait_for(3)
    assert hits[2].headers["x-ee-wh-event-id"] == str(event_id)
    for bad in ("999999", "abc"):
        r = await hooks.client.post(f"/v1/webhooks/deliveries/{bad}/redeliver", headers=hooks.headers)
        assert r.status_code in (400, 404)
    r = await hooks.client.get("/v1/webhooks/deliveries", params={"status": "weird"}, headers=hooks.headers)
    assert r.status_code == 400


async def test_pending_deliveries_survive_a_restart(hooks: Hooks, tmp_path: Path) -> None:
    await hooks.configure()
    await hooks.receiver.stop()
    ids = [await hooks.event(seq=i) for i in range(5)]
    await hooks.wait_deliveries(
        lambda found: len(found) == 5 and any(d["attempts"] >= 1 for d in found),
        "five pending deliveries, the first one tried",
        status="pending",
    )
    # The process goes away with everything still pending…
    await stop_stack(hooks.ctx, hooks.dispatcher, hooks.client)
    await hooks.receiver.start()
    # …and a new one on the same database delivers every event, once each, in order.
    ctx, dispatcher, client = await start_stack(tmp_path, tmp_path / "mailgate.db", hooks.receiver)
    hooks.ctx, hooks.dispatcher, hooks.client = ctx, dispatcher, client
    await hooks.receiver.wait_for(5, timeout=15)
    await hooks.wait_statuses(*["delivered"] * 5)  # nothing left that could be sent twice
    delivered = [int(h.headers["x-ee-wh-event-id"]) for h in hooks.receiver.hits]
    assert delivered == ids


async def read_sse(response: httpx2.Response, count: int, timeout: float = 15) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    current: dict[str, Any] = {}

    async def collect() -> None:
        async for line in response.aiter_lines():
            if not line:
                if "data" in current:
                    found.append(dict(current))
                    if len(found) >= count:
                        return
                current.clear()
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                current[key] = value

    await asyncio.wait_for(collect(), timeout)
    return found


async def test_change_stream_with_resume_and_scope(hooks: Hooks) -> None:
    from app.models import Account

    async with hooks.ctx.db.session() as s:
        s.add(Account(id="acc", name="A"))
        s.add(Account(id="other", name="O"))
        await s.commit()
    bound, _ = await tokens.issue(hooks.ctx, OPERATOR, description="b", scopes=["api"], account="acc")
    first = await hooks.event(marker="one")
    async with (
        AppServer(create_app(ctx=hooks.ctx)) as server,
        httpx2.AsyncClient(base_url=server.base) as client,
    ):
        async with client.stream(
            "GET", "/v1/changes", params={"since": first - 1}, headers=hooks.headers
        ) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            second = await hooks.event(account="other", marker="two")
            got = await read_sse(r, 2)
        assert [int(e["id"]) for e in got] == [first, second]
        assert json.loads(got[0]["data"])["data"]["marker"] == "one" and got[1]["event"] == "messageNew"
        # Resume from Last-Event-ID: only what came after.
        third = await hooks.event(marker="three")
        headers = {**hooks.headers, "Last-Event-ID": str(second)}
        async with client.stream("GET", "/v1/changes", headers=headers) as r:
            got = await read_sse(r, 1)
        assert int(got[0]["id"]) == third
        # Live: an event written while the stream is open arrives at once.
        async with client.stream("GET", "/v1/changes", headers=hooks.headers) as r:
            fourth = await hooks.event(marker="four")
            got = await read_sse(r, 1)
        assert int(got[0]["id"]) == fourth
        # An account token sees its own account only.
        as_bound = {"Authorization": f"Bearer {bound}"}
        async with client.stream("GET", "/v1/changes", params={"since": 0}, headers=as_bound) as r:
            got = await read_sse(r, 3)
        assert {json.loads(e["data"])["account"] for e in got} == {"acc"}
        assert (
            await client.get("/v1/changes", params={"account": "other"}, headers=as_bound)
        ).status_code == 403
        r = await client.get("/v1/changes", headers={**hooks.headers, "Last-Event-ID": "x"})
        assert r.status_code == 400


async def test_a_stale_hand_over_sends_nothing(hooks: Hooks) -> None:
    """A task copy whose claim was superseded (e.g. re-kicked after its worker died) must not send."""
    from app.webhooks import sender

    await hooks.configure(webhooksEnabled=False)
    event_id = await hooks.event()
    from app.models import WebhookDelivery

    async with hooks.ctx.db.core() as s:
        # Not due for an hour, so the dispatcher leaves it to us.
        later = datetime.now(UTC) + timedelta(hours=1)
        s.add(WebhookDelivery(event_id=event_id, event_type="messageNew", account="acc", url=hooks.receiver.url,
                              claim="current", next_attempt=later))  # fmt: skip
        await s.commit()
    [row] = await hooks.deliveries()
    assert await sender.attempt(hooks.ctx, row["id"], "old") == "stale"
    assert hooks.receiver.hits == []
    assert await sender.attempt(hooks.ctx, row["id"], "current") == "delivered"
    assert await sender.attempt(hooks.ctx, row["id"], "current") == "stale"  # used up
    assert len(hooks.receiver.hits) == 1


async def test_message_new_with_text_from_a_real_mailbox(live: Any, dovecot_user: Any) -> None:
    """APPEND over IMAP → messageNew webhook carrying the message text (notifyText)."""
    from tests.integration.conftest import make_message, seed

    receiver = Receiver()
    await receiver.start()
    broker.state.ctx = live.ctx
    await broker.startup()
    dispatcher = Dispatcher(live.ctx, webhook_tasks.kick, tick=0.2)
    await dispatcher.start()
    try:
        r = await live.client.post("/v1/settings", headers=live.headers, json={
            "webhooksEnabled": True, "webhooks": receiver.url, "webhookEvents": ["messageNew"],
            "notifyText": True, "notifyTextSize": 1000, "notifyHeaders": ["Subject"]})  # fmt: skip
        assert r.status_code == 200
        await live.register(dovecot_user)
        await live.wait_state("acc", "connected")
        # Mail that arrives once the first indexing is done is new mail, whatever the clock says.
        await live.wait_event("acc", "accountInitialized")
        await seed(live.dovecot, dovecot_user, "INBOX", [make_message("with text", "the body text")])
        hit = (await receiver.wait_for(1, timeout=10))[0]
        body = json.loads(hit.body)
        assert body["event"] == "messageNew" and body["path"] == "INBOX" and body["specialUse"] == "\\Inbox"
        data = body["data"]
        assert data["subject"] == "with text" and data["text"]["plain"].strip() == "the body text"
        assert data["headers"] == {"subject": ["with text"]}
    finally:
        await dispatcher.stop()
        await broker.shutdown()
        await receiver.stop()


async def test_redirects_are_not_followed(hooks: Hooks) -> None:
    other = Receiver()
    await other.start()
    try:
        await hooks.configure()
        hooks.receiver.answers.append(Answer(302, headers={"Location": other.url}))
        await hooks.event()
        hits = await hooks.receiver.wait_for(2, timeout=10)  # retried at the original URL…
        assert hits[1].headers["x-ee-wh-attempts-made"] == "2"
        assert other.hits == []  # …and never sent where the redirect pointed
    finally:
        await other.stop()
