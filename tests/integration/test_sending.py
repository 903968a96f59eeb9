"""Sending against a real SMTP server (aiosmtpd) and Dovecot: the message on the wire, threading,
Sent copies, retries and their spacing, failures, scheduling, cancelling, idempotency, restarts."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.models import OutboxItem
from app.models.base import utcnow
from app.sending.dispatcher import OutboxDispatcher
from app.services import tokens
from app.services.principal import OPERATOR
from app.tasks import send as send_tasks
from app.tasks.broker import broker
from tests.integration.conftest import Live, make_message, seed, wait_until
from tests.servers.fixtures import ImapUser
from tests.servers.smtp import SmtpSink

RETRY_BASE = 0.3


@dataclass
class Outbox:
    live: Live
    sink: SmtpSink
    user: ImapUser
    dispatcher: OutboxDispatcher | None = None

    async def start(self) -> None:
        broker.state.ctx = self.live.ctx
        await broker.startup()
        self.dispatcher = OutboxDispatcher(self.live.ctx, send_tasks.kick, tick=0.2)
        await self.dispatcher.start()

    async def stop(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop()
            self.dispatcher = None
        await broker.shutdown()

    def smtp(self, **overrides: Any) -> dict[str, Any]:
        return {"host": self.sink.host, "port": self.sink.port, "secure": False} | overrides

    async def account(self, account: str = "acc", imap: bool = True, **smtp: Any) -> str:
        fields: dict[str, Any] = {"smtp": self.smtp(**smtp)}
        if not imap:
            fields["imap"] = False
        await self.live.register(self.user, account, **fields)
        await self.live.wait_state(account, "connected" if imap else "unset")
        return account

    async def submit(
        self, body: dict[str, Any], account: str = "acc", status: int = 200, **headers: str
    ) -> dict[str, Any]:
        r = await self.live.client.post(
            f"/v1/account/{account}/submit", json=body, headers=self.live.headers | headers
        )
        assert r.status_code == status, r.text
        return dict(r.json())

    async def item(self, queue_id: str) -> dict[str, Any]:
        """The entry while queued; once it has left the queue (404), its history in the list."""
        r = await self.live.client.get(f"/v1/outbox/{queue_id}", headers=self.live.headers)
        if r.status_code == 404:
            listed = await self.live.get("/v1/outbox", state="all", pageSize=1000)
            return dict(next(m for m in listed["messages"] if m["queueId"] == queue_id))
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def wait_status(self, queue_id: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        found: dict[str, Any] = {}

        async def reached() -> bool:
            nonlocal found
            found = await self.item(queue_id)
            return found["progress"]["status"] in statuses

        await wait_until(reached, timeout, lambda: f"{queue_id} never reached {statuses}: {found}")
        return found


@pytest.fixture
async def outbox(live: Live, smtp_sink: SmtpSink, dovecot_user: ImapUser) -> AsyncIterator[Outbox]:
    live.ctx.settings = replace(live.ctx.settings, send_retry_base=RETRY_BASE, smtp_timeout=5.0)
    box = Outbox(live, smtp_sink, dovecot_user)
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_structured_message_with_attachments_bcc_and_sent_copy(outbox: Outbox) -> None:
    await outbox.account()
    blob = bytes(range(256)) * 40
    answer = await outbox.submit(
        {
            "from": {"name": "Ändris", "address": outbox.user.email},
            "to": [{"name": "Rcpt", "address": "r@example.net"}],
            "cc": [{"address": "c@example.net"}],
            "bcc": [{"address": "hidden@example.net"}],
            "replyTo": [{"address": "replies@example.net"}],
            "subject": "Grüße — report",
            "text": "Plain body ✓",
            "html": '<p>HTML body <img src="cid:logo@x"></p>',
            "attachments": [
                {"filename": "data ü.bin", "content": base64.b64encode(blob).decode()},
                {"filename": "logo.png", "contentType": "image/png", "cid": "logo@x",
                 "content": base64.b64encode(PNG).decode()},
            ],
            "headers": {"X-Campaign": "nov"},
        }
    )  # fmt: skip
    assert answer["response"] == "Queued for delivery" and answer["messageId"].startswith("<")
    got = (await outbox.sink.wait_for(1))[0]
    assert got.mail_from == outbox.user.email
    assert sorted(got.rcpt_tos) == ["c@example.net", "hidden@example.net", "r@example.net"]
    msg = parse(got.data)
    assert b"hidden@example.net" not in got.data and "Bcc" not in msg
    assert msg["Subject"] == "Grüße — report" and msg["X-Campaign"] == "nov"
    assert msg["Message-ID"] == answer["messageId"] and msg["Reply-To"] == "replies@example.net"
    assert msg["From"].addresses[0].display_name == "Ändris"
    assert msg.get_body(("plain",)).get_content().strip() == "Plain body ✓"  # type: ignore[union-attr]
    parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    assert parts["data ü.bin"].get_payload(decode=True) == blob
    assert parts["logo.png"].get_payload(decode=True) == PNG and parts["logo.png"]["Content-ID"] == "<logo@x>"
    done = await outbox.wait_status(answer["queueId"], "sent")
    assert done["progress"]["response"].startswith("250 ") and done["attemptsMade"] == 1
    sent = (await outbox.live.wait_event("acc", "messageSent"))[0].payload
    assert sent["messageId"] == answer["messageId"] and sent["queueId"] == answer["queueId"]
    assert sent["response"].startswith("250 ") and sorted(sent["envelope"]["to"]) == sorted(got.rcpt_tos)
    # The Sent copy is in the account's Sent folder, listed by the API, and keeps the Bcc line.
    listed: list[dict[str, Any]] = []

    async def copied() -> bool:
        nonlocal listed
        listed = (await outbox.live.get("/v1/account/acc/messages", path="\\Sent"))["messages"]
        return bool(listed)

    await wait_until(copied, 10, "no Sent copy")
    assert listed[0]["messageId"] == answer["messageId"] and listed[0]["unseen"] is False
    r = await outbox.live.client.get(
        f"/v1/account/acc/message/{listed[0]['id']}/source", headers=outbox.live.headers
    )
    assert b"Bcc: hidden@example.net" in r.content


async def test_raw_message_is_sent_byte_for_byte(outbox: Outbox) -> None:
    await outbox.account(imap=False)
    original = make_message(subject="Raw one", to="To <t@example.net>", Cc="c@example.net")
    with_bcc = original.replace(
        b"Subject:", b"Bcc: secret@example.net,\r\n  other@example.net\r\nSubject:", 1
    )
    answer = await outbox.submit({"raw": base64.b64encode(with_bcc).decode()})
    got = (await outbox.sink.wait_for(1))[0]
    assert got.data.replace(b"\r\n", b"\n") == original.replace(b"\r\n", b"\n")
    assert sorted(got.rcpt_tos) == sorted(
        ["t@example.net", "c@example.net", "secret@example.net", "other@example.net"]
    )
    assert answer["messageId"] == parse(original)["Message-ID"]
    # envelope overrides the headers' recipients.
    await outbox.submit({"raw": base64.b64encode(original).decode(), "envelope": {"from": "b@x.org", "to": ["only@example.net"]}})  # fmt: skip
    second = (await outbox.sink.wait_for(2))[1]
    assert second.mail_from == "b@x.org" and second.rcpt_tos == ["only@example.net"]


async def test_reply_and_forward_thread_and_flag_the_original(outbox: Outbox) -> None:
    original = make_message(subject="Question", sender="Asker <asker@example.org>", to=outbox.user.email,
                            Cc="third@example.org", References="<root@example.org>")  # fmt: skip
    await seed(outbox.live.dovecot, outbox.user, "INBOX", [original])
    await outbox.account()
    listed = (await outbox.live.get("/v1/account/acc/messages", path="INBOX"))["messages"]
    source_id, source_mid = listed[0]["id"], listed[0]["messageId"]

    await outbox.submit({"reference": {"message": source_id, "action": "reply-all", "inline": True}, "text": "Answer"})  # fmt: skip
    reply = parse((await outbox.sink.wait_for(1))[0].data)
    assert reply["Subject"] == "Re: Question" and reply["In-Reply-To"] == source_mid
    assert reply["References"].split() == ["<root@example.org>", source_mid]
    assert reply["To"] == "Asker <asker@example.org>" and "third@example.org" in reply["Cc"]
    assert outbox.user.email not in str(reply["Cc"] or "")
    body = reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert body.startswith("Answer") and "> Hi there" in body

    async def flagged(flag: str) -> bool:
        info = await outbox.live.get(f"/v1/account/acc/message/{source_id}")
        return flag in info["flags"]

    await wait_until(lambda: flagged("\\Answered"), 10, "original not flagged \\Answered")

    await outbox.submit({"reference": {"message": source_id, "action": "forward"}, "to": [{"address": "fw@example.net"}], "text": "FYI"})  # fmt: skip
    forward = parse((await outbox.sink.wait_for(2))[1].data)
    assert forward["Subject"] == "Fwd: Question" and forward["In-Reply-To"] is None
    attached = [p for p in forward.walk() if p.get_content_type() == "message/rfc822"]
    assert attached, "the original is attached"
    inner = attached[0].get_payload()[0]
    assert inner["Message-ID"] == source_mid
    await wait_until(lambda: flagged("$Forwarded"), 10, "original not flagged $Forwarded")


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_temporary_failures_retry_with_growing_spacing_then_send(outbox: Outbox) -> None:
    await outbox.account(imap=False)
    outbox.sink.mode = "tempfail"
    answer = await outbox.submit({"to": [{"address": "r@example.net"}], "subject": "retry", "text": "x"})
    errors = await outbox.live.wait_event("acc", "messageDeliveryError", count=3, timeout=15)
    outbox.sink.mode = "accept"
    await outbox.wait_status(answer["queueId"], "sent", timeout=15)
    first = errors[0].payload
    assert first["queueId"] == answer["queueId"] and first["smtpResponseCode"] == 451
    assert first["errorCode"] and "451" in first["error"]
    assert [e.payload["job"]["attemptsMade"] for e in errors[:3]] == [1, 2, 3]
    assert all(e.payload["job"]["attempts"] == 10 for e in errors)
    # Exponential: the retries are scheduled about 0.3 s, then 0.6 s after a failure (±10 % jitter),
    # and none is attempted before its time. How much later it runs depends on the machine's load.
    scheduled = [
        (datetime.fromisoformat(e.payload["job"]["nextAttempt"]) - e.created).total_seconds()
        for e in errors[:2]
    ]
    assert 0.25 <= scheduled[0] <= 0.4 and 0.5 <= scheduled[1] <= 0.75, scheduled
    gaps = [(b.created - a.created).total_seconds() for a, b in itertools.pairwise(errors)]
    assert gaps[0] >= scheduled[0] - 0.05 and gaps[1] >= scheduled[1] - 0.05, (gaps, scheduled)
    assert len(await outbox.live.events("acc", "messageSent")) == 1
    assert len(outbox.sink.messages) == 1


async def test_permanent_failure_and_attempt_cap(outbox: Outbox) -> None:
    await outbox.account(imap=False)
    outbox.sink.mode = "reject"
    rejected = await outbox.submit({"to": [{"address": "r@example.net"}], "text": "x"})
    item = await outbox.wait_status(rejected["queueId"], "failed")
    assert item["attemptsMade"] == 1 and item["progress"]["error"]["smtpResponseCode"] == 554
    failed = (await outbox.live.wait_event("acc", "messageFailed"))[0].payload
    assert failed["queueId"] == rejected["queueId"] and "554" in failed["error"]
    error = (await outbox.live.events("acc", "messageDeliveryError"))[0].payload
    assert error["job"] == {"attemptsMade": 1, "attempts": 10, "nextAttempt": None}

    outbox.sink.mode = "drop"  # network trouble is temporary: retried until the cap
    capped = await outbox.submit({"to": [{"address": "r@example.net"}], "text": "x", "deliveryAttempts": 2})
    item = await outbox.wait_status(capped["queueId"], "failed", timeout=10)
    assert item["attemptsMade"] == 2 and item["progress"]["error"]["errorCode"] == "ECONNECTION"
    assert len(await outbox.live.wait_event("acc", "messageFailed", count=2)) == 2
    assert outbox.sink.messages == []


async def test_smtp_auth(outbox: Outbox) -> None:
    outbox.sink.users["sender@example.com"] = "right"
    outbox.sink.require_auth = True
    await outbox.account(imap=False, auth={"user": "sender@example.com", "pass": "wrong"})
    bad = await outbox.submit({"to": [{"address": "r@example.net"}], "text": "x"})
    item = await outbox.wait_status(bad["queueId"], "failed")
    assert item["progress"]["error"]["errorCode"] == "EAUTH"
    r = await outbox.live.client.put(
        "/v1/account/acc",
        json={"smtp": outbox.smtp(auth={"user": "sender@example.com", "pass": "right"})},
        headers=outbox.live.headers,
    )
    assert r.status_code == 200, r.text
    good = await outbox.submit({"to": [{"address": "r@example.net"}], "text": "x"})
    await outbox.wait_status(good["queueId"], "sent")
    assert outbox.sink.messages[0].auth_login == "sender@example.com"


async def test_schedule_list_and_cancel(outbox: Outbox) -> None:
    await outbox.account(imap=False)
    # Far enough ahead that the listing below still finds it queued on a loaded machine.
    soon = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    first = await outbox.submit({"to": [{"address": "a@example.net"}], "text": "soon", "sendAt": soon})
    second = await outbox.submit({"to": [{"address": "b@example.net"}], "text": "later", "sendAt": later})
    listed = await outbox.live.get("/v1/outbox")
    assert [m["queueId"] for m in listed["messages"]] == [first["queueId"], second["queueId"]]
    assert listed["messages"][1]["scheduled"].startswith(later[:19])
    assert listed["messages"][0]["progress"] == {"status": "queued"}
    [sent] = await outbox.sink.wait_for(1, timeout=20)
    assert sent.accepted_at >= datetime.fromisoformat(soon)  # not a moment early
    r = await outbox.live.client.delete(f"/v1/outbox/{second['queueId']}", headers=outbox.live.headers)
    assert r.status_code == 200 and r.json() == {"deleted": True}
    assert (await outbox.item(second["queueId"]))["progress"]["status"] == "cancelled"
    assert (await outbox.live.get("/v1/outbox"))["messages"] == []
    assert (await outbox.live.get("/v1/outbox", state="sent"))["total"] == 1
    r = await outbox.live.client.delete("/v1/outbox/nope", headers=outbox.live.headers)
    assert r.status_code == 404 and r.json()["code"] == "MessageNotFound"
    assert len(outbox.sink.messages) == 1  # the cancelled one was due in an hour: it can never go


async def test_idempotency_key_and_dry_run(outbox: Outbox) -> None:
    await outbox.account(imap=False)
    body = {"to": [{"address": "r@example.net"}], "subject": "once", "text": "x"}
    answers = await asyncio.gather(*(outbox.submit(body, **{"Idempotency-Key": "k-1"}) for _ in range(5)))
    assert len({a["queueId"] for a in answers}) == 1
    assert sorted(a["idempotency"]["status"] for a in answers) == ["HIT"] * 4 + ["MISS"]
    again = await outbox.submit(body | {"subject": "changed"}, **{"Idempotency-Key": "k-1"})
    assert again["idempotency"] == {"key": "k-1", "status": "HIT"}
    assert again | {"idempotency": None} == answers[0] | {"idempotency": None}
    other = await outbox.submit(body, **{"Idempotency-Key": "k-2"})
    assert other["queueId"] != answers[0]["queueId"]
    await outbox.wait_status(answers[0]["queueId"], "sent")
    await outbox.wait_status(other["queueId"], "sent")  # both done: nothing more can be sent
    assert len(outbox.sink.messages) == 2
    dry = await outbox.submit(body | {"dryRun": True})
    assert dry["response"] == "Dry run" and dry["envelope"]["to"] == ["r@example.net"]
    assert parse(base64.b64decode(dry["raw"]))["Subject"] == "once"
    assert (await outbox.live.get("/v1/outbox", state="all"))["total"] == 2


async def test_refusals(outbox: Outbox) -> None:
    await outbox.live.register(outbox.user, "nosmtp", imap=False)
    r = await outbox.live.client.post("/v1/account/nosmtp/submit", json={"to": [{"address": "a@b.c"}], "text": "x"},
                                      headers=outbox.live.headers)  # fmt: skip
    assert r.status_code == 400 and r.json()["code"] == "SmtpNotConfigured"
    await outbox.account(imap=False)
    cases: list[dict[str, Any]] = [
        {"text": "no recipients"},
        {"raw": base64.b64encode(b"Subject: x\r\n\r\nx").decode(), "to": [{"address": "a@b.c"}]},
        {"to": [{"address": "not-an-address"}], "text": "x"},
        {"to": [{"address": "a@b.c"}], "headers": {"X-Evil": "a\r\nBcc: x@y.z"}},
        {"to": [{"address": "a@b.c"}], "sendAt": "2030-01-01T10:00:00"},
        {"to": [{"address": "a@b.c"}], "deliveryAttempts": 0},
        {"to": [{"address": "a@b.c"}], "attachments": [{"content": "***"}]},
        {"to": [{"address": "a@b.c"}], "trackEverything": True},
    ]
    for body in cases:
        r = await outbox.live.client.post("/v1/account/acc/submit", json=body, headers=outbox.live.headers)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["code"] == "InvalidRequest", r.text
    r = await outbox.live.client.post("/v1/account/acc/submit", json={"to": [{"address": "a@b.c"}]},
                                      headers=outbox.live.headers | {"Idempotency-Key": "x" * 300})  # fmt: skip
    assert r.status_code == 400
    r = await outbox.live.client.post(
        "/v1/account/missing/submit", json={"text": "x"}, headers=outbox.live.headers
    )
    assert r.status_code == 404
    assert outbox.sink.messages == []


async def test_initial_sync_refuses_with_503(outbox: Outbox) -> None:
    from app.models import Account

    async with outbox.live.ctx.db.session() as s:
        s.add(Account(id="fresh", name="F", email="f@example.com", state="syncing",
                      imap={"host": "127.0.0.1", "port": 1}, smtp=outbox.smtp()))  # fmt: skip
        await s.commit()
    r = await outbox.live.client.post("/v1/account/fresh/submit", json={"to": [{"address": "a@b.c"}], "text": "x"},
                                      headers=outbox.live.headers)  # fmt: skip
    assert r.status_code == 503 and r.json()["code"] == "InitialSyncInProgress"


async def test_account_token_isolation(outbox: Outbox) -> None:
    await outbox.account(imap=False)
    await outbox.live.register(outbox.user, "other", imap=False, smtp=outbox.smtp())
    mine = await outbox.submit({"to": [{"address": "a@b.c"}], "text": "x", "sendAt": "2099-01-01T00:00:00Z"})
    theirs = await outbox.submit(
        {"to": [{"address": "a@b.c"}], "text": "x", "sendAt": "2099-01-01T00:00:00Z"}, account="other"
    )
    token, _ = await tokens.issue(outbox.live.ctx, OPERATOR, description="b", scopes=["api"], account="other")
    bound = {"Authorization": f"Bearer {token}"}
    c = outbox.live.client
    assert (await c.post("/v1/account/acc/submit", json={"text": "x"}, headers=bound)).status_code == 403
    listed = (await c.get("/v1/outbox", headers=bound)).json()
    assert [m["queueId"] for m in listed["messages"]] == [theirs["queueId"]]
    assert (await c.get("/v1/outbox", params={"account": "acc"}, headers=bound)).status_code == 403
    assert (await c.get(f"/v1/outbox/{mine['queueId']}", headers=bound)).status_code == 404
    assert (await c.delete(f"/v1/outbox/{mine['queueId']}", headers=bound)).status_code == 404
    assert (await c.delete(f"/v1/outbox/{theirs['queueId']}", headers=bound)).status_code == 200


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_restart_loses_nothing_and_sends_nothing_twice(outbox: Outbox) -> None:
    await outbox.account(imap=False)
    await outbox.stop()  # the process is down: messages wait in the database
    queued = [
        await outbox.submit({"to": [{"address": f"r{i}@example.net"}], "text": str(i)}) for i in range(3)
    ]
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    scheduled = await outbox.submit({"to": [{"address": "s@example.net"}], "text": "s", "sendAt": soon})
    interrupted = await outbox.submit({"to": [{"address": "i@example.net"}], "text": "i"})
    completed = await outbox.submit({"to": [{"address": "c@example.net"}], "text": "c"})
    past = utcnow() - timedelta(seconds=1)
    async with outbox.live.ctx.db.core() as s:  # what a crash mid-send leaves behind
        await s.execute(update(OutboxItem).where(col(OutboxItem.id) == interrupted["queueId"])
                        .values(state="processing", claim="dead", claimed_until=past))  # fmt: skip
        await s.execute(update(OutboxItem).where(col(OutboxItem.id) == completed["queueId"])
                        .values(state="smtp-completed", claim="dead", claimed_until=past, attempts_made=1))  # fmt: skip
        await s.commit()
    await outbox.start()
    for answer in (*queued, scheduled, interrupted, completed):
        await outbox.wait_status(answer["queueId"], "sent")
    got = sorted(r for m in outbox.sink.messages for r in m.rcpt_tos)
    # Every message once; the one already accepted by the server before the crash is not resent.
    assert got == sorted(
        ["r0@example.net", "r1@example.net", "r2@example.net", "s@example.net", "i@example.net"]
    )
    trace = [e.payload for e in await outbox.live.events("acc", "messageDeliveryError")]
    assert [(t["queueId"], t["errorCode"]) for t in trace] == [(interrupted["queueId"], "EINTERRUPTED")]


async def test_each_outcome_reaches_the_webhook_receiver(outbox: Outbox) -> None:
    from app.tasks import webhooks as webhook_tasks
    from app.webhooks.dispatcher import Dispatcher
    from tests.servers.receiver import Receiver

    receiver = Receiver()
    await receiver.start()
    hooks = Dispatcher(outbox.live.ctx, webhook_tasks.kick, tick=0.2)
    await hooks.start()
    try:
        r = await outbox.live.client.post("/v1/settings", headers=outbox.live.headers, json={
            "webhooksEnabled": True, "webhooks": receiver.url,
            "webhookEvents": ["messageSent", "messageDeliveryError", "messageFailed"]})  # fmt: skip
        assert r.status_code == 200, r.text
        await outbox.account(imap=False)
        outbox.sink.mode = "reject"
        failed = await outbox.submit({"to": [{"address": "r@example.net"}], "text": "x"})
        await outbox.wait_status(failed["queueId"], "failed")
        outbox.sink.mode = "accept"
        sent = await outbox.submit({"to": [{"address": "r@example.net"}], "text": "x"})
        hits = await receiver.wait_for(3, timeout=10)
        bodies = [json.loads(h.body) for h in hits]
        assert [b["event"] for b in bodies] == ["messageDeliveryError", "messageFailed", "messageSent"]
        assert all(b["account"] == "acc" for b in bodies)
        error, gave_up, ok = (b["data"] for b in bodies)
        assert error["queueId"] == failed["queueId"] and error["smtpResponseCode"] == 554
        assert error["job"]["attemptsMade"] == 1 and error["envelope"]["to"] == ["r@example.net"]
        assert gave_up["queueId"] == failed["queueId"] and gave_up["messageId"] == failed["messageId"]
        assert ok["messageId"] == sent["messageId"] and ok["response"].startswith("250 ")
        assert ok["envelope"] == {"from": outbox.user.email, "to": ["r@example.net"]}
    finally:
        await hooks.stop()
        await receiver.stop()
